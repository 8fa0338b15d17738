package int8net

import (
	"errors"
	"fmt"

	"github.com/coatnet-edge/coatnet-edge/kernels"
	"github.com/coatnet-edge/coatnet-edge/model/graph"
)

// PoolParams downsamples by 2 in the code domain, keeping the input's
// quantization: avg2 (2x2 average, rounding half up), max (3x3, stride 2,
// padding 1) or sub (stride-2 subsampling).
type PoolParams struct {
	Mode string
}

func init() { registerInt8(graph.OpPool, 1, func() Params { return new(PoolParams) }) }

func (p *PoolParams) Kind() graph.OpKind { return graph.OpPool }
func (p *PoolParams) Variant() string    { return "pool " + p.Mode }

func (p *PoolParams) Kernels() []string {
	if p.Mode == "avg2" {
		return []string{kernels.NameAvgPool2x2}
	}
	return nil // max and sub are done in Go
}

func (p *PoolParams) arrays() []int8Array { return nil }

func (p *PoolParams) check(s *opShape) error {
	in, c, ic := s.in[0], s.c(), s.ic()
	if p.Mode != "avg2" && p.Mode != "max" && p.Mode != "sub" || c != ic || s.out.Side != s.half() || in.Side%2 != 0 && p.Mode == "avg2" {
		return fmt.Errorf("pool %q %dx%d -> %dx%d", p.Mode, in.Side, ic, s.out.Side, c)
	}
	if s.out.QParams != in.QParams {
		return errors.New("a pool must keep its input's quantization")
	}
	return nil
}

func (p *PoolParams) cost(*opShape, *int8Plan) int64 { return 0 }

func (p *PoolParams) fromFile(f *FileOp) error { p.Mode = f.Pool; return nil }
func (p *PoolParams) toFile(f *FileOp)         { f.Pool = p.Mode }

type poolRun struct {
	int8Base
	mode string
}

func (p *PoolParams) prepare(b int8Base) int8Runner { return &poolRun{int8Base: b, mode: p.Mode} }

func (r *poolRun) run() { r.net.runTasks(r, r.split()) }

// Do downsamples output pixels of tasks [lo, hi): avg2 rounds half up, max
// and sub pick; the quantization is unchanged.
func (r *poolRun) Do(worker, lo, hi int) {
	in, out := r.input(0), r.output()
	p0, p1 := r.pixels(lo, hi)
	s, c := r.in[0].Side, r.out.Channels
	switch r.mode {
	case "avg2":
		kernels.AvgPool2x2(out, in, s, s, c, p0, p1)
	case "sub":
		for p := p0; p < p1; p++ {
			oy, ox := p/r.out.Side, p%r.out.Side
			i := (2*oy*s + 2*ox) * c
			copy(out[p*c:p*c+c], in[i:i+c])
		}
	default:
		for p := p0; p < p1; p++ {
			oy, ox := p/r.out.Side, p%r.out.Side
			dst := out[p*c : p*c+c]
			for ch := range dst {
				dst[ch] = -128
			}
			for y := max(2*oy-1, 0); y <= min(2*oy+1, s-1); y++ {
				for x := max(2*ox-1, 0); x <= min(2*ox+1, s-1); x++ {
					src := in[(y*s+x)*c : (y*s+x)*c+c]
					for ch, v := range src[:len(dst)] {
						dst[ch] = max(dst[ch], v)
					}
				}
			}
		}
	}
}
