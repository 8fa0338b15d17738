package graph

import "github.com/coatnet-edge/coatnet-edge/model/float"

// OpLogits in the float graph runner: the final linear layer, W [M][K]
// times the pooled feature vector plus B (the float engine's dense). It is
// one task.
func init() {
	registerGraphOp(OpLogits, graphOp{split: splitGraphLogits, run: runGraphLogits})
}

func splitGraphLogits(*Graph, *Op) (tasks, grain int) { return 1, 1 }

func runGraphLogits(r *Runner, _ int, op *Op, _, _ int) {
	c, ic := r.g.Tensors[op.Out].Channels, r.g.Tensors[op.In[0]].Channels
	float.Dense(op.W, op.B, r.vals[op.In[0]], r.vals[op.Out], c, ic)
}
