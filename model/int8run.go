package model

import (
	"math"
	"slices"
	"time"

	"github.com/coatnet-edge/coatnet-edge/arm64"
	"github.com/coatnet-edge/coatnet-edge/internal/parallel"
)

// Int8Net runs a quantized program with the kernels of package arm64.
// Every integer result is bit-exact on every architecture and for any
// thread count: float arithmetic appears only in the input quantization,
// the LayerNorm statistics (float64 +, /, sqrt, each correctly rounded and
// never fused) and the final logits. Buffers are allocated once; Run does
// not allocate.
type Int8Net struct {
	engine
	prog   *Program
	cfg    Config
	input  []float32
	ops    []int8Op
	vals   [][]int8 // per tensor; tensors whose lives do not overlap share memory
	logits []float32
	// Per-worker scratch.
	patch   [][]int8           // 3x3 convolution rows (im2col)
	scores  [][]int32          // attention logits of one head, N x N
	probs   [][]int8           // attention probabilities, N x N
	kh, vt  [][]int8           // one head's keys [N][d] and transposed values [d][N]
	kw, vw  [][]*arm64.Weights // kh and vt packed, per attention shape (attnShapes)
	vbias   [][]int32          // per-head PV bias
	row     [][]int32          // post-softmax bias row
	opTimes []time.Duration    // see EnableTiming
}

// int8Op is a QOp with its arrays resolved and its job state.
type int8Op struct {
	QOp
	net    *Int8Net
	w      []int8
	pw     *arm64.Weights // convolutions: w packed for the GEMM
	attn   int            // attention: index of its shape in attnShapes
	bias   []int32
	rq     arm64.Requant
	lut    *[256]int8
	relpos []int32
	fbias  []float32
	fscale []float32
	in     []*QTensor
	out    *QTensor
}

// newInt8Net prepares a validated program. threads <= 0 uses every CPU.
func newInt8Net(cfg Config, prog *Program, int8s map[string][]int8, int32s map[string][]int32, f32s map[string][]float32, threads int, keepAll bool) *Int8Net {
	n := &Int8Net{prog: prog, cfg: cfg}
	n.pool = parallel.New(threads)
	th := n.pool.Threads()
	n.input = make([]float32, cfg.InChans*cfg.ImgSize*cfg.ImgSize)
	n.logits = make([]float32, cfg.NumClasses)
	n.ops = make([]int8Op, len(prog.Ops))
	var patch, attnN, attnD int
	var attnShapes [][2]int // distinct attention (N, d)
	for i := range prog.Ops {
		q := prog.Ops[i]
		o := &n.ops[i]
		o.QOp, o.net = q, n
		o.out = &prog.Tensors[q.Out]
		for _, t := range q.In {
			o.in = append(o.in, &prog.Tensors[t])
		}
		key := q.Name + "/"
		o.w = int8s[key+"weight"]
		o.bias = int32s[key+"bias"]
		if m, ok := int32s[key+"mult"]; ok {
			o.rq = arm64.Requant{Mult: m, Shift: int32s[key+"shift"], ZeroPoint: o.out.ZeroPoint}
		} else {
			o.rq = arm64.Requant{Mult: []int32{q.Mult}, Shift: []int32{q.Shift}, ZeroPoint: o.out.ZeroPoint}
		}
		if l, ok := int8s[key+"lut"]; ok {
			o.lut = (*[256]int8)(l)
		}
		o.relpos = int32s[key+"relpos"]
		o.fbias, o.fscale = f32s[key+"bias"], f32s[key+"scale"]
		switch q.Kind {
		case OpConv:
			k := q.Kernel * q.Kernel * o.in[0].Channels
			if q.Kernel == 3 {
				patch = max(patch, int8RowsPerTask*k)
			}
			o.pw = arm64.PackWeights(o.w, o.out.Channels, k)
		case OpAttention:
			attnN = max(attnN, o.out.Pixels())
			attnD = max(attnD, q.DimHead)
			shape := [2]int{o.out.Pixels(), q.DimHead}
			o.attn = slices.Index(attnShapes, shape)
			if o.attn < 0 {
				o.attn = len(attnShapes)
				attnShapes = append(attnShapes, shape)
			}
		}
	}
	n.allocate(keepAll)
	n.patch = make([][]int8, th)
	n.scores, n.probs = make([][]int32, th), make([][]int8, th)
	n.kh, n.vt, n.vbias, n.row = make([][]int8, th), make([][]int8, th), make([][]int32, th), make([][]int32, th)
	n.kw, n.vw = make([][]*arm64.Weights, th), make([][]*arm64.Weights, th)
	for w := range th {
		n.patch[w] = make([]int8, patch)
		n.scores[w] = make([]int32, attnN*attnN)
		n.probs[w] = make([]int8, attnN*attnN)
		n.kh[w] = make([]int8, attnN*attnD)
		n.vt[w] = make([]int8, attnN*attnD)
		n.vbias[w] = make([]int32, attnD)
		n.row[w] = make([]int32, attnN)
		for _, s := range attnShapes {
			n.kw[w] = append(n.kw[w], arm64.NewWeights(s[0], s[1]))
			n.vw[w] = append(n.vw[w], arm64.NewWeights(s[1], s[0]))
		}
	}
	return n
}

