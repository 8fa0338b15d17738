package graph

import "github.com/coatnet-edge/coatnet-edge/model/float"

// OpAct in the float graph runner: the activation op.Act applied to each
// element, with the float engine's functions (activation.apply). A task is
// one pixel.
func init() {
	registerGraphOp(OpAct, graphOp{split: splitPixels, run: runGraphAct})
}

func runGraphAct(r *Runner, _ int, op *Op, lo, hi int) {
	out, in := r.vals[op.Out], r.vals[op.In[0]]
	c := r.g.Tensors[op.Out].Channels
	seg := out[lo*c : hi*c]
	copy(seg, in[lo*c:hi*c])
	float.ActivationByName(op.Act).Apply(seg)
}
