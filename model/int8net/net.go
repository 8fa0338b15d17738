package int8net

import (
	"slices"
	"strings"
	"time"

	"github.com/coatnet-edge/coatnet-edge/internal/parallel"
	"github.com/coatnet-edge/coatnet-edge/kernels"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/engine"
	"github.com/coatnet-edge/coatnet-edge/model/graph"
)

// Net runs a quantized program with the kernels of package kernels.
// Every integer result is bit-exact on every architecture and for any
// thread count: float arithmetic appears only in the input quantization,
// the LayerNorm statistics (float64 +, /, sqrt, each correctly rounded and
// never fused) and the final logits. Buffers are allocated once; Run does
// not allocate.
type Net struct {
	pool   *parallel.Pool
	prog   *Program
	cfg    arch.Config
	input  []float32
	ops    []int8Runner
	plan   int8Plan // packed weights and scratch
	vals   [][]int8 // per tensor; tensors whose lives do not overlap share memory
	logits []float32
	acc    []int32 // the logits' int32 accumulators
	// Per-worker scratch.
	patch   [][]int8             // 3x3 convolution rows (im2col)
	scores  [][]int32            // attention logits of one head, N x N
	probs   [][]int8             // attention probabilities, N x N
	kw, vw  [][]*kernels.Weights // one head's keys and transposed values, packed, per attention shape (attnShapes)
	vsum    [][]int32            // per-head sums of the values over the keys
	vbias   [][]int32            // per-head PV bias
	attnTmp [][]int32            // AttentionSoftmax scratch, 2N
	opTimes []time.Duration      // see EnableTiming
}

// newInt8Net prepares a validated program. threads <= 0 uses every CPU.
func newInt8Net(cfg arch.Config, prog *Program, threads int, keepAll bool) *Net {
	n := &Net{prog: prog, cfg: cfg}
	n.pool = parallel.New(threads)
	th := n.pool.Threads()
	n.input = make([]float32, cfg.InChans*cfg.ImgSize*cfg.ImgSize)
	n.logits = make([]float32, cfg.NumClasses)
	for i := range prog.Ops {
		prog.Ops[i].Params.cost(prog.shape(&prog.Ops[i], i == len(prog.Ops)-1), &n.plan)
	}
	n.allocate(keepAll)
	pl := &n.plan
	n.patch = make([][]int8, th)
	n.scores, n.probs = make([][]int32, th), make([][]int8, th)
	n.vsum, n.vbias, n.attnTmp = make([][]int32, th), make([][]int32, th), make([][]int32, th)
	n.kw, n.vw = make([][]*kernels.Weights, th), make([][]*kernels.Weights, th)
	for w := range th {
		n.patch[w] = make([]int8, pl.patch)
		n.scores[w] = make([]int32, pl.attnN*pl.attnN)
		n.probs[w] = make([]int8, pl.attnN*pl.attnN)
		n.vsum[w] = make([]int32, pl.attnD)
		n.vbias[w] = make([]int32, pl.attnD)
		n.attnTmp[w] = make([]int32, 2*pl.attnN)
		for _, s := range pl.attnShapes {
			n.kw[w] = append(n.kw[w], kernels.NewWeights(s[0], s[1]))
			n.vw[w] = append(n.vw[w], kernels.NewWeights(s[1], s[0]))
		}
	}
	n.ops = make([]int8Runner, len(prog.Ops))
	for i := range prog.Ops {
		op := &prog.Ops[i]
		s := prog.shape(op, false)
		n.ops[i] = op.Params.prepare(int8Base{net: n, op: op, in: s.in, out: s.out, rows: taskRows(s.out.Pixels(), th)})
	}
	return n
}

// allocate gives every tensor its buffer of tensorPlan.
func (n *Net) allocate(keepAll bool) {
	p := n.prog
	buf, size := p.tensorPlan(keepAll)
	bufs := make([][]int8, len(size))
	for i, s := range size {
		bufs[i] = make([]int8, s)
	}
	n.vals = make([][]int8, len(p.Tensors))
	for t, b := range buf {
		if b >= 0 {
			n.vals[t] = bufs[b][:p.Tensors[t].Pixels()*p.Tensors[t].Channels]
		}
	}
}

// tensorPlan assigns every tensor a buffer, reusing the memory of tensors
// no later operation reads unless keepAll asks for every value to survive
// Run: buf[t] is tensor t's buffer (-1 for none), size[b] buffer b's
// length. Nothing is allocated per tensor, so the need of a program can be
// known before its buffers exist.
func (p *Program) tensorPlan(keepAll bool) (buf, size []int) {
	lastUse := make([]int, len(p.Tensors))
	buf = make([]int, len(p.Tensors))
	for i := range lastUse {
		lastUse[i], buf[i] = -1, -1
	}
	for i, op := range p.Ops {
		for _, t := range op.In {
			lastUse[t] = i
		}
	}
	var free []int // buffers no live tensor holds
	take := func(t graph.TensorID) {
		need := p.Tensors[t].Pixels() * p.Tensors[t].Channels
		best := -1
		for i, b := range free {
			if size[b] >= need && (best < 0 || size[b] < size[free[best]]) {
				best = i
			}
		}
		if best < 0 {
			buf[t] = len(size)
			size = append(size, need)
			return
		}
		buf[t] = free[best]
		free = append(free[:best], free[best+1:]...)
	}
	take(0)
	for i, op := range p.Ops {
		take(op.Out)
		for j, in := range op.In {
			// An input named twice is freed once.
			if lastUse[in] == i && in != op.Out && !keepAll && !slices.Contains(op.In[:j], in) {
				free = append(free, buf[in])
			}
		}
	}
	return buf, size
}

