package int8net

import (
	"time"

	"github.com/coatnet-edge/coatnet-edge/model/engine"
)

// macs counts an int8 program operation's multiply-accumulates with the
// float engine's rules: convolutions, linear layers and attention products.
func (p *Program) macs(op *QOp) int64 {
	return op.Params.cost(p.shape(op, false), new(int8Plan))
}

// EnableTiming makes every later Run add each operation's wall time to
// LayerTimes (at the cost of two clock reads per operation).
func (n *Net) EnableTiming() {
	if n.opTimes == nil {
		n.opTimes = make([]time.Duration, len(n.ops))
	}
}

// LayerTimes reports the accumulated time of every operation, in order.
func (n *Net) LayerTimes() []engine.LayerTime {
	out := make([]engine.LayerTime, len(n.ops))
	for i := range n.ops {
		op := &n.prog.Ops[i]
		out[i] = engine.LayerTime{Name: op.Name, Kind: string(op.Kind), Impl: Impl(op), MACs: n.prog.macs(op)}
		if n.opTimes != nil {
			out[i].Time = n.opTimes[i]
		}
	}
	return out
}
