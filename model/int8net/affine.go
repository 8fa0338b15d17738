package int8net

import (
	"fmt"
	"slices"

	"github.com/coatnet-edge/coatnet-edge/kernels"
	"github.com/coatnet-edge/coatnet-edge/model/engine"
	"github.com/coatnet-edge/coatnet-edge/model/graph"
)

// AffineParams is a per-channel x*W+B (a BatchNorm that could not be
// folded): one weight, bias and requantization per channel.
type AffineParams struct {
	Weight      []int8
	Bias        []int32
	Mult, Shift []int32
}

func init() { registerInt8(graph.OpAffine, 1, func() Params { return new(AffineParams) }) }

func (p *AffineParams) Kind() graph.OpKind { return graph.OpAffine }
func (p *AffineParams) Variant() string    { return string(graph.OpAffine) }
func (p *AffineParams) Kernels() []string  { return []string{kernels.NameAffine} }

func (p *AffineParams) arrays() []int8Array {
	return []int8Array{i8Array("weight", &p.Weight), i32Array("bias", &p.Bias), i32Array("mult", &p.Mult), i32Array("shift", &p.Shift)}
}

func (p *AffineParams) check(s *opShape) error {
	c, ic, in := s.c(), s.ic(), s.in[0]
	if c != ic || s.out.Side != in.Side {
		return fmt.Errorf("shape %dx%d -> %dx%d stride %d", in.Side, ic, s.out.Side, c, 1)
	}
	if err := s.lengths(p, c, c, c, c); err != nil {
		return err
	}
	if slices.ContainsFunc(p.Shift, badShift) {
		return errShift
	}
	return nil
}

func (p *AffineParams) cost(s *opShape, pl *int8Plan) int64 {
	pl.weightBytes = engine.AddSat(pl.weightBytes, 2*int64(s.c()))
	return 0
}

func (p *AffineParams) fromFile(*FileOp) error { return nil }
func (p *AffineParams) toFile(*FileOp)         {}

type affineRun struct {
	int8Base
	p   *AffineParams
	w16 []int16 // the weights as int16, as kernels.Affine takes them
	rq  kernels.Requant
}

func (p *AffineParams) prepare(b int8Base) int8Runner {
	r := &affineRun{int8Base: b, p: p, w16: make([]int16, b.out.Channels), rq: requant(p.Mult, p.Shift, b.out)}
	for ch, v := range p.Weight {
		r.w16[ch] = int16(v)
	}
	return r
}

func (r *affineRun) run() { r.net.runTasks(r, r.split()) }

func (r *affineRun) Do(worker, lo, hi int) {
	c := r.out.Channels
	p0, p1 := r.pixels(lo, hi)
	kernels.Affine(r.output()[p0*c:p1*c], r.input(0)[p0*c:p1*c], c, 0, r.w16, r.p.Bias, &r.rq)
}