// allocate gives every tensor a buffer, reusing the memory of tensors no
// later operation reads unless keepAll asks for every value to survive Run.
func (n *Int8Net) allocate(keepAll bool) {
	p := n.prog
	lastUse := make([]int, len(p.Tensors))
	for i := range lastUse {
		lastUse[i] = -1
	}
	for i, op := range p.Ops {
		for _, t := range op.In {
			lastUse[t] = i
		}
	}
	n.vals = make([][]int8, len(p.Tensors))
	var free [][]int8
	take := func(size int) []int8 {
		best := -1
		for i, b := range free {
			if cap(b) >= size && (best < 0 || cap(b) < cap(free[best])) {
				best = i
			}
		}
		if best < 0 {
			return make([]int8, size)
		}
		b := free[best][:size]
		free = append(free[:best], free[best+1:]...)
		return b
	}
	t0 := &p.Tensors[0]
	n.vals[0] = take(t0.Pixels() * t0.Channels)
	for i, op := range p.Ops {
		t := &p.Tensors[op.Out]
		n.vals[op.Out] = take(t.Pixels() * t.Channels)
		for _, in := range append(op.In, op.Out) {
			if lastUse[in] == i && in != op.Out && !keepAll {
				free = append(free, n.vals[in][:cap(n.vals[in])])
			}
		}
	}
}

// int8RowsPerTask is how many output pixels one task of a pixel-parallel
// operation computes.
const int8RowsPerTask = 32

// Input is the buffer Run reads: CHW float32, as preprocessing produces it.
func (n *Int8Net) Input() []float32 { return n.input }

// Threads is the number of goroutines a forward pass uses.
func (n *Int8Net) Threads() int { return n.pool.Threads() }

// Close stops the worker goroutines.
func (n *Int8Net) Close() { n.pool.Close() }

// Value is tensor t's int8 value after Run (NHWC).
func (n *Int8Net) Value(t TensorID) []int8 { return n.vals[t] }

// Program is the quantized program the net runs.
func (n *Int8Net) Program() *Program { return n.prog }

// Run computes the logits of Input; the slice is reused by the next Run.
func (n *Int8Net) Run() []float32 {
	t0 := &n.prog.Tensors[0]
	x := n.vals[0]
	np, c := t0.Pixels(), t0.Channels
	inv := 1 / t0.Scale
	for p := 0; p < np; p++ {
		for ch := 0; ch < c; ch++ {
			v := math.Round(float64(n.input[ch*np+p])*inv) + float64(t0.ZeroPoint)
			x[p*c+ch] = int8(max(-128, min(127, v)))
		}
	}
	var start time.Time
	if n.opTimes != nil {
		start = time.Now()
	}
	for i := range n.ops {
		n.ops[i].run()
		lap(n.opTimes, i, &start)
	}
	return n.logits
}

func (o *int8Op) run() {
	n := o.net
	switch o.Kind {
	case OpMean:
		n.pool.Run(o, o.out.Channels, 64)
	case OpAttention:
		n.pool.Run(o, o.Heads, 1)
	case OpDepthwise:
		n.pool.Run(o, o.out.Side, 1)
	case OpLogits:
		o.Do(0, 0, 1)
	default:
		p := o.out.Pixels()
		n.pool.Run(o, (p+int8RowsPerTask-1)/int8RowsPerTask, 1)
	}
}

