package graph

// OpAdd in the float graph runner: the elementwise (residual) sum of two
// tensors of one shape. A task is one pixel.
func init() {
	registerGraphOp(OpAdd, graphOp{split: splitPixels, run: runGraphAdd})
}

func runGraphAdd(r *Runner, _ int, op *Op, lo, hi int) {
	out, a, b := r.vals[op.Out], r.vals[op.In[0]], r.vals[op.In[1]]
	c := r.g.Tensors[op.Out].Channels
	for i := lo * c; i < hi*c; i++ {
		out[i] = a[i] + b[i]
	}
}
