package int8net

import (
	"errors"
	"math"
	"slices"

	"github.com/coatnet-edge/coatnet-edge/kernels"
	"github.com/coatnet-edge/coatnet-edge/model/graph"
)

// LayerNormParams normalises over the channels at each pixel: Eps in units
// of the input scale squared, per-channel requantization of the
// normalised value (the weight folded in) and biases in output codes.
type LayerNormParams struct {
	Eps         float64
	Mult, Shift []int32
	Bias        []int32
}

func init() { registerInt8(graph.OpLayerNorm, 1, func() Params { return new(LayerNormParams) }) }

func (p *LayerNormParams) Kind() graph.OpKind { return graph.OpLayerNorm }
func (p *LayerNormParams) Variant() string    { return string(graph.OpLayerNorm) }
func (p *LayerNormParams) Kernels() []string  { return []string{kernels.NameLayerNorm} }

func (p *LayerNormParams) arrays() []int8Array {
	return []int8Array{i32Array("mult", &p.Mult), i32Array("shift", &p.Shift), i32Array("bias", &p.Bias)}
}

func (p *LayerNormParams) check(s *opShape) error {
	c := s.c()
	if c != s.ic() || s.out.Side != s.in[0].Side || !(p.Eps >= 0) || math.IsInf(p.Eps, 1) {
		return errors.New("shape or eps")
	}
	if err := s.lengths(p, c, c, c); err != nil {
		return err
	}
	if slices.ContainsFunc(p.Shift, badShift) {
		return errShift
	}
	return nil
}

func (p *LayerNormParams) cost(*opShape, *int8Plan) int64 { return 0 }

func (p *LayerNormParams) fromFile(f *FileOp) error { p.Eps = f.Eps; return nil }
func (p *LayerNormParams) toFile(f *FileOp)         { f.Eps = p.Eps }

type layerNormRun struct {
	int8Base
	ln kernels.LayerNormParams
}

func (p *LayerNormParams) prepare(b int8Base) int8Runner {
	return &layerNormRun{int8Base: b, ln: kernels.LayerNormParams{Zero: b.in[0].ZeroPoint, Eps: p.Eps, Mult: p.Mult, Shift: p.Shift, Bias: p.Bias}}
}

func (r *layerNormRun) run() { r.net.runTasks(r, r.split()) }

func (r *layerNormRun) Do(worker, lo, hi int) {
	c := r.out.Channels
	p0, p1 := r.pixels(lo, hi)
	kernels.LayerNorm(r.output()[p0*c:p1*c], r.input(0)[p0*c:p1*c], c, &r.ln)
}
