package model

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/coatnet-edge/coatnet-edge/internal/parallel"
	"github.com/coatnet-edge/coatnet-edge/kernels"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
)

// Int8Net runs a quantized program with the kernels of package kernels.
// Every integer result is bit-exact on every architecture and for any
// thread count: float arithmetic appears only in the input quantization,
// the LayerNorm statistics (float64 +, /, sqrt, each correctly rounded and
// never fused) and the final logits. Buffers are allocated once; Run does
// not allocate.
type Int8Net struct {
	engine
	prog   *Program
	cfg    arch.Config
	input  []float32
	ops    []int8Op
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

// int8Op is a QOp with its arrays resolved and its job state.
type int8Op struct {
	QOp
	net    *Int8Net
	w      []int8
	w16    []int16          // affine: w as int16
	pw     *kernels.Weights // convolutions and logits: w packed for the GEMM
	wsum   []int32          // logits: the sum of each class's weights
	attn   int              // attention: index of its shape in attnShapes
	bias   []int32
	rq     kernels.Requant
	ln     kernels.LayerNormParams
	lut    *[256]int8
	relpos []int32 // attention: the bias tables reversed, as kernels.AttentionSoftmax takes them
	gateW  []int16 // scale: the gate of this inference as Affine weights
	fbias  []float32
	fscale []float32
	in     []*QTensor
	out    *QTensor
}

// newInt8Net prepares a validated program. threads <= 0 uses every CPU.
func newInt8Net(cfg arch.Config, prog *Program, int8s map[string][]int8, int32s map[string][]int32, f32s map[string][]float32, threads int, keepAll bool) *Int8Net {
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
			o.rq = kernels.Requant{Mult: m, Shift: int32s[key+"shift"], ZeroPoint: o.out.ZeroPoint}
		} else {
			o.rq = kernels.Requant{Mult: []int32{q.Mult}, Shift: []int32{q.Shift}, ZeroPoint: o.out.ZeroPoint}
		}
		if l, ok := int8s[key+"lut"]; ok {
			o.lut = (*[256]int8)(l)
		}
		o.fbias, o.fscale = f32s[key+"bias"], f32s[key+"scale"]
		c, ic := o.out.Channels, o.in[0].Channels
		switch q.Kind {
		case OpConv:
			k := q.Kernel * q.Kernel * ic
			if q.Kernel == 3 {
				patch = max(patch, int8RowsPerTask*k)
			}
			o.pw = kernels.PackWeights(o.w, c, k)
		case OpAffine:
			o.w16 = make([]int16, c)
			for ch, v := range o.w {
				o.w16[ch] = int16(v)
			}
		case OpScale:
			o.gateW = make([]int16, c)
		case OpLayerNorm:
			o.ln = kernels.LayerNormParams{Zero: o.in[0].ZeroPoint, Eps: q.Eps, Mult: o.rq.Mult, Shift: o.rq.Shift, Bias: o.bias}
		case OpLogits:
			o.pw = kernels.PackWeights(o.w, c, ic)
			o.wsum = make([]int32, c)
			for m := range c {
				for _, v := range o.w[m*ic : m*ic+ic] {
					o.wsum[m] += int32(v)
				}
			}
			n.acc = make([]int32, c)
		case OpAttention:
			np := o.out.Pixels()
			attnN = max(attnN, np)
			attnD = max(attnD, q.DimHead)
			shape := [2]int{np, q.DimHead}
			o.attn = slices.Index(attnShapes, shape)
			if o.attn < 0 {
				o.attn = len(attnShapes)
				attnShapes = append(attnShapes, shape)
			}
			// timm indexes the table by the query's offset from the key;
			// the kernel by the key's from the query: each head's table
			// reversed.
			tab := int32s[key+"relpos"]
			o.relpos = make([]int32, len(tab))
			span2 := len(tab) / q.Heads
			for h := range q.Heads {
				for j := range span2 {
					o.relpos[h*span2+j] = tab[h*span2+span2-1-j]
				}
			}
		}
	}
	n.allocate(keepAll)
	n.patch = make([][]int8, th)
	n.scores, n.probs = make([][]int32, th), make([][]int8, th)
	n.vsum, n.vbias, n.attnTmp = make([][]int32, th), make([][]int32, th), make([][]int32, th)
	n.kw, n.vw = make([][]*kernels.Weights, th), make([][]*kernels.Weights, th)
	for w := range th {
		n.patch[w] = make([]int8, patch)
		n.scores[w] = make([]int32, attnN*attnN)
		n.probs[w] = make([]int8, attnN*attnN)
		n.vsum[w] = make([]int32, attnD)
		n.vbias[w] = make([]int32, attnD)
		n.attnTmp[w] = make([]int32, 2*attnN)
		for _, s := range attnShapes {
			n.kw[w] = append(n.kw[w], kernels.NewWeights(s[0], s[1]))
			n.vw[w] = append(n.vw[w], kernels.NewWeights(s[1], s[0]))
		}
	}
	return n
}

