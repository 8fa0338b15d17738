package graph

// OpScale in the float graph runner: In[0][p][c] * In[1][0][c], the
// squeeze-excite gate applied to every pixel. A task is one pixel.
func init() {
	registerGraphOp(OpScale, graphOp{split: splitPixels, run: runGraphScale})
}

func runGraphScale(r *Runner, _ int, op *Op, lo, hi int) {
	out, in, gate := r.vals[op.Out], r.vals[op.In[0]], r.vals[op.In[1]]
	c := r.g.Tensors[op.Out].Channels
	for p := lo; p < hi; p++ {
		for ch := 0; ch < c; ch++ {
			out[p*c+ch] = in[p*c+ch] * gate[ch]
		}
	}
}
