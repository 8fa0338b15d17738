package int8net

import (
	"errors"

	"github.com/coatnet-edge/coatnet-edge/kernels"
	"github.com/coatnet-edge/coatnet-edge/model/engine"
	"github.com/coatnet-edge/coatnet-edge/model/graph"
)

// LogitsParams is the final linear layer to float logits: int8 weights
// [classes][in], and per class a float scale (input scale times weight
// scale) and bias. It must be the program's last operation.
type LogitsParams struct {
	Weight      []int8
	Bias, Scale []float32
}

func init() { registerInt8(graph.OpLogits, 1, func() Params { return new(LogitsParams) }) }

func (p *LogitsParams) Kind() graph.OpKind { return graph.OpLogits }
func (p *LogitsParams) Variant() string    { return string(graph.OpLogits) }
func (p *LogitsParams) Kernels() []string  { return []string{kernels.NameGemmInt32} }

func (p *LogitsParams) arrays() []int8Array {
	return []int8Array{i8Array("weight", &p.Weight), f32Array("bias", &p.Bias), f32Array("scale", &p.Scale)}
}

func (p *LogitsParams) check(s *opShape) error {
	if !s.last || s.out.Side != 1 || s.in[0].Side != 1 {
		return errors.New("logits must be last and take a vector")
	}
	c := s.c()
	return s.lengths(p, c*s.ic(), c, c)
}

func (p *LogitsParams) cost(s *opShape, pl *int8Plan) int64 {
	c, ic := int64(s.c()), int64(s.ic())
	pl.weightBytes = engine.AddSat(pl.weightBytes, engine.AddSat(packedBytes(int(c), int(ic)), 4*c))
	return engine.MulSat(c, ic)
}

func (p *LogitsParams) fromFile(*FileOp) error { return nil }
func (p *LogitsParams) toFile(*FileOp)         {}

type logitsRun struct {
	int8Base
	p     *LogitsParams
	chunk int                // classes a task
	views []*kernels.Weights // the packed weights of each task's classes
	wsum  []int32            // the sum of each class's weights
}

func (p *LogitsParams) prepare(b int8Base) int8Runner {
	c, ic := b.out.Channels, b.in[0].Channels
	pw := kernels.PackWeights(p.Weight, c, ic)
	// A task a thread, on panel boundaries: one row of input, so the
	// work is the weights, and each thread reads its share of them.
	step := pw.ChannelStep()
	threads := b.net.pool.Threads()
	r := &logitsRun{int8Base: b, p: p, chunk: ((c+threads-1)/threads + step - 1) / step * step, wsum: make([]int32, c)}
	for c0 := 0; c0 < c; c0 += r.chunk {
		r.views = append(r.views, pw.Channels(c0, min(c, c0+r.chunk)))
	}
	for m := range c {
		for _, v := range p.Weight[m*ic : m*ic+ic] {
			r.wsum[m] += int32(v)
		}
	}
	b.net.acc = make([]int32, c)
	return r
}

func (r *logitsRun) split() taskSplit {
	return taskSplit{total: r.out.Channels, per: r.chunk, grain: 1}
}

func (r *logitsRun) run() { r.net.runTasks(r, r.split()) }

// Do runs the classes of tasks [lo, hi): the pooled features times the
// classifier (an int32 GEMM of one row; the input zero point comes off as
// zp times each class's weight sum, wrapping as the sum does), scaled to
// float.
func (r *logitsRun) Do(worker, lo, hi int) {
	n := r.net
	in := r.input(0)
	ic := r.in[0].Channels
	z := r.in[0].ZeroPoint
	for t := lo; t < hi; t++ {
		c0 := t * r.chunk
		c1 := min(len(n.acc), c0+r.chunk)
		kernels.GemmInt32(n.acc[c0:c1], c1-c0, in, ic, 1, r.views[t])
		for m := c0; m < c1; m++ {
			acc := n.acc[m] - z*r.wsum[m]
			// Explicit conversions keep the multiply and add unfused, so
			// the logits round the same on every architecture.
			n.logits[m] = float32(float64(float64(acc)*float64(r.p.Scale[m])) + float64(r.p.Bias[m]))
		}
	}
}