// allocate gives every tensor its buffer of tensorPlan.
func (n *Int8Net) allocate(keepAll bool) {
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
	take := func(t TensorID) {
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
func (p *Program) need(cfg *arch.Config) Need {
	var nd Need
	_, size := p.tensorPlan(false)
	for _, s := range size {
		nd.TensorBytes = addSat(nd.TensorBytes, int64(s))
	}
	// The float input, the logits and their accumulators.
	nd.TensorBytes = addSat(nd.TensorBytes, mulSat(4, int64(cfg.InChans), int64(cfg.ImgSize), int64(cfg.ImgSize))+8*int64(cfg.NumClasses))
	var patch, attnN, attnD, packs int64
	var shapes [][2]int
	add := func(v *int64, d int64) { *v = addSat(*v, d) }
	for _, op := range p.Ops {
		out, in := &p.Tensors[op.Out], &p.Tensors[op.In[0]]
		c, ic, px := int64(out.Channels), int64(in.Channels), int64(out.Pixels())
		switch op.Kind {
		case OpConv:
			k := int64(op.Kernel*op.Kernel) * ic
			add(&nd.WeightBytes, packedBytes(int(c), int(k)))
			add(&nd.MACs, mulSat(px, c, k))
			if op.Kernel == 3 {
				patch = max(patch, mulSat(int8RowsPerTask, k))
			}
		case OpDepthwise:
			add(&nd.MACs, mulSat(px, 9, c))
		case OpAffine, OpScale:
			add(&nd.WeightBytes, 2*c)
		case OpLogits:
			add(&nd.WeightBytes, addSat(packedBytes(int(c), int(ic)), 4*c))
			add(&nd.MACs, mulSat(c, ic))
		case OpAttention:
			span := int64(2*out.Side - 1)
			add(&nd.WeightBytes, mulSat(4, int64(op.Heads), span, span))
			add(&nd.MACs, mulSat(2, px, px, c))
			attnN, attnD = max(attnN, px), max(attnD, int64(op.DimHead))
			if s := [2]int{int(px), op.DimHead}; !slices.Contains(shapes, s) {
				shapes = append(shapes, s)
				packs = addSat(packs, addSat(packedBytes(s[0], s[1]), packedBytes(s[1], s[0])))
			}
		}
	}
	// Per worker: patches, int32 scores and int8 probabilities of one
	// head, the value sums and bias, the softmax's 2N, the packed keys
	// and values of every attention shape.
	nd.ScratchBytes = addSat(addSat(patch, mulSat(5, attnN, attnN)), addSat(8*attnD+8*attnN, packs))
	return nd
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
	n.quantizeInput()
	return n.RunQuantized()
}

// QuantizedInput is the int8 tensor RunQuantized reads: HWC, quantized
// with InputParams. Writing it directly skips the float input.
func (n *Int8Net) QuantizedInput() []int8 { return n.vals[0] }

// InputParams is the quantization of QuantizedInput.
func (n *Int8Net) InputParams() QParams { return n.prog.Tensors[0].QParams }

// QuantizeInputValue is how Run quantizes each float of Input.
func QuantizeInputValue(q QParams, f float32) int8 {
	return int8(max(-128, min(127, math.Round(float64(f)*(1/q.Scale))+float64(q.ZeroPoint))))
}

// RunQuantized computes the logits of QuantizedInput as it stands; the
// slice is reused by the next call.
func (n *Int8Net) RunQuantized() []float32 {
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

// quantizeInput turns the CHW float input into the NHWC int8 tensor 0.
func (n *Int8Net) quantizeInput() {
	t0 := &n.prog.Tensors[0]
	x := n.vals[0]
	np, c := t0.Pixels(), t0.Channels
	for ch := 0; ch < c; ch++ {
		plane := n.input[ch*np : ch*np+np]
		dst := x[ch:]
		for p, f := range plane {
			dst[p*c] = QuantizeInputValue(t0.QParams, f)
		}
	}
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
		o.logits()
	default:
		if o.Kind == OpScale {
			o.gate()
		}
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
			kernels.GemmRequant(out[p0*c:], c, in[p0*ic:], ic, p1-p0, o.pw, o.bias, &o.rq)
			return
		}
		// The scratch holds one task's patches; a worker may get many tasks.
		for q := p0; q < p1; q += int8RowsPerTask {
			o.conv3x3(worker, in, out, q, min(q+int8RowsPerTask, p1))
		}
	case OpDepthwise:
		kernels.Depthwise3x3(out, in, o.in[0].Side, o.in[0].Side, c, o.Stride, o.w, o.bias, int8(o.in[0].ZeroPoint), &o.rq, lo, hi)
	case OpAct:
		kernels.LUT(out[p0*c:p1*c], in[p0*c:p1*c], o.lut)
	case OpAffine:
		kernels.Affine(out[p0*c:p1*c], in[p0*c:p1*c], c, 0, o.w16, o.bias, &o.rq)
	case OpPool:
		o.pool(in, out, p0, p1)
	case OpMean:
		kernels.MeanChannels(out, in, o.in[0].Pixels(), ic, o.in[0].ZeroPoint, &o.rq, lo, hi)
	case OpScale:
		kernels.Affine(out[p0*c:p1*c], in[p0*c:p1*c], c, o.in[0].ZeroPoint, o.gateW, nil, &o.rq)
	case OpAdd:
		kernels.Add(out[p0*c:p1*c], in[p0*c:p1*c], n.vals[o.In[1]][p0*c:p1*c], o.Add)
	case OpLayerNorm:
		kernels.LayerNorm(out[p0*c:p1*c], in[p0*c:p1*c], c, &o.ln)
	case OpAttention:
		o.attention(worker, lo, hi)
	}
}

// gate turns this inference's squeeze-excite gate into Affine weights:
// (x - zh)*(g - zg).
func (o *int8Op) gate() {
	g := o.net.vals[o.In[1]][:len(o.gateW)]
	zg := o.in[1].ZeroPoint
	for ch, v := range g {
		o.gateW[ch] = int16(int32(v) - zg)
	}
}

// logits multiplies the pooled features by the classifier (an int32 GEMM
// of one row; the input zero point comes off as zp times each class's
// weight sum, wrapping as the sum does) and scales to float.
func (o *int8Op) logits() {
	n := o.net
	in := n.vals[o.In[0]]
	ic := o.in[0].Channels
	kernels.GemmInt32(n.acc, len(n.acc), in, ic, 1, o.pw)
	z := o.in[0].ZeroPoint
	for m, acc := range n.acc {
		acc -= z * o.wsum[m]
		// Explicit conversions keep the multiply and add unfused, so
		// the logits round the same on every architecture.
		n.logits[m] = float32(float64(float64(acc)*float64(o.fscale[m])) + float64(o.fbias[m]))
	}
}

// conv3x3 gathers patches of output pixels [p0, p1) (padding with the input
// zero point, which the bias correction assumes) and multiplies them.
func (o *int8Op) conv3x3(worker int, in, out []int8, p0, p1 int) {
	t := o.in[0]
	ic, c := t.Channels, o.out.Channels
	k := 9 * ic
	patch := o.net.patch[worker][:(p1-p0)*k]
	kernels.Im2col3x3(patch, in, t.Side, t.Side, ic, o.Stride, int8(t.ZeroPoint), p0, p1)
	kernels.GemmRequant(out[p0*c:], c, patch, k, p1-p0, o.pw, o.bias, &o.rq)
}

// pool downsamples by 2 in the code domain: avg2 rounds half up, max and
// sub pick; the quantization is unchanged.
func (o *int8Op) pool(in, out []int8, p0, p1 int) {
	s, c := o.in[0].Side, o.out.Channels
	switch o.Pool {
	case "avg2":
		kernels.AvgPool2x2(out, in, s, s, c, p0, p1)
	case "sub":
		for p := p0; p < p1; p++ {
			oy, ox := p/o.out.Side, p%o.out.Side
			i := (2*oy*s + 2*ox) * c
			copy(out[p*c:p*c+c], in[i:i+c])
		}
	default:
		for p := p0; p < p1; p++ {
			oy, ox := p/o.out.Side, p%o.out.Side
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

// attention runs heads [lo, hi): logits Q.K^T in int32, the integer
// softmax with the relative position bias added before it (pre-softmax
// form, in logit units) or after it (post-softmax form, in probability
// units), and P.V as an int8 GEMM.
func (o *int8Op) attention(worker, lo, hi int) {
	n := o.net
	side := o.out.Side
	np, d := side*side, o.DimHead
	a := o.Heads * d
	span2 := (2*side - 1) * (2*side - 1)
	q, k, v := n.vals[o.In[0]], n.vals[o.In[1]], n.vals[o.In[2]]
	out := n.vals[o.Out]
	scores := n.scores[worker][:np*np]
	probs := n.probs[worker][:np*np]
	kw, vw := n.kw[worker][o.attn], n.vw[worker][o.attn]
	vsum, vbias := n.vsum[worker][:d], n.vbias[worker][:d]
	tmp := n.attnTmp[worker][:2*np]
	zp := o.Softmax.ZeroPoint
	post := o.Form == arch.PostSoftmax
	for h := lo; h < hi; h++ {
		// Keys and values are the weight operand of their products, which
		// the kernels take in [-127, 127] (a pair of -128 x -128 products
		// overflows the int16 sums of the pre-dot-product NEON path): the
		// packs clamp them.
		kw.PackStrided(k[h*d:], a)
		vw.PackTransposed(v[h*d:], a, vsum)
		kernels.GemmInt32(scores, np, q[h*d:], a, np, kw)
		kernels.AttentionSoftmax(probs, scores, side, o.relpos[h*span2:(h+1)*span2], post, o.Softmax, 0, np, tmp)
		// sum_j (p_j - zp) v_j = sum_j p_j v_j - zp * sum_j v_j
		for e, s := range vsum {
			vbias[e] = -zp * s
		}
		kernels.GemmRequant(out[h*d:], a, probs, np, np, vw, vbias, &o.rq)
	}
}

// Int8Kernels names the package arm64 kernels the int8 engine runs for an
// operation, in order (kernels.Implementation says how each is
// implemented); nil for the operations done in Go (max and subsampling
// pools).
func Int8Kernels(op *QOp) []string {
	switch op.Kind {
	case OpConv:
		if op.Kernel == 3 {
			return []string{"Im2col3x3", "GemmRequant"}
		}
		return []string{"GemmRequant"}
	case OpDepthwise:
		return []string{"Depthwise3x3"}
	case OpAct:
		return []string{"LUT"}
	case OpAffine, OpScale:
		return []string{"Affine"}
	case OpPool:
		if op.Pool == "avg2" {
			return []string{"AvgPool2x2"}
		}
	case OpMean:
		return []string{"MeanChannels"}
	case OpAdd:
		return []string{"Add"}
	case OpLayerNorm:
		return []string{"LayerNorm"}
	case OpAttention:
		return []string{"PackStrided", "PackTransposed", "GemmInt32", "AttentionSoftmax", "GemmRequant"}
	case OpLogits:
		return []string{"GemmInt32"}
	}
	return nil
}

// Int8Impl is how the engine runs op on this machine: each kernel with
// its implementation ("Im2col3x3=neon GemmRequant=sdot"), or "go" for an
// operation done in Go.
func Int8Impl(op *QOp) string {
	ks := Int8Kernels(op)
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
