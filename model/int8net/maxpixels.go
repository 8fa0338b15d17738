package int8net

import (
	"errors"
	"fmt"

	"github.com/coatnet-edge/coatnet-edge/model/graph"
)

// MaxPixelsParams takes each channel's maximum over the pixels
// ([P][C] -> [1][C], timm's global_pool max) in the code domain: the
// affine map from codes to reals is increasing, so the largest code is
// the code of the largest value and the output keeps the input's
// quantization. It has no parameters.
type MaxPixelsParams struct{}

func init() { registerInt8(graph.OpMaxPixels, 1, func() Params { return new(MaxPixelsParams) }) }

func (p *MaxPixelsParams) Kind() graph.OpKind { return graph.OpMaxPixels }
func (p *MaxPixelsParams) Variant() string    { return string(graph.OpMaxPixels) }
func (p *MaxPixelsParams) Kernels() []string  { return nil } // done in Go

func (p *MaxPixelsParams) arrays() []int8Array { return nil }

func (p *MaxPixelsParams) check(s *opShape) error {
	if s.c() != s.ic() || s.out.Side != 1 {
		return fmt.Errorf("maxpixels %dx%d -> %dx%d", s.in[0].Side, s.ic(), s.out.Side, s.c())
	}
	if s.out.QParams != s.in[0].QParams {
		return errors.New("a maximum over pixels must keep its input's quantization")
	}
	return nil
}

func (p *MaxPixelsParams) cost(*opShape, *int8Plan) int64 { return 0 }

func (p *MaxPixelsParams) fromFile(*FileOp) error { return nil }
func (p *MaxPixelsParams) toFile(*FileOp)         {}

type maxPixelsRun struct{ int8Base }

func (p *MaxPixelsParams) prepare(b int8Base) int8Runner { return &maxPixelsRun{int8Base: b} }

// run splits the channels.
func (r *maxPixelsRun) run()             { r.net.runTasks(r, r.split()) }
func (r *maxPixelsRun) split() taskSplit { return even(r.out.Channels, 64) }

// Do takes the maximum of channels [lo, hi), pixel by pixel so the
// reads follow the NHWC rows.
func (r *maxPixelsRun) Do(worker, lo, hi int) {
	in, out := r.input(0), r.output()[lo:hi]
	c, n := r.in[0].Channels, r.in[0].Pixels()
	copy(out, in[lo:hi])
	for p := 1; p < n; p++ {
		for ch, v := range in[p*c+lo : p*c+hi] {
			out[ch] = max(out[ch], v)
		}
	}
}
