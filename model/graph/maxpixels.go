package graph

import "github.com/coatnet-edge/coatnet-edge/model/float"

// OpMaxPixels in the float graph runner: each channel's maximum over the
// pixels, [P][C] -> [1][C], as the float engine's head with global_pool max
// (float.MaxOf). A task is one channel, sixteen at a time.
func init() {
	registerGraphOp(OpMaxPixels, graphOp{split: splitGraphMaxPixels, run: runGraphMaxPixels})
}

func splitGraphMaxPixels(g *Graph, op *Op) (tasks, grain int) {
	return g.Tensors[op.Out].Channels, 16
}

func runGraphMaxPixels(r *Runner, _ int, op *Op, lo, hi int) {
	out, in := r.vals[op.Out], r.vals[op.In[0]]
	n := r.g.Tensors[op.In[0]].Pixels()
	c := r.g.Tensors[op.Out].Channels
	for ch := lo; ch < hi; ch++ {
		out[ch] = float.MaxOf(in[ch:], n, c)
	}
}
