package graph

import (
	"github.com/coatnet-edge/coatnet-edge/internal/parallel"
	"github.com/coatnet-edge/coatnet-edge/model/float"
)

// Runner executes a Graph in float32 and keeps every tensor's value,
// which is what calibration and error measurement need. It is slower and
// hungrier than float.Net, which is the engine for float inference.
type Runner struct {
	g    *Graph
	pool *parallel.Pool
	vals [][]float32
	ops  []graphOp   // per operation, its kind's runner
	work [][]float32 // per worker: the running operation's scratch (a 3x3 patch, an attention row)
	job  graphJob
}

// NewRunner allocates every tensor of the graph. threads <= 0 uses all
// CPUs. Every operation's kind must have a graph runner (HasRunner);
// New builds no other, so one without is a programmer's error and
// panics.
func (g *Graph) NewRunner(threads int) *Runner {
	r := &Runner{g: g, pool: parallel.New(threads)}
	r.vals = make([][]float32, len(g.Tensors))
	for i, t := range g.Tensors {
		r.vals[i] = make([]float32, t.Pixels()*t.Channels)
	}
	r.ops = make([]graphOp, len(g.Ops))
	scratch := 0
	for i := range g.Ops {
		op := &g.Ops[i]
		k, ok := graphOps[op.Kind]
		if !ok {
			r.pool.Close()
			panic("model: graph operation " + op.Name + " has kind " + string(op.Kind) + ", which has no graph runner")
		}
		r.ops[i] = k
		if k.scratch != nil {
			scratch = max(scratch, k.scratch(g, op))
		}
	}
	r.work = float.PerWorker(r.pool.Threads(), scratch)
	return r
}

// Graph is the graph the runner executes.
func (r *Runner) Graph() *Graph { return r.g }

// Close stops the runner's workers.
func (r *Runner) Close() { r.pool.Close() }

// Value is tensor t's value after Run, NHWC.
func (r *Runner) Value(t TensorID) []float32 { return r.vals[t] }

// Run computes every tensor from a CHW input (as preprocessing produces it)
// and returns the logits.
func (r *Runner) Run(input []float32) []float32 {
	in := r.g.Tensors[0]
	n, c := in.Pixels(), in.Channels
	x := r.vals[0]
	for p := 0; p < n; p++ {
		for ch := 0; ch < c; ch++ {
			x[p*c+ch] = input[ch*n+p]
		}
	}
	for i := range r.g.Ops {
		r.RunOp(i)
	}
	return r.vals[r.g.Ops[len(r.g.Ops)-1].Out]
}

// RunOp computes operation i from the tensors' current values, which lets
// a caller measure one operation's error in isolation by writing its
// inputs first.
func (r *Runner) RunOp(i int) {
	op := &r.g.Ops[i]
	k := &r.ops[i]
	r.job = graphJob{r: r, op: op, run: k.run}
	tasks, grain := k.split(r.g, op)
	r.pool.Run(&r.job, tasks, grain)
}

// graphJob runs one op over a range of its tasks.
type graphJob struct {
	r   *Runner
	op  *Op
	run graphKernel
}

func (j *graphJob) Do(worker, lo, hi int) { j.run(j.r, worker, j.op, lo, hi) }

// graphOp is how the float graph runner computes one operation kind. Each
// kind has its home in graph_<kind>.go, which registers it from init.
type graphOp struct {
	// split is how many tasks op divides into and how many of them a
	// worker takes at a time.
	split func(g *Graph, op *Op) (tasks, grain int)
	// run computes tasks [lo, hi) of op.
	run graphKernel
	// scratch, if not nil, is how many float32s of per-worker scratch
	// (Runner.work) op needs.
	scratch func(g *Graph, op *Op) int
}

// graphKernel computes tasks [lo, hi) of op on worker.
type graphKernel func(r *Runner, worker int, op *Op, lo, hi int)

// graphOps is the registry of graph runners by kind.
var graphOps = map[OpKind]graphOp{}

// registerGraphOp makes kind k runnable by Runner.
func registerGraphOp(k OpKind, op graphOp) {
	if _, dup := graphOps[k]; dup {
		panic("model: graph runner for " + string(k) + " registered twice")
	}
	graphOps[k] = op
}

// HasRunner reports whether the float graph runner can compute
// operations of kind k; a test holds it true for every kind of OpKinds.
func HasRunner(k OpKind) bool {
	_, ok := graphOps[k]
	return ok
}

// splitPixels is the usual split: tasks of one output pixel, eight at a
// time.
func splitPixels(g *Graph, op *Op) (tasks, grain int) {
	return g.Tensors[op.Out].Pixels(), 8
}
