package model

import (
	"time"

	"github.com/coatnet-edge/coatnet-edge/model/arch"
)

// LayerTime is one layer's share of the runs since timing was enabled.
type LayerTime struct {
	Name string        `json:"name"`
	Kind string        `json:"kind"`           // op kind for int8 programs, block kind for the float engine
	Impl string        `json:"impl,omitempty"` // int8: the kernels and their implementations (Int8Impl)
	MACs int64         `json:"macs"`           // per run
	Time time.Duration `json:"time_ns"`
}

// macs counts an int8 program operation's multiply-accumulates with the
// float engine's rules: convolutions, linear layers and attention products.
func (p *Program) macs(op *QOp) int64 {
	return op.Params.cost(p.shape(op, false), new(int8Plan))
}

// EnableTiming makes every later Run add each operation's wall time to
// LayerTimes (at the cost of two clock reads per operation).
func (n *Int8Net) EnableTiming() {
	if n.opTimes == nil {
		n.opTimes = make([]time.Duration, len(n.ops))
	}
}

// LayerTimes reports the accumulated time of every operation, in order.
func (n *Int8Net) LayerTimes() []LayerTime {
	out := make([]LayerTime, len(n.ops))
	for i := range n.ops {
		op := &n.prog.Ops[i]
		out[i] = LayerTime{Name: op.Name, Kind: string(op.Kind), Impl: Int8Impl(op), MACs: n.prog.macs(op)}
		if n.opTimes != nil {
			out[i].Time = n.opTimes[i]
		}
	}
	return out
}

// EnableTiming makes every later Run add the stem's, each block's and the
// head's wall time to LayerTimes.
func (n *FloatNet) EnableTiming() {
	if n.layerTimes == nil {
		n.layerTimes = make([]time.Duration, len(n.blocks)+2)
	}
}

// LayerTimes reports the accumulated time of the stem, every block and the
// head.
func (n *FloatNet) LayerTimes() []LayerTime {
	costs := n.cfg.LayerCosts()
	out := make([]LayerTime, len(costs))
	for i, c := range costs {
		kind := "stem"
		switch {
		case i == len(costs)-1:
			kind = "head"
		case i > 0:
			kind = map[byte]string{arch.BlockConv: "mbconv", arch.BlockTransformer: "transformer"}[n.blocks[i-1].block().Kind]
		}
		out[i] = LayerTime{Name: c.Name, Kind: kind, MACs: c.MACs}
		if n.layerTimes != nil {
			out[i].Time = n.layerTimes[i]
		}
	}
	return out
}

// lap adds the time since *start to layer i when timing, and restarts it.
func lap(times []time.Duration, i int, start *time.Time) {
	if times == nil {
		return
	}
	now := time.Now()
	times[i] += now.Sub(*start)
	*start = now
}
