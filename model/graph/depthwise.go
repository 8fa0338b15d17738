package graph

// OpDepthwise in the float graph runner: a 3x3 depthwise convolution,
// padding 1, stride 1 or 2, of an NHWC tensor with weights [9][C] and a
// bias per channel. A task is one output pixel, accumulated from the bias
// over the taps inside the image.
func init() {
	registerGraphOp(OpDepthwise, graphOp{split: splitPixels, run: runGraphDepthwise})
}

func runGraphDepthwise(r *Runner, _ int, op *Op, lo, hi int) {
	out, in := r.vals[op.Out], r.vals[op.In[0]]
	ot, it := &r.g.Tensors[op.Out], &r.g.Tensors[op.In[0]]
	c := ot.Channels
	for p := lo; p < hi; p++ {
		oy, ox := p/ot.Side, p%ot.Side
		o := out[p*c : p*c+c]
		copy(o, op.B)
		for t := 0; t < 9; t++ {
			iy, ix := oy*op.Stride+t/3-1, ox*op.Stride+t%3-1
			if iy < 0 || iy >= it.Side || ix < 0 || ix >= it.Side {
				continue
			}
			src := in[(iy*it.Side+ix)*c : (iy*it.Side+ix)*c+c]
			wt := op.W[t*c : t*c+c]
			for ch := range o {
				o[ch] += wt[ch] * src[ch]
			}
		}
	}
}
