package int8net

import (
	"fmt"
	"slices"

	"github.com/coatnet-edge/coatnet-edge/kernels"
	"github.com/coatnet-edge/coatnet-edge/model/engine"
	"github.com/coatnet-edge/coatnet-edge/model/graph"
)

// DepthwiseParams is a 3x3 depthwise convolution, padding 1: weights
// [9][C], int32 biases and per-channel requantization.
type DepthwiseParams struct {
	Stride      int
	Weight      []int8
	Bias        []int32
	Mult, Shift []int32
}

func init() { registerInt8(graph.OpDepthwise, 1, func() Params { return new(DepthwiseParams) }) }

func (p *DepthwiseParams) Kind() graph.OpKind { return graph.OpDepthwise }
func (p *DepthwiseParams) Variant() string    { return string(graph.OpDepthwise) }
func (p *DepthwiseParams) Kernels() []string  { return []string{kernels.NameDepthwise3x3} }

func (p *DepthwiseParams) arrays() []int8Array {
	return []int8Array{i8Array("weight", &p.Weight), i32Array("bias", &p.Bias), i32Array("mult", &p.Mult), i32Array("shift", &p.Shift)}
}

func (p *DepthwiseParams) check(s *opShape) error {
	c, ic, in := s.c(), s.ic(), s.in[0]
	if p.Stride != 1 && p.Stride != 2 || c != ic || s.out.Side != []int{in.Side, s.half()}[p.Stride-1] {
		return fmt.Errorf("shape %dx%d -> %dx%d stride %d", in.Side, ic, s.out.Side, c, p.Stride)
	}
	if err := s.lengths(p, 9*c, c, c, c); err != nil {
		return err
	}
	if slices.ContainsFunc(p.Shift, badShift) {
		return errShift
	}
	return nil
}

func (p *DepthwiseParams) cost(s *opShape, pl *int8Plan) int64 {
	return engine.MulSat(int64(s.out.Pixels()), 9, int64(s.c()))
}

func (p *DepthwiseParams) fromFile(f *FileOp) error { p.Stride = f.Stride; return nil }
func (p *DepthwiseParams) toFile(f *FileOp)         { f.Stride = p.Stride }

type depthwiseRun struct {
	int8Base
	p  *DepthwiseParams
	rq kernels.Requant
}

func (p *DepthwiseParams) prepare(b int8Base) int8Runner {
	return &depthwiseRun{int8Base: b, p: p, rq: requant(p.Mult, p.Shift, b.out)}
}

// run splits the output by rows.
func (r *depthwiseRun) run()             { r.net.runTasks(r, r.split()) }
func (r *depthwiseRun) split() taskSplit { return even(r.out.Side, 1) }

func (r *depthwiseRun) Do(worker, lo, hi int) {
	t := r.in[0]
	kernels.Depthwise3x3(r.output(), r.input(0), t.Side, t.Side, r.out.Channels, r.p.Stride, r.p.Weight, r.p.Bias, int8(t.ZeroPoint), &r.rq, lo, hi)
}
