package int8net

import (
	"errors"

	"github.com/coatnet-edge/coatnet-edge/kernels"
	"github.com/coatnet-edge/coatnet-edge/model/graph"
)

// ActParams is an elementwise activation as a table from input code to
// output code (LUT[uint8(code)]).
type ActParams struct {
	Func string // silu, gelu, relu, sigmoid, tanh: what the table holds
	LUT  []int8
}

func init() { registerInt8(graph.OpAct, 1, func() Params { return new(ActParams) }) }

func (p *ActParams) Kind() graph.OpKind { return graph.OpAct }
func (p *ActParams) Variant() string    { return string(graph.OpAct) }
func (p *ActParams) Kernels() []string  { return []string{kernels.NameLUT} }

func (p *ActParams) arrays() []int8Array { return []int8Array{i8Array("lut", &p.LUT)} }

func (p *ActParams) check(s *opShape) error {
	if s.c() != s.ic() || s.out.Side != s.in[0].Side {
		return errors.New("shape changes")
	}
	return s.lengths(p, 256)
}

func (p *ActParams) cost(*opShape, *int8Plan) int64 { return 0 }

func (p *ActParams) fromFile(f *FileOp) error { p.Func = f.Act; return nil }
func (p *ActParams) toFile(f *FileOp)         { f.Act = p.Func }

type actRun struct {
	int8Base
	lut *[256]int8
}

func (p *ActParams) prepare(b int8Base) int8Runner {
	return &actRun{int8Base: b, lut: (*[256]int8)(p.LUT)}
}

func (r *actRun) run() { r.net.runTasks(r, r.split()) }

func (r *actRun) Do(worker, lo, hi int) {
	c := r.out.Channels
	p0, p1 := r.pixels(lo, hi)
	kernels.LUT(r.output()[p0*c:p1*c], r.input(0)[p0*c:p1*c], r.lut)
}
