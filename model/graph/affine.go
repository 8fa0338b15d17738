package graph

// OpAffine in the float graph runner: x*W[c] + B[c] per channel (an
// inference BatchNorm that could not be folded). A task is one pixel.
func init() {
	registerGraphOp(OpAffine, graphOp{split: splitPixels, run: runGraphAffine})
}

func runGraphAffine(r *Runner, _ int, op *Op, lo, hi int) {
	out, in := r.vals[op.Out], r.vals[op.In[0]]
	c := r.g.Tensors[op.Out].Channels
	for p := lo; p < hi; p++ {
		for ch := 0; ch < c; ch++ {
			out[p*c+ch] = in[p*c+ch]*op.W[ch] + op.B[ch]
		}
	}
}
