package model

import (
	"math"

	"github.com/coatnet-edge/coatnet-edge/internal/parallel"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
)

// GraphRunner executes a Graph in float32 and keeps every tensor's value,
// which is what calibration and error measurement need. It is slower and
// hungrier than FloatNet, which is the engine for float inference.
type GraphRunner struct {
	g      *Graph
	pool   *parallel.Pool
	vals   [][]float32
	scores [][]float32 // per worker: attention logits of one query row
	job    graphJob
}

// NewRunner allocates every tensor of the graph. threads <= 0 uses all
// CPUs.
func (g *Graph) NewRunner(threads int) *GraphRunner {
	r := &GraphRunner{g: g, pool: parallel.New(threads)}
	r.vals = make([][]float32, len(g.Tensors))
	scratch := 0 // an attention row or a 3x3 patch
	for i, t := range g.Tensors {
		r.vals[i] = make([]float32, t.Pixels()*t.Channels)
		scratch = max(scratch, t.Pixels(), 9*t.Channels)
	}
	r.scores = perWorker(r.pool.Threads(), scratch)
	return r
}

// Graph is the graph the runner executes.
func (r *GraphRunner) Graph() *Graph { return r.g }

// Close stops the runner's workers.
func (r *GraphRunner) Close() { r.pool.Close() }

// Value is tensor t's value after Run, NHWC.
func (r *GraphRunner) Value(t TensorID) []float32 { return r.vals[t] }

