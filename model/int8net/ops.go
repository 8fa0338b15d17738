package int8net

import (
	"errors"
	"fmt"
	"slices"

	"github.com/coatnet-edge/coatnet-edge/internal/parallel"
	"github.com/coatnet-edge/coatnet-edge/kernels"
	"github.com/coatnet-edge/coatnet-edge/model/engine"
	"github.com/coatnet-edge/coatnet-edge/model/graph"
	"github.com/coatnet-edge/coatnet-edge/model/modelfile"
)

// Params are the typed parameters and arrays of one int8 operation:
// *ConvParams for OpConv, *AttentionParams for OpAttention, and so on,
// each in its own file. The unexported methods make it the engine's
// contract; only this package implements it.
//
// Adding an operation is described in the package doc (doc.go).
type Params interface {
	// Kind is the operation kind the parameters are for.
	Kind() graph.OpKind
	// Variant names the kind with what changes its kernels ("conv 3x3",
	// "pool max"): one line of a per-operation report.
	Variant() string
	// Kernels names the kernels (package kernels) the engine runs for the
	// operation, in order; nil for an operation done in Go.
	Kernels() []string

	// arrays lists the array parameters in the order the file stores them.
	arrays() []int8Array
	// check verifies shapes, scalars and array lengths against the
	// operation's tensors.
	check(s *opShape) error
	// cost adds the operation's packed weights and per-worker scratch to
	// a plan and returns its multiply-accumulates.
	cost(s *opShape, pl *int8Plan) (macs int64)
	// prepare packs what the engine needs and returns the operation ready
	// to run.
	prepare(b int8Base) int8Runner
	// fromFile and toFile convert the scalars to and from the file's op.
	fromFile(f *FileOp) error
	toFile(f *FileOp)
}

// int8Kind is one registered kind of operation.
type int8Kind struct {
	inputs int           // tensors it reads
	new    func() Params // zero parameters, for decoding a file
}

var int8Kinds = map[graph.OpKind]int8Kind{}

// registerInt8 adds a kind of int8 operation; each operation's file calls
// it once, from init.
func registerInt8(kind graph.OpKind, inputs int, new func() Params) {
	if _, dup := int8Kinds[kind]; dup {
		panic("model: int8 operation " + string(kind) + " registered twice")
	}
	int8Kinds[kind] = int8Kind{inputs: inputs, new: new}
}

