package graph

import (
	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/float"
)

// OpAttention in the float graph runner: Heads heads of DimHead over the
// tensors q (already scaled), k and v, each [pixels][Heads*DimHead], with
// the relative-position bias RelTable added before or after the softmax
// (op.Form). A task is one head; the worker's scratch holds one query's
// row of logits.
func init() {
	registerGraphOp(OpAttention, graphOp{split: splitGraphAttention, run: runGraphAttention, scratch: graphAttentionScratch})
}

func splitGraphAttention(_ *Graph, op *Op) (tasks, grain int) { return op.Heads, 1 }

func graphAttentionScratch(g *Graph, op *Op) int { return g.Tensors[op.Out].Pixels() }

// runGraphAttention computes heads [lo, hi) of op.
func runGraphAttention(r *Runner, worker int, op *Op, lo, hi int) {
	ot := &r.g.Tensors[op.Out]
	qs, ks, vs := r.vals[op.In[0]], r.vals[op.In[1]], r.vals[op.In[2]]
	out := r.vals[op.Out]
	n, side, d := ot.Pixels(), ot.Side, op.DimHead
	span := 2*side - 1
	a := op.Heads * d
	row := r.work[worker][:n]
	for h := lo; h < hi; h++ {
		tab := op.RelTable[h*span*span : (h+1)*span*span]
		for i := 0; i < n; i++ {
			q := qs[i*a+h*d : i*a+h*d+d]
			base := float.RelPosBase(i, side)
			for j := 0; j < n; j++ {
				k := ks[j*a+h*d : j*a+h*d+d]
				var s float32
				for e, qv := range q {
					s += qv * k[e]
				}
				row[j] = s
				if op.Form == arch.PreSoftmax {
					row[j] += tab[base-float.RelPosOffset(j, side)]
				}
			}
			float.Softmax(row)
			if op.Form == arch.PostSoftmax {
				for j := range row {
					row[j] += tab[base-float.RelPosOffset(j, side)]
				}
			}
			o := out[i*a+h*d : i*a+h*d+d]
			clear(o)
			for j, pj := range row {
				v := vs[j*a+h*d : j*a+h*d+d]
				for e := range o {
					o[e] += pj * v[e]
				}
			}
		}
	}
}