// Run computes every tensor from a CHW input (as preprocessing produces it)
// and returns the logits.
func (r *GraphRunner) Run(input []float32) []float32 {
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
func (r *GraphRunner) RunOp(i int) {
	op := &r.g.Ops[i]
	r.job = graphJob{r: r, op: op}
	out := &r.g.Tensors[op.Out]
	switch op.Kind {
	case OpMean:
		r.pool.Run(&r.job, out.Channels, 16)
	case OpAttention:
		r.pool.Run(&r.job, op.Heads, 1)
	case OpLogits:
		r.job.Do(0, 0, 1)
	default:
		r.pool.Run(&r.job, out.Pixels(), 8)
	}
}

// graphJob runs one op over a range of output pixels (channels for mean,
// heads for attention).
type graphJob struct {
	r  *GraphRunner
	op *Op
}

func (j *graphJob) Do(worker, lo, hi int) {
	r, op := j.r, j.op
	g := r.g
	out := r.vals[op.Out]
	ot := &g.Tensors[op.Out]
	in := r.vals[op.In[0]]
	it := &g.Tensors[op.In[0]]
	c, ic := ot.Channels, it.Channels
	switch op.Kind {
	case OpConv:
		k := op.Kernel * op.Kernel * ic
		patch := r.scores[worker][:k]
		for p := lo; p < hi; p++ {
			src := in[p*ic : p*ic+ic]
			if op.Kernel == 3 {
				oy, ox := p/ot.Side, p%ot.Side
				for t := 0; t < 9; t++ {
					iy, ix := oy*op.Stride+t/3-1, ox*op.Stride+t%3-1
					dst := patch[t*ic : t*ic+ic]
					if iy < 0 || iy >= it.Side || ix < 0 || ix >= it.Side {
						clear(dst)
					} else {
						copy(dst, in[(iy*it.Side+ix)*ic:])
					}
				}
				src = patch
			}
			o := out[p*c : p*c+c]
			for m := range o {
				wr := op.W[m*k : m*k+k]
				acc := op.B[m]
				for i, v := range wr {
					acc += v * src[i]
				}
				o[m] = acc
			}
		}
	case OpDepthwise:
		for p := lo; p < hi; p++ {
			oy, ox := p/ot.Side, p%ot.Side
			o := out[p*c : p*c+c]
			copy(o, op.B)
			for t := 0; t < 9; t++ {
				iy, ix := oy*op.Stride+t/3-1, ox*op.Stride+t%3-1
				if iy < 0 || iy >= it.Side || ix < 0 || ix >= it.Side {
					continue
				}
				src := in[(iy*it.Side+ix)*c : (iy*it.Side+ix)*c+c]
				wt := op.W[t*c : t*c+c]
				for ch := range o {
					o[ch] += wt[ch] * src[ch]
				}
			}
		}
	case OpAct:
		seg := out[lo*c : hi*c]
		copy(seg, in[lo*c:hi*c])
		activationByName(op.Act).apply(seg)
	case OpAffine:
		for p := lo; p < hi; p++ {
			for ch := 0; ch < c; ch++ {
				out[p*c+ch] = in[p*c+ch]*op.W[ch] + op.B[ch]
			}
		}
	case OpPool:
		for p := lo; p < hi; p++ {
			oy, ox := p/ot.Side, p%ot.Side
			o := out[p*c : p*c+c]
			at := func(y, x int) []float32 { return in[(y*it.Side+x)*c : (y*it.Side+x)*c+c] }
			switch op.Pool {
			case "avg2":
				a, b, d, e := at(2*oy, 2*ox), at(2*oy, 2*ox+1), at(2*oy+1, 2*ox), at(2*oy+1, 2*ox+1)
				for ch := range o {
					o[ch] = (a[ch] + b[ch] + d[ch] + e[ch]) * 0.25
				}
			case "sub":
				copy(o, at(2*oy, 2*ox))
			default:
				for ch := range o {
					o[ch] = float32(math.Inf(-1))
				}
				for y := 2*oy - 1; y <= 2*oy+1; y++ {
					for x := 2*ox - 1; x <= 2*ox+1; x++ {
						if y >= 0 && y < it.Side && x >= 0 && x < it.Side {
							for ch, v := range at(y, x) {
								o[ch] = max(o[ch], v)
							}
						}
					}
				}
			}
		}
	case OpMean:
		n := it.Pixels()
		for ch := lo; ch < hi; ch++ {
			var s float64
			for p := 0; p < n; p++ {
				s += float64(in[p*c+ch])
			}
			out[ch] = float32(s / float64(n))
		}
	case OpScale:
		gate := r.vals[op.In[1]]
		for p := lo; p < hi; p++ {
			for ch := 0; ch < c; ch++ {
				out[p*c+ch] = in[p*c+ch] * gate[ch]
			}
		}
	case OpAdd:
		b := r.vals[op.In[1]]
		for i := lo * c; i < hi*c; i++ {
			out[i] = in[i] + b[i]
		}
	case OpLayerNorm:
		for p := lo; p < hi; p++ {
			x := in[p*c : p*c+c]
			var mean, v float64
			for _, e := range x {
				mean += float64(e)
			}
			mean /= float64(c)
			for _, e := range x {
				v += (float64(e) - mean) * (float64(e) - mean)
			}
			rstd := 1 / math.Sqrt(v/float64(c)+op.Eps)
			for ch, e := range x {
				out[p*c+ch] = float32((float64(e)-mean)*rstd*float64(op.W[ch]) + float64(op.B[ch]))
			}
		}
	case OpAttention:
		r.attention(worker, op, lo, hi)
	case OpLogits:
		dense(op.W, op.B, in, out, c, ic)
	}
}

// attention computes heads [lo, hi) of op.
func (r *GraphRunner) attention(worker int, op *Op, lo, hi int) {
	g := r.g
	ot := &g.Tensors[op.Out]
	qs, ks, vs := r.vals[op.In[0]], r.vals[op.In[1]], r.vals[op.In[2]]
	out := r.vals[op.Out]
	n, side, d := ot.Pixels(), ot.Side, op.DimHead
	span := 2*side - 1
	a := op.Heads * d
	row := r.scores[worker][:n]
	for h := lo; h < hi; h++ {
		tab := op.RelTable[h*span*span : (h+1)*span*span]
		for i := 0; i < n; i++ {
			q := qs[i*a+h*d : i*a+h*d+d]
			base := (i/side+side-1)*span + i%side + side - 1
			for j := 0; j < n; j++ {
				k := ks[j*a+h*d : j*a+h*d+d]
				var s float32
				for e, qv := range q {
					s += qv * k[e]
				}
				row[j] = s
				if op.Form == arch.PreSoftmax {
					row[j] += tab[base-((j/side)*span+j%side)]
				}
			}
			softmax(row)
			if op.Form == arch.PostSoftmax {
				for j := range row {
					row[j] += tab[base-((j/side)*span+j%side)]
				}
			}
			o := out[i*a+h*d : i*a+h*d+d]
			clear(o)
			for j, pj := range row {
				v := vs[j*a+h*d : j*a+h*d+d]
				for e := range o {
					o[e] += pj * v[e]
				}
			}
		}
	}
}
