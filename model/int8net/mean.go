package int8net

import (
	"errors"

	"github.com/coatnet-edge/coatnet-edge/kernels"
	"github.com/coatnet-edge/coatnet-edge/model/graph"
)

// MeanParams averages over pixels ([P][C] -> [1][C]): the sum times one
// fixed-point multiplier.
type MeanParams struct {
	Mult, Shift int32
}

func init() { registerInt8(graph.OpMean, 1, func() Params { return new(MeanParams) }) }

func (p *MeanParams) Kind() graph.OpKind { return graph.OpMean }
func (p *MeanParams) Variant() string    { return string(graph.OpMean) }
func (p *MeanParams) Kernels() []string  { return []string{kernels.NameMeanChannels} }

func (p *MeanParams) arrays() []int8Array { return nil }

func (p *MeanParams) check(s *opShape) error {
	if s.c() != s.ic() || s.out.Side != 1 {
		return errors.New("shape")
	}
	return checkShifts(p.Shift)
}

func (p *MeanParams) cost(*opShape, *int8Plan) int64 { return 0 }

func (p *MeanParams) fromFile(f *FileOp) error { p.Mult, p.Shift = f.Mult, f.Shift; return nil }
func (p *MeanParams) toFile(f *FileOp)         { f.Mult, f.Shift = p.Mult, p.Shift }

type meanRun struct {
	int8Base
	rq kernels.Requant
}

func (p *MeanParams) prepare(b int8Base) int8Runner {
	return &meanRun{int8Base: b, rq: requant([]int32{p.Mult}, []int32{p.Shift}, b.out)}
}

// run splits the channels.
func (r *meanRun) run()             { r.net.runTasks(r, r.split()) }
func (r *meanRun) split() taskSplit { return even(r.out.Channels, 64) }

func (r *meanRun) Do(worker, lo, hi int) {
	t := r.in[0]
	kernels.MeanChannels(r.output(), r.input(0), t.Pixels(), t.Channels, t.ZeroPoint, &r.rq, lo, hi)
}
