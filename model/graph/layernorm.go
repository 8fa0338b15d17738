package graph

import "math"

// OpLayerNorm in the float graph runner: normalisation over the channels
// of each pixel (timm's LayerNorm2d) with weight W, bias B and op.Eps, in
// float64 as the float engine's layerNorm. A task is one pixel.
func init() {
	registerGraphOp(OpLayerNorm, graphOp{split: splitPixels, run: runGraphLayerNorm})
}

func runGraphLayerNorm(r *Runner, _ int, op *Op, lo, hi int) {
	out, in := r.vals[op.Out], r.vals[op.In[0]]
	c := r.g.Tensors[op.Out].Channels
	for p := lo; p < hi; p++ {
		x := in[p*c : p*c+c]
		var mean, v float64
		for _, e := range x {
			mean += float64(e)
		}
		mean /= float64(c)
		for _, e := range x {
			v += (float64(e) - mean) * (float64(e) - mean)
		}
		rstd := 1 / math.Sqrt(v/float64(c)+op.Eps)
		for ch, e := range x {
			out[p*c+ch] = float32((float64(e)-mean)*rstd*float64(op.W[ch]) + float64(op.B[ch]))
		}
	}
}