// need is what newInt8Net allocates for a validated program, and the work
// of one inference: convolution, depthwise, attention and logits
// multiply-accumulates, counted as Config.LayerCosts counts them.
func (p *Program) need(cfg *arch.Config) engine.Need {
	var nd engine.Need
	_, size := p.tensorPlan(false)
	for _, s := range size {
		nd.TensorBytes = engine.AddSat(nd.TensorBytes, int64(s))
	}
	// The float input, the logits and their accumulators.
	nd.TensorBytes = engine.AddSat(nd.TensorBytes, engine.MulSat(4, int64(cfg.InChans), int64(cfg.ImgSize), int64(cfg.ImgSize))+8*int64(cfg.NumClasses))
	var pl int8Plan
	for i := range p.Ops {
		nd.MACs = engine.AddSat(nd.MACs, p.Ops[i].Params.cost(p.shape(&p.Ops[i], i == len(p.Ops)-1), &pl))
	}
	nd.WeightBytes = pl.weightBytes
	// Per worker: patches, int32 scores and int8 probabilities of one
	// head, the value sums and bias, the softmax's 2N, the packed keys
	// and values of every attention shape.
	nd.ScratchBytes = engine.AddSat(engine.AddSat(pl.patch, engine.MulSat(5, pl.attnN, pl.attnN)), engine.AddSat(8*pl.attnD+8*pl.attnN, pl.packs))
	return nd
}

// Input is the buffer Run reads: CHW float32, as preprocessing produces it.
func (n *Net) Input() []float32 { return n.input }

// Threads is the number of goroutines a forward pass uses.
func (n *Net) Threads() int { return n.pool.Threads() }

// Close stops the worker goroutines.
func (n *Net) Close() { n.pool.Close() }

// Value is tensor t's int8 value after Run (NHWC).
func (n *Net) Value(t graph.TensorID) []int8 { return n.vals[t] }

// Program is the quantized program the net runs.
func (n *Net) Program() *Program { return n.prog }

// Run computes the logits of Input; the slice is reused by the next Run.
func (n *Net) Run() []float32 {
	n.quantizeInput()
	return n.RunQuantized()
}

// QuantizedInput is the int8 tensor RunQuantized reads: HWC, quantized
// with InputParams. Writing it directly skips the float input.
func (n *Net) QuantizedInput() []int8 { return n.vals[0] }

// InputParams is the quantization of QuantizedInput.
func (n *Net) InputParams() QParams { return n.prog.Tensors[0].QParams }

// QuantizeInputValue is how Run quantizes each float of Input.
func QuantizeInputValue(q QParams, f float32) int8 {
	return kernels.QuantizeInputValue(f, q.Scale, q.ZeroPoint)
}

// RunQuantized computes the logits of QuantizedInput as it stands; the
// slice is reused by the next call.
func (n *Net) RunQuantized() []float32 {
	var start time.Time
	if n.opTimes != nil {
		start = time.Now()
	}
	for i, op := range n.ops {
		runOp(op)
		engine.Lap(n.opTimes, i, &start)
	}
	return n.logits
}

// runOp runs one operation. Every operation enters it, and it is not
// inlined, so that a per-operation cycle model (tools/armbench split) can
// cut an inference where each one starts.
//
//go:noinline
func runOp(op int8Runner) { op.run() }

// TaskSizes is, for the input quantization and then every operation, the
// work of each task the pool hands out, relative to a whole task: what a
// model of this net's threads schedules (tools/armbench split). The split
// depends on the thread count the net was made with.
func (n *Net) TaskSizes() [][]float64 {
	out := [][]float64{n.inputSplit().sizes()}
	for _, op := range n.ops {
		out = append(out, op.split().sizes())
	}
	return out
}

// quantizeInput turns the CHW float input into the NHWC int8 tensor 0,
// inputPixelsPerTask pixels a task.
func (n *Net) quantizeInput() { n.runTasks(inputJob{n}, n.inputSplit()) }

// inputSplit is quantizeInput's split: blocks of inputPixelsPerTask pixels.
func (n *Net) inputSplit() taskSplit {
	return taskSplit{total: n.prog.Tensors[0].Pixels(), per: inputPixelsPerTask, grain: 1}
}

// inputPixelsPerTask is how many pixels of the input one task quantizes:
// a few thousand values, far more than a task's cost to hand out.
const inputPixelsPerTask = 2048

// inputJob is the job of quantizeInput.
type inputJob struct{ n *Net }

func (j inputJob) Do(worker, lo, hi int) {
	t0 := &j.n.prog.Tensors[0]
	x := j.n.vals[0]
	np, c := t0.Pixels(), t0.Channels
	p0, p1 := lo*inputPixelsPerTask, min(hi*inputPixelsPerTask, np)
	for ch := range c {
		kernels.QuantizeInput(x[p0*c+ch:], c, j.n.input[ch*np+p0:ch*np+p1], t0.QParams.Scale, t0.QParams.ZeroPoint)
	}
}

// Kernels names the kernels (package kernels) the int8 engine runs for an
// operation, in order (kernels.Implementation says how each is
// implemented); nil for the operations done in Go (max and subsampling
// pools).
func Kernels(op *QOp) []string { return op.Params.Kernels() }

// Impl is how the engine runs op on this machine: each kernel with
// its implementation ("Im2col3x3=neon GemmRequant=sdot"), or "go" for an
// operation done in Go.
func Impl(op *QOp) string {
	ks := Kernels(op)
	if ks == nil {
		return "go"
	}
	impl := kernels.Implementation()
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = k + "=" + impl[k]
	}
	return strings.Join(parts, " ")
}