// Kinds lists the operation kinds the int8 engine implements, sorted.
func Kinds() []graph.OpKind {
	out := make([]graph.OpKind, 0, len(int8Kinds))
	for k := range int8Kinds {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// int8Array is one array parameter: its role (the file names it
// Name+"/"+role) and exactly one of the pointers, to the params' field.
type int8Array struct {
	role string
	i8   *[]int8
	i32  *[]int32
	f32  *[]float32
	want int // length check sets it; see opShape.lengths
}

func (a int8Array) dtype() modelfile.DType {
	switch {
	case a.i8 != nil:
		return modelfile.I8
	case a.i32 != nil:
		return modelfile.I32
	}
	return modelfile.F32
}

func (a int8Array) len() int {
	switch {
	case a.i8 != nil:
		return len(*a.i8)
	case a.i32 != nil:
		return len(*a.i32)
	}
	return len(*a.f32)
}

func i8Array(role string, p *[]int8) int8Array     { return int8Array{role: role, i8: p} }
func i32Array(role string, p *[]int32) int8Array   { return int8Array{role: role, i32: p} }
func f32Array(role string, p *[]float32) int8Array { return int8Array{role: role, f32: p} }

// opShape is what an operation's rules see of the program: its tensors,
// already checked to exist and to be computed before it.
type opShape struct {
	in   []*QTensor
	out  *QTensor
	last bool // the program's last operation
}

// c, ic and half are the output and input channels and the side of a
// stride-2 output.
func (s *opShape) c() int    { return s.out.Channels }
func (s *opShape) ic() int   { return s.in[0].Channels }
func (s *opShape) half() int { return (s.in[0].Side-1)/2 + 1 }

// lengths checks that each array of p has the length given, in the order
// of p.arrays().
func (s *opShape) lengths(p Params, want ...int) error {
	for i, a := range p.arrays() {
		if n := a.len(); n != want[i] {
			return fmt.Errorf("array %s has %d values, want %d", a.role, n, want[i])
		}
	}
	return nil
}

// int8Plan is what a program asks beyond its tensors: packed weights, and
// the per-worker scratch the engine allocates once.
type int8Plan struct {
	weightBytes int64
	patch       int64    // int8s of 3x3 convolution rows (im2col)
	attnN       int64    // the most attention tokens
	attnD       int64    // the widest attention head
	attnShapes  [][2]int // distinct attention (tokens, head width)
	packs       int64    // bytes of the packed keys and values of every attention shape
}

// int8Base is what every prepared operation holds: the engine and its
// tensors.
type int8Base struct {
	net  *Net
	op   *QOp
	in   []*QTensor
	out  *QTensor
	rows int // output pixels a task, taskRows
}

// vals are the operation's input and output values.
func (b *int8Base) input(i int) []int8 { return b.net.vals[b.op.In[i]] }
func (b *int8Base) output() []int8     { return b.net.vals[b.op.Out] }

// split is how run hands a pixel-parallel operation to the pool: blocks
// of b.rows pixels.
func (b *int8Base) split() taskSplit { return taskSplit{total: b.out.Pixels(), per: b.rows, grain: 1} }

// taskSplit is how an operation's run hands it to the pool: total units
// of work (pixels, channels, heads) in tasks of per units, the last one
// what is left, grain tasks at a time. TaskSizes reports it, for a model
// of several threads.
type taskSplit struct{ total, per, grain int }

// even is a split into n tasks of one unit each.
func even(n, grain int) taskSplit { return taskSplit{total: n, per: 1, grain: grain} }

// tasks is how many tasks s makes.
func (s taskSplit) tasks() int { return (s.total + s.per - 1) / s.per }

// sizes is the work of each hand-out of the pool (grain tasks at a time),
// in whole tasks.
func (s taskSplit) sizes() []float64 {
	var out []float64
	g := max(s.grain, 1) // as the pool takes it
	for lo := 0; lo < s.tasks(); lo += g {
		units := min((lo+g)*s.per, s.total) - lo*s.per
		out = append(out, float64(units)/float64(s.per))
	}
	return out
}

// runTasks runs job's tasks as s splits them.
func (n *Net) runTasks(job parallel.Job, s taskSplit) { n.pool.Run(job, s.tasks(), s.grain) }

// pixels are the output pixels [p0, p1) of tasks [lo, hi).
func (b *int8Base) pixels(lo, hi int) (p0, p1 int) {
	return lo * b.rows, min(hi*b.rows, b.out.Pixels())
}

// taskRows is how many output pixels a task of a pixel-parallel operation
// computes: int8RowsPerTask, halved (down to 4, the x86 GEMM tile's rows)
// while the output has fewer than 8 tasks a thread, so that the small
// late-stage tensors (14x14, 7x7: 7 and 2 tasks of 32) split evenly on
// several threads. Results do not depend on it.
func taskRows(pixels, threads int) int {
	rows := int8RowsPerTask
	for threads > 1 && rows > 4 && (pixels+rows-1)/rows < 8*threads {
		rows /= 2
	}
	return rows
}

// int8Runner is a prepared operation: run computes its output, in the
// tasks split says.
type int8Runner interface {
	run()
	split() taskSplit
}

// int8RowsPerTask is the most output pixels one task of a pixel-parallel
// operation computes (see taskRows).
const int8RowsPerTask = 32

// requant is the per-channel requantization of mult and shift arrays
// into the output's zero point.
func requant(mult, shift []int32, out *QTensor) kernels.Requant {
	rq := kernels.Requant{Mult: mult, Shift: shift, ZeroPoint: out.ZeroPoint}
	rq.Check() // once, not on every task (the file's shifts were checked when it loaded)
	return rq
}

// badShift is a shift no kernel takes.
func badShift(v int32) bool { return v < -31 || v > 31 }

// checkShifts refuses shifts outside [-31, 31].
func checkShifts(shifts ...int32) error {
	if slices.ContainsFunc(shifts, badShift) {
		return errShift
	}
	return nil
}

var errShift = errors.New("a shift is outside [-31, 31]")

// packedBytes bounds the size of kernels.PackWeights(m, k) for every GEMM
// implementation (panels of at most 16 channels, K rounded up to 16).
func packedBytes(m, k int) int64 {
	return engine.MulSat(int64((m+15)/16*16), int64((k+15)/16*16))
}
