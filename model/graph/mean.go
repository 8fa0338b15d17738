package graph

import "github.com/coatnet-edge/coatnet-edge/model/float"

// OpMean in the float graph runner: each channel's average over the
// pixels, [P][C] -> [1][C], as the float engine's (meanOf). A task is one channel,
// sixteen at a time.
func init() {
	registerGraphOp(OpMean, graphOp{split: splitGraphMean, run: runGraphMean})
}

func splitGraphMean(g *Graph, op *Op) (tasks, grain int) {
	return g.Tensors[op.Out].Channels, 16
}

func runGraphMean(r *Runner, _ int, op *Op, lo, hi int) {
	out, in := r.vals[op.Out], r.vals[op.In[0]]
	it := &r.g.Tensors[op.In[0]]
	c := r.g.Tensors[op.Out].Channels
	n := it.Pixels()
	for ch := lo; ch < hi; ch++ {
		out[ch] = float.MeanOf(in[ch:], n, c)
	}
}