// Do runs tasks [lo, hi): blocks of int8RowsPerTask output pixels (output
// rows for depthwise, channels for mean, heads for attention).
func (o *int8Op) Do(worker, lo, hi int) {
	n := o.net
	in := n.vals[o.In[0]]
	out := n.vals[o.Out]
	c, ic := o.out.Channels, o.in[0].Channels
	p0, p1 := lo*int8RowsPerTask, min(hi*int8RowsPerTask, o.out.Pixels())
	switch o.Kind {
	case OpConv:
		if o.Kernel == 1 {
			arm64.GemmRequant(out[p0*c:], c, in[p0*ic:], ic, p1-p0, o.pw, o.bias, &o.rq)
			return
		}
		// The scratch holds one task's patches; a worker may get many tasks.
		for q := p0; q < p1; q += int8RowsPerTask {
			o.conv3x3(worker, in, out, q, min(q+int8RowsPerTask, p1))
		}
	case OpDepthwise:
		arm64.Depthwise3x3(out, in, o.in[0].Side, o.in[0].Side, c, o.Stride, o.w, o.bias, int8(o.in[0].ZeroPoint), &o.rq, lo, hi)
	case OpAct:
		arm64.LUT(out[p0*c:p1*c], in[p0*c:p1*c], o.lut)
	case OpAffine:
		for p := p0; p < p1; p++ {
			for ch := 0; ch < c; ch++ {
				acc := o.bias[ch] + int32(o.w[ch])*int32(in[p*c+ch])
				out[p*c+ch] = o.rq.Apply(acc, ch)
			}
		}
	case OpPool:
		o.pool(in, out, p0, p1)
	case OpMean:
		np := o.in[0].Pixels()
		z := o.in[0].ZeroPoint
		for ch := lo; ch < hi; ch++ {
			var s int32
			for p := 0; p < np; p++ {
				s += int32(in[p*ic+ch]) - z
			}
			out[ch] = o.rq.Apply(s, 0)
		}
	case OpScale:
		gate := n.vals[o.In[1]]
		zh, zg := o.in[0].ZeroPoint, o.in[1].ZeroPoint
		for p := p0; p < p1; p++ {
			for ch := 0; ch < c; ch++ {
				acc := (int32(in[p*c+ch]) - zh) * (int32(gate[ch]) - zg)
				out[p*c+ch] = o.rq.Apply(acc, 0)
			}
		}
	case OpAdd:
		arm64.Add(out[p0*c:p1*c], in[p0*c:p1*c], n.vals[o.In[1]][p0*c:p1*c], o.Add)
	case OpLayerNorm:
		o.layerNorm(in, out, p0, p1)
	case OpAttention:
		o.attention(worker, lo, hi)
	case OpLogits:
		z := o.in[0].ZeroPoint
		for m := 0; m < c; m++ {
			var acc int32
			for k, wv := range o.w[m*ic : m*ic+ic] {
				acc += int32(wv) * (int32(in[k]) - z)
			}
			// Explicit conversions keep the multiply and add unfused, so
			// the logits round the same on every architecture.
			n.logits[m] = float32(float64(float64(acc)*float64(o.fscale[m])) + float64(o.fbias[m]))
		}
	}
}

// conv3x3 gathers patches of output pixels [p0, p1) (padding with the input
// zero point, which the bias correction assumes) and multiplies them.
func (o *int8Op) conv3x3(worker int, in, out []int8, p0, p1 int) {
	t := o.in[0]
	ic, c := t.Channels, o.out.Channels
	k := 9 * ic
	patch := o.net.patch[worker][:(p1-p0)*k]
	pad := int8(t.ZeroPoint)
	for p := p0; p < p1; p++ {
		oy, ox := p/o.out.Side, p%o.out.Side
		for tap := 0; tap < 9; tap++ {
			iy, ix := oy*o.Stride+tap/3-1, ox*o.Stride+tap%3-1
			dst := patch[(p-p0)*k+tap*ic : (p-p0)*k+tap*ic+ic]
			if iy < 0 || iy >= t.Side || ix < 0 || ix >= t.Side {
				for i := range dst {
					dst[i] = pad
				}
			} else {
				copy(dst, in[(iy*t.Side+ix)*ic:])
			}
		}
	}
	arm64.GemmRequant(out[p0*c:], c, patch, k, p1-p0, o.pw, o.bias, &o.rq)
}

// pool downsamples by 2 in the code domain: avg2 rounds half up, max and
// sub pick; the quantization is unchanged.
func (o *int8Op) pool(in, out []int8, p0, p1 int) {
	s, c := o.in[0].Side, o.out.Channels
	at := func(y, x int) []int8 { return in[(y*s+x)*c : (y*s+x)*c+c] }
	for p := p0; p < p1; p++ {
		oy, ox := p/o.out.Side, p%o.out.Side
		dst := out[p*c : p*c+c]
		switch o.Pool {
		case "avg2":
			a, b, d, e := at(2*oy, 2*ox), at(2*oy, 2*ox+1), at(2*oy+1, 2*ox), at(2*oy+1, 2*ox+1)
			for ch := range dst {
				dst[ch] = int8((int32(a[ch]) + int32(b[ch]) + int32(d[ch]) + int32(e[ch]) + 2) >> 2)
			}
		case "sub":
			copy(dst, at(2*oy, 2*ox))
		default:
			for ch := range dst {
				dst[ch] = -128
			}
			for y := 2*oy - 1; y <= 2*oy+1; y++ {
				for x := 2*ox - 1; x <= 2*ox+1; x++ {
					if y >= 0 && y < s && x >= 0 && x < s {
						for ch, v := range at(y, x) {
							dst[ch] = max(dst[ch], v)
						}
					}
				}
			}
		}
	}
}

