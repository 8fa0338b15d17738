package graph

// OpConv in the float graph runner: a KxK convolution (K 1 or 3, padding
// K/2, stride 1 or 2) of an NHWC tensor with weights [M][K][K][Cin] and one
// bias per output channel. A task is one output pixel; a 3x3 convolution
// first gathers the pixel's patch (zeros outside the image) into the
// worker's scratch, so every output is one dot product.
func init() {
	registerGraphOp(OpConv, graphOp{split: splitPixels, run: runGraphConv, scratch: graphConvScratch})
}

func graphConvScratch(g *Graph, op *Op) int {
	return op.Kernel * op.Kernel * g.Tensors[op.In[0]].Channels
}

func runGraphConv(r *Runner, worker int, op *Op, lo, hi int) {
	out, in := r.vals[op.Out], r.vals[op.In[0]]
	ot, it := &r.g.Tensors[op.Out], &r.g.Tensors[op.In[0]]
	c, ic := ot.Channels, it.Channels
	k := op.Kernel * op.Kernel * ic
	patch := r.work[worker][:k]
	for p := lo; p < hi; p++ {
		src := in[p*ic : p*ic+ic]
		if op.Kernel == 3 {
			oy, ox := p/ot.Side, p%ot.Side
			for t := 0; t < 9; t++ {
				iy, ix := oy*op.Stride+t/3-1, ox*op.Stride+t%3-1
				dst := patch[t*ic : t*ic+ic]
				if iy < 0 || iy >= it.Side || ix < 0 || ix >= it.Side {
					clear(dst)
				} else {
					copy(dst, in[(iy*it.Side+ix)*ic:])
				}
			}
			src = patch
		}
		o := out[p*c : p*c+c]
		for m := range o {
			wr := op.W[m*k : m*k+k]
			acc := op.B[m]
			for i, v := range wr {
				acc += v * src[i]
			}
			o[m] = acc
		}
	}
}
