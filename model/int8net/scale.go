package int8net

import (
	"errors"

	"github.com/coatnet-edge/coatnet-edge/kernels"
	"github.com/coatnet-edge/coatnet-edge/model/engine"
	"github.com/coatnet-edge/coatnet-edge/model/graph"
)

// ScaleParams multiplies In[0][p][c] by the gate In[1][0][c] (the
// squeeze-excite gate): one fixed-point multiplier for the product.
type ScaleParams struct {
	Mult, Shift int32
}

func init() { registerInt8(graph.OpScale, 2, func() Params { return new(ScaleParams) }) }

func (p *ScaleParams) Kind() graph.OpKind { return graph.OpScale }
func (p *ScaleParams) Variant() string    { return string(graph.OpScale) }
func (p *ScaleParams) Kernels() []string  { return []string{kernels.NameAffine} }

func (p *ScaleParams) arrays() []int8Array { return nil }

func (p *ScaleParams) check(s *opShape) error {
	c, g := s.c(), s.in[1]
	if c != s.ic() || s.out.Side != s.in[0].Side || g.Channels != c || g.Side != 1 {
		return errors.New("shape")
	}
	return checkShifts(p.Shift)
}

func (p *ScaleParams) cost(s *opShape, pl *int8Plan) int64 {
	pl.weightBytes = engine.AddSat(pl.weightBytes, 2*int64(s.c()))
	return 0
}

func (p *ScaleParams) fromFile(f *FileOp) error { p.Mult, p.Shift = f.Mult, f.Shift; return nil }
func (p *ScaleParams) toFile(f *FileOp)         { f.Mult, f.Shift = p.Mult, p.Shift }

type scaleRun struct {
	int8Base
	gateW []int16 // the gate of this inference as Affine weights
	rq    kernels.Requant
}

func (p *ScaleParams) prepare(b int8Base) int8Runner {
	return &scaleRun{int8Base: b, gateW: make([]int16, b.out.Channels), rq: requant([]int32{p.Mult}, []int32{p.Shift}, b.out)}
}

func (r *scaleRun) run() {
	r.gate()
	r.net.runTasks(r, r.split())
}

// gate turns this inference's squeeze-excite gate into Affine weights:
// (x - zh)*(g - zg).
func (r *scaleRun) gate() {
	g := r.input(1)[:len(r.gateW)]
	zg := r.in[1].ZeroPoint
	for ch, v := range g {
		r.gateW[ch] = int16(int32(v) - zg)
	}
}

func (r *scaleRun) Do(worker, lo, hi int) {
	c := r.out.Channels
	p0, p1 := r.pixels(lo, hi)
	kernels.Affine(r.output()[p0*c:p1*c], r.input(0)[p0*c:p1*c], c, r.in[0].ZeroPoint, r.gateW, nil, &r.rq)
}