// layerNorm normalises each pixel over its channels. The mean and
// variance are exact integers; 1/sigma is computed once per pixel in
// float64 (deterministic: division and square root are correctly rounded)
// as the integer R = round(2^24 / (C * sigma)); each channel then is
// v = ((C*d - S) * R) >> 12 in Q12, scaled by gamma/scale_out and offset by
// beta/scale_out + zero_out with fixed-point arithmetic.
func (o *int8Op) layerNorm(in, out []int8, p0, p1 int) {
	c := o.out.Channels
	z := o.in[0].ZeroPoint
	cc := int64(c)
	for p := p0; p < p1; p++ {
		x := in[p*c : p*c+c]
		var s, q int64
		for _, v := range x {
			d := int64(v) - int64(z)
			s += d
			q += d * d
		}
		varNum := cc*q - s*s // C^2 * variance, exact
		u := float64(varNum)/float64(cc*cc) + o.Eps
		r := int64(math.Round(float64(1<<24) / (float64(cc) * math.Sqrt(u))))
		dst := out[p*c : p*c+c]
		for ch, v := range x {
			d := int64(v) - int64(z)
			nv := ((cc*d-s)*r + 1<<11) >> 12
			nv = max(math.MinInt32, min(math.MaxInt32, nv))
			y := int64(arm64.RequantizeNoZP(int32(nv), o.rq.Mult[ch], o.rq.Shift[ch])) + int64(o.bias[ch])
			dst[ch] = int8(max(-128, min(127, y)))
		}
	}
}

// attention runs heads [lo, hi): logits Q.K^T in int32 (plus the
// relative-position kernel in logit units for the pre-softmax form), the
// integer softmax of package arm64 (adding the kernel, in probability
// units, for the post-softmax form), and P.V as an int8 GEMM.
func (o *int8Op) attention(worker, lo, hi int) {
	n := o.net
	side := o.out.Side
	np, d := side*side, o.DimHead
	a := o.Heads * d
	span := 2*side - 1
	q, k, v := n.vals[o.In[0]], n.vals[o.In[1]], n.vals[o.In[2]]
	out := n.vals[o.Out]
	scores := n.scores[worker][:np*np]
	probs := n.probs[worker][:np*np]
	kh, vt := n.kh[worker][:np*d], n.vt[worker][:np*d]
	kw, vw := n.kw[worker][o.attn], n.vw[worker][o.attn]
	vbias := n.vbias[worker][:d]
	row := n.row[worker][:np]
	zp := o.Softmax.ZeroPoint
	for h := lo; h < hi; h++ {
		// Keys and values are the weight operand of their products, which
		// the kernels take in [-127, 127] (a pair of -128 x -128 products
		// overflows the int16 sums of the pre-dot-product NEON path),
		// packed for the GEMM once per head.
		for j := 0; j < np; j++ {
			for e := 0; e < d; e++ {
				kh[j*d+e] = max(k[j*a+h*d+e], -127)
				vt[e*np+j] = max(v[j*a+h*d+e], -127)
			}
		}
		kw.Pack(kh)
		vw.Pack(vt)
		arm64.GemmInt32(scores, np, q[h*d:], a, np, kw)
		tab := o.relpos[h*span*span : (h+1)*span*span]
		for i := 0; i < np; i++ {
			base := (i/side+side-1)*span + i%side + side - 1
			s := scores[i*np : i*np+np]
			var post []int32
			for j := range s {
				b := tab[base-((j/side)*span+j%side)]
				if o.Form == PreSoftmax {
					s[j] += b
				} else {
					row[j] = b
				}
			}
			if o.Form == PostSoftmax {
				post = row
			}
			arm64.SoftmaxRow(probs[i*np:i*np+np], s, post, o.Softmax)
		}
		// sum_j (p_j - zp) v_j = sum_j p_j v_j - zp * sum_j v_j
		for e := 0; e < d; e++ {
			var sv int32
			for _, x := range vt[e*np : e*np+np] {
				sv += int32(x)
			}
			vbias[e] = -zp * sv
		}
		arm64.GemmRequant(out[h*d:], a, probs, np, np, vw, vbias, &o.rq)
	}
}
