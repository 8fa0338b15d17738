package int8net

import (
	"errors"

	"github.com/coatnet-edge/coatnet-edge/kernels"
	"github.com/coatnet-edge/coatnet-edge/model/graph"
)

// AddParams is the residual sum of two tensors of one shape, each rescaled
// to the output's quantization.
type AddParams struct {
	Add kernels.AddParams
}

func init() { registerInt8(graph.OpAdd, 2, func() Params { return new(AddParams) }) }

func (p *AddParams) Kind() graph.OpKind { return graph.OpAdd }
func (p *AddParams) Variant() string    { return string(graph.OpAdd) }
func (p *AddParams) Kernels() []string  { return []string{kernels.NameAdd} }

func (p *AddParams) arrays() []int8Array { return nil }

func (p *AddParams) check(s *opShape) error {
	c, b := s.c(), s.in[1]
	if c != s.ic() || b.Channels != c || b.Side != s.in[0].Side || s.out.Side != s.in[0].Side {
		return errors.New("shape or parameters")
	}
	a := &p.Add
	for _, z := range []int32{a.ZeroA, a.ZeroB, a.ZeroOut} {
		if z < -128 || z > 127 {
			return errors.New("an add zero point is outside [-128, 127]")
		}
	}
	return checkShifts(a.ShiftA, a.ShiftB, a.ShiftOut)
}

func (p *AddParams) cost(*opShape, *int8Plan) int64 { return 0 }

func (p *AddParams) fromFile(f *FileOp) error {
	if f.Add == nil {
		return errors.New("shape or parameters")
	}
	p.Add = f.Add.params()
	return nil
}

func (p *AddParams) toFile(f *FileOp) { f.Add = fileAdd(&p.Add) }

type addRun struct {
	int8Base
	p *AddParams
}

func (p *AddParams) prepare(b int8Base) int8Runner { return &addRun{int8Base: b, p: p} }

func (r *addRun) run() { r.net.runTasks(r, r.split()) }

func (r *addRun) Do(worker, lo, hi int) {
	c := r.out.Channels
	p0, p1 := r.pixels(lo, hi)
	kernels.Add(r.output()[p0*c:p1*c], r.input(0)[p0*c:p1*c], r.input(1)[p0*c:p1*c], &r.p.Add)
}
