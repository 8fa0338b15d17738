package int8net

import (
	"fmt"
	"slices"

	"github.com/coatnet-edge/coatnet-edge/kernels"
	"github.com/coatnet-edge/coatnet-edge/model/engine"
	"github.com/coatnet-edge/coatnet-edge/model/graph"
)

// ConvParams is a KxK convolution (K 1 or 3, padding K/2): weights
// [out][K][K][in] (packed for the GEMM when the engine loads them), int32
// biases with the input zero point folded in, and per-channel
// requantization.
type ConvParams struct {
	Kernel, Stride int
	Weight         []int8
	Bias           []int32
	Mult, Shift    []int32
}

func init() { registerInt8(graph.OpConv, 1, func() Params { return new(ConvParams) }) }

func (p *ConvParams) Kind() graph.OpKind { return graph.OpConv }
func (p *ConvParams) Variant() string    { return fmt.Sprintf("conv %dx%d", p.Kernel, p.Kernel) }

func (p *ConvParams) Kernels() []string {
	if p.Kernel == 3 {
		return []string{kernels.NameIm2col3x3, kernels.NameGemmRequant}
	}
	return []string{kernels.NameGemmRequant}
}

func (p *ConvParams) arrays() []int8Array {
	return []int8Array{i8Array("weight", &p.Weight), i32Array("bias", &p.Bias), i32Array("mult", &p.Mult), i32Array("shift", &p.Shift)}
}

func (p *ConvParams) check(s *opShape) error {
	if p.Kernel != 1 && p.Kernel != 3 || p.Stride != 1 && p.Stride != 2 || p.Kernel == 1 && p.Stride != 1 {
		return fmt.Errorf("kernel %d stride %d", p.Kernel, p.Stride)
	}
	if side := []int{s.in[0].Side, s.half()}[p.Stride-1]; s.out.Side != side {
		return fmt.Errorf("output side %d, want %d", s.out.Side, side)
	}
	c := s.c()
	if err := s.lengths(p, c*p.Kernel*p.Kernel*s.ic(), c, c, c); err != nil {
		return err
	}
	if slices.ContainsFunc(p.Shift, badShift) {
		return errShift
	}
	return nil
}

func (p *ConvParams) cost(s *opShape, pl *int8Plan) int64 {
	c, k := int64(s.c()), int64(p.Kernel*p.Kernel)*int64(s.ic())
	pl.weightBytes = engine.AddSat(pl.weightBytes, packedBytes(int(c), int(k)))
	if p.Kernel == 3 {
		pl.patch = max(pl.patch, engine.MulSat(int8RowsPerTask, k))
	}
	return engine.MulSat(int64(s.out.Pixels()), c, k)
}

func (p *ConvParams) fromFile(f *FileOp) error { p.Kernel, p.Stride = f.Kernel, f.Stride; return nil }
func (p *ConvParams) toFile(f *FileOp)         { f.Kernel, f.Stride = p.Kernel, p.Stride }

type convRun struct {
	int8Base
	p  *ConvParams
	pw *kernels.Weights
	rq kernels.Requant
	// byChannels: a 1x1 convolution whose weights outweigh its rows
	// (more output channels than pixels: the late stages) runs as tasks
	// of chunk channels over every pixel, so that each thread reads only
	// its share of the weights, once, instead of all of them once per
	// block of pixels (stage 3's MLP: 1 MB, 13 times on four threads).
	byChannels []convChannels
	chunk      int
}

// convChannels is one channel task: a view of the weights and its
// parameters.
type convChannels struct {
	c0   int
	pw   *kernels.Weights
	bias []int32
	rq   kernels.Requant
}

func (p *ConvParams) prepare(b int8Base) int8Runner {
	k := p.Kernel * p.Kernel * b.in[0].Channels
	r := &convRun{int8Base: b, p: p, pw: kernels.PackWeights(p.Weight, b.out.Channels, k), rq: requant(p.Mult, p.Shift, b.out)}
	if c := b.out.Channels; p.Kernel == 1 && c > b.out.Pixels() {
		// At least two tasks a thread, on panel boundaries.
		step := r.pw.ChannelStep()
		r.chunk = ((c+2*b.net.pool.Threads()-1)/(2*b.net.pool.Threads()) + step - 1) / step * step
		for c0 := 0; c0 < c; c0 += r.chunk {
			c1 := min(c, c0+r.chunk)
			mult, shift := p.Mult, p.Shift
			if len(mult) > 1 {
				mult, shift = mult[c0:c1], shift[c0:c1]
			}
			r.byChannels = append(r.byChannels, convChannels{c0: c0, pw: r.pw.Channels(c0, c1), bias: p.Bias[c0:c1], rq: requant(mult, shift, b.out)})
		}
	}
	return r
}

func (r *convRun) run() { r.net.runTasks(r, r.split()) }

func (r *convRun) split() taskSplit {
	if r.byChannels != nil {
		return taskSplit{total: r.out.Channels, per: r.chunk, grain: 1}
	}
	return r.int8Base.split()
}

// Do runs tasks [lo, hi): blocks of r.rows output pixels, or of r.chunk
// channels.
func (r *convRun) Do(worker, lo, hi int) {
	in, out := r.input(0), r.output()
	c, ic := r.out.Channels, r.in[0].Channels
	if r.byChannels != nil {
		for i := lo; i < hi; i++ {
			t := &r.byChannels[i]
			kernels.GemmRequant(out[t.c0:], c, in, ic, r.out.Pixels(), t.pw, t.bias, &t.rq)
		}
		return
	}
	p0, p1 := r.pixels(lo, hi)
	if r.p.Kernel == 1 {
		kernels.GemmRequant(out[p0*c:], c, in[p0*ic:], ic, p1-p0, r.pw, r.p.Bias, &r.rq)
		return
	}
	// The scratch holds one task's patches; a worker may get many tasks.
	for q := p0; q < p1; q += int8RowsPerTask {
		r.conv3x3(worker, in, out, q, min(q+int8RowsPerTask, p1))
	}
}

// conv3x3 gathers patches of output pixels [p0, p1) (padding with the input
// zero point, which the bias correction assumes) and multiplies them.
func (r *convRun) conv3x3(worker int, in, out []int8, p0, p1 int) {
	t := r.in[0]
	ic, c := t.Channels, r.out.Channels
	k := 9 * ic
	patch := r.net.patch[worker][:(p1-p0)*k]
	kernels.Im2col3x3(patch, in, t.Side, t.Side, ic, r.p.Stride, int8(t.ZeroPoint), p0, p1)
	kernels.GemmRequant(out[p0*c:], c, patch, k, p1-p0, r.pw, r.p.Bias, &r.rq)
}
