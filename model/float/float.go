package float

import (
	"fmt"
	"math"
	"time"

	"github.com/coatnet-edge/coatnet-edge/internal/parallel"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/engine"
)

// workers is what every kernel needs from the running network.
type workers struct {
	pool *parallel.Pool
}

// TapFunc receives intermediate outputs during a forward pass: "stem",
// "stages.0" .. "stages.3" and "pre_logits", each with its NCHW shape
// (batch 1). The data is only valid during the call.
type TapFunc func(name string, shape []int, data []float32)

// Net is the float32 reference forward pass of a CoAtNet, in portable
// Go. Weights are folded once at construction (BatchNorm into the
// neighbouring convolution, the attention scale into q, layer scale into the
// projection); every buffer is allocated then, so Run does not allocate.
// A Net runs one inference at a time; create one per goroutine (they
// may share nothing but the weights' source).
type Net struct {
	workers
	cfg   arch.Config
	input []float32

	stem   floatStem
	blocks []floatBlock
	head   floatHead

	// Residual stream (ping-pong between stride-2 blocks) and scratch.
	x0, x1, tA, tB, m1, m2, qkv, att, hid []float32
	seMean, seHid, seGate                 []float32
	tap                                   TapFunc
	layerTimes                            []time.Duration // see EnableTiming
}

type floatBlock interface {
	forward(n *Net, x, out []float32)
	block() *arch.Block
}

// New builds the network from timm-named float32 weights, which
// must match cfg.Params() (see CheckWeights). threads <= 0 uses every CPU.
func New(cfg arch.Config, weights map[string]arch.Tensor, threads int) (*Net, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid config: %w", err)
	}
	if err := arch.CheckWeights(&cfg, weights); err != nil {
		return nil, err
	}
	if err := Need(&cfg).Check(threads); err != nil {
		return nil, err
	}
	w := WeightSource(weights)
	n := &Net{cfg: cfg}
	n.input = make([]float32, cfg.InChans*cfg.ImgSize*cfg.ImgSize)

	n.stem = newFloatStem(&cfg, w)
	for _, b := range cfg.Blocks() {
		switch b.Kind {
		case arch.BlockConv:
			n.blocks = append(n.blocks, newFloatMBConv(&cfg, b, w))
		case arch.BlockTransformer:
			blk, err := newFloatTransformer(&cfg, b, w)
			if err != nil {
				return nil, err
			}
			n.blocks = append(n.blocks, blk)
		}
	}
	n.head = newFloatHead(&cfg, w)
	need := floatSizes(&cfg)

	n.pool = parallel.New(threads)
	threadsUsed := n.pool.Threads()
	n.x0 = make([]float32, need.resid)
	n.x1 = make([]float32, need.resid)
	n.tA = make([]float32, need.tA)
	n.tB = make([]float32, need.tB)
	n.m1 = make([]float32, need.m1)
	n.m2 = make([]float32, need.m2)
	n.qkv = make([]float32, need.qkv)
	n.att = make([]float32, need.att)
	n.hid = make([]float32, need.hid)
	n.seMean = make([]float32, need.mid)
	n.seGate = make([]float32, need.mid)
	n.seHid = make([]float32, need.se)
	n.stem.conv1.cols = PerWorker(threadsUsed, need.cols)
	n.stem.conv2.cols = n.stem.conv1.cols
	scores := PerWorker(threadsUsed, need.scores)
	for _, b := range n.blocks {
		if t, ok := b.(*floatTransformer); ok {
			t.attn.scores = scores
		}
	}
	return n, nil
}

func PerWorker(threads, size int) [][]float32 {
	out := make([][]float32, threads)
	for i := range out {
		out[i] = make([]float32, size)
	}
	return out
}

// sizes collects the largest buffer each role needs across the network.
type sizes struct {
	resid, tA, tB, m1, m2, qkv, att, hid, mid, se, cols, scores int
}

// floatSizes is what New allocates for cfg, from the config alone.
func floatSizes(cfg *arch.Config) sizes {
	stemSide, sides := cfg.StageSizes()
	var need sizes
	need.resid = cfg.StemWidth[1] * stemSide * stemSide
	need.tA = cfg.StemWidth[0] * stemSide * stemSide
	need.cols = max(cfg.InChans, cfg.StemWidth[0]) * 9 * conv3x3Cols
	for _, b := range cfg.Blocks() {
		switch b.Kind {
		case arch.BlockConv:
			need.mbconv(b, mbconvMidSide(cfg, b))
		case arch.BlockTransformer:
			need.transformer(b)
		}
	}
	need.tB = max(need.tB, cfg.EmbedDim[3]*sides[3]*sides[3])
	return need
}

// Need is what New allocates for the config and one
// inference computes; the config must be valid. Folding copies each
// weight at most once and the relative-position tables are built.
func Need(c *arch.Config) engine.Need {
	s := floatSizes(c)
	floats := int64(c.InChans*c.ImgSize*c.ImgSize) + 2*int64(s.resid) + int64(s.tA) + int64(s.tB) + int64(s.m1) +
		int64(s.m2) + int64(s.qkv) + int64(s.att) + int64(s.hid) + 2*int64(s.mid) + int64(s.se)
	nd := engine.Need{TensorBytes: 4 * floats, ScratchBytes: 4 * (int64(s.cols) + int64(s.scores))}
	var weights int64
	for _, l := range c.LayerCosts() {
		nd.MACs = engine.AddSat(nd.MACs, l.MACs)
		weights = engine.AddSat(weights, l.Params)
	}
	for _, b := range c.Blocks() {
		if b.Kind == arch.BlockTransformer {
			span := int64(2*b.OutSide - 1)
			weights = engine.AddSat(weights, engine.MulSat(int64(b.Heads), span, span))
		}
	}
	nd.WeightBytes = engine.MulSat(4, weights)
	return nd
}

// Config is the network's architecture.
func (n *Net) Config() arch.Config { return n.cfg }

// Threads is the number of goroutines a forward pass uses.
func (n *Net) Threads() int { return n.pool.Threads() }

// Input is the buffer Run reads: InChans x ImgSize x ImgSize, CHW,
// already normalised.
func (n *Net) Input() []float32 { return n.input }

// SetTap installs (or with nil removes) a function that sees intermediate
// outputs.
func (n *Net) SetTap(f TapFunc) { n.tap = f }

// Close stops the worker goroutines. The net must not be used afterwards.
func (n *Net) Close() { n.pool.Close() }

// Run computes the logits of Input. The returned slice belongs to the net
// and is overwritten by the next Run.
func (n *Net) Run() []float32 {
	stemSide, _ := n.cfg.StageSizes()
	var start time.Time
	if n.layerTimes != nil {
		start = time.Now()
	}
	x, other := n.x0, n.x1
	n.stem.forward(n, n.input, x)
	engine.Lap(n.layerTimes, 0, &start)
	n.emit("stem", x, n.cfg.StemWidth[1], stemSide)
	for i, b := range n.blocks {
		blk := b.block()
		if blk.Stride == 2 {
			b.forward(n, x, other)
			x, other = other, x
		} else {
			b.forward(n, x, x)
		}
		engine.Lap(n.layerTimes, i+1, &start)
		last := i == len(n.blocks)-1 || n.blocks[i+1].block().Stage != blk.Stage
		if last {
			n.emit(arch.StageNames[blk.Stage], x, blk.Out, blk.OutSide)
		}
	}
	logits := n.head.forward(n, x)
	engine.Lap(n.layerTimes, len(n.blocks)+1, &start)
	return logits
}

func (n *Net) emit(name string, x []float32, c, side int) {
	if n.tap != nil {
		n.tap(name, []int{1, c, side, side}, x[:c*side*side])
	}
}

// WeightSource hands out the float data of validated weights.
type WeightSource map[string]arch.Tensor

func (w WeightSource) Get(name string) []float32 { return w[name].Data }

func (w WeightSource) Opt(name string) []float32 {
	if t, ok := w[name]; ok {
		return t.Data
	}
	return nil
}

// BatchNorm returns the inference BatchNorm at prefix as scale and shift.
func (w WeightSource) BatchNorm(prefix string, eps float64) (scale, shift []float32) {
	g, b := w.Get(prefix+"weight"), w.Get(prefix+"bias")
	mean, variance := w.Get(prefix+"running_mean"), w.Get(prefix+"running_var")
	scale = make([]float32, len(g))
	shift = make([]float32, len(g))
	for i := range g {
		s := float64(g[i]) / math.Sqrt(float64(variance[i])+eps)
		scale[i] = float32(s)
		shift[i] = float32(float64(b[i]) - float64(mean[i])*s)
	}
	return scale, shift
}

// FoldOutput returns W and bias with the per-output-channel affine
// (scale, shift) applied after them folded in: rows of W scaled, bias
// becomes bias*scale + shift. bias may be nil; shift may be nil.
func FoldOutput(w, bias, scale, shift []float32, m int) ([]float32, []float32) {
	k := len(w) / m
	ow := make([]float32, len(w))
	ob := make([]float32, m)
	for i := 0; i < m; i++ {
		s := float64(scale[i])
		for j := 0; j < k; j++ {
			ow[i*k+j] = float32(float64(w[i*k+j]) * s)
		}
		var b float64
		if bias != nil {
			b = float64(bias[i]) * s
		}
		if shift != nil {
			b += float64(shift[i])
		}
		ob[i] = float32(b)
	}
	return ow, ob
}

// FoldInput returns W and bias with a per-input-channel affine
// x -> x*scale + shift applied before them folded in.
func FoldInput(w, bias, scale, shift []float32, m int) ([]float32, []float32) {
	k := len(w) / m
	ow := make([]float32, len(w))
	ob := make([]float32, m)
	for i := 0; i < m; i++ {
		var b float64
		if bias != nil {
			b = float64(bias[i])
		}
		for j := 0; j < k; j++ {
			ow[i*k+j] = float32(float64(w[i*k+j]) * float64(scale[j]))
			b += float64(w[i*k+j]) * float64(shift[j])
		}
		ob[i] = float32(b)
	}
	return ow, ob
}

// floatStem: conv3x3/2 -> BN+act (folded) -> conv3x3/1.
type floatStem struct {
	conv1, conv2 conv3x3
}

func newFloatStem(cfg *arch.Config, w WeightSource) floatStem {
	side, _ := cfg.StageSizes()
	scale, shift := w.BatchNorm("stem.norm1.", cfg.Conv.NormEps)
	w1, b1 := FoldOutput(w.Get("stem.conv1.weight"), w.Opt("stem.conv1.bias"), scale, shift, cfg.StemWidth[0])
	return floatStem{
		conv1: conv3x3{w: w1, bias: b1, m: cfg.StemWidth[0], cin: cfg.InChans, stride: 2,
			act: ActivationByName(cfg.Conv.Act), inSide: cfg.ImgSize, outSide: side},
		conv2: conv3x3{w: w.Get("stem.conv2.weight"), bias: w.Opt("stem.conv2.bias"), m: cfg.StemWidth[1],
			cin: cfg.StemWidth[0], stride: 1, inSide: side, outSide: side},
	}
}

func (s *floatStem) forward(n *Net, in, out []float32) {
	s.conv1.run(&n.workers, in, n.tA)
	s.conv2.run(&n.workers, n.tA, out)
}

// floatMBConv is timm's MbConvBlock.
type floatMBConv struct {
	blk            arch.Block
	midSide        int // side at which conv1 runs
	shortcutPool   *pool2d
	shortcutExpand *conv1x1
	preAct         *affine // pre-norm BN + act when it cannot be folded
	down           *pool2d
	conv1          conv1x1
	dw             depthwise
	seEarly        bool
	se1W, se1B     []float32
	se2W, se2B     []float32
	seAct          Activation
	norm2          *affine // only with SE before norm2
	conv3          conv1x1
	mean           channelReduce
	scale          channelScale
}

func newFloatMBConv(cfg *arch.Config, b arch.Block, w WeightSource) *floatMBConv {
	p := b.Prefix()
	act := ActivationByName(cfg.Conv.Act)
	f := &floatMBConv{blk: b, mean: channelReduce{of: MeanOf}, midSide: mbconvMidSide(cfg, b), seEarly: cfg.Conv.AttnEarly, seAct: ActivationByName(cfg.Conv.SEAct)}
	if b.Stride == 2 {
		f.shortcutPool = &pool2d{kind: cfg.Conv.PoolType, inSide: b.InSide, outSide: b.OutSide}
		if b.In != b.Out {
			f.shortcutExpand = &conv1x1{w: w.Get(p + "shortcut.expand.weight"), bias: w.Opt(p + "shortcut.expand.bias"), m: b.Out, k: b.In}
		}
		switch cfg.Conv.StrideMode {
		case "pool":
			f.down = &pool2d{kind: "avg2", inSide: b.InSide, outSide: b.OutSide}
		case "1x1":
			f.down = &pool2d{kind: "sub", inSide: b.InSide, outSide: b.OutSide}
		}
	}
	preScale, preShift := w.BatchNorm(p+"pre_norm.", cfg.Conv.NormEps)
	w1, b1 := w.Get(p+"conv1_1x1.weight"), []float32(nil)
	if cfg.Conv.PreNormAct {
		f.preAct = &affine{scale: preScale, shift: preShift, act: act}
	} else {
		// A per-channel affine commutes with the avg-pool and the
		// subsampling in front of conv1, so it folds into conv1's input.
		w1, b1 = FoldInput(w1, nil, preScale, preShift, b.Mid)
	}
	s1, t1 := w.BatchNorm(p+"norm1.", cfg.Conv.NormEps)
	w1, b1 = FoldOutput(w1, b1, s1, t1, b.Mid)
	f.conv1 = conv1x1{w: w1, bias: b1, m: b.Mid, k: b.In, act: act}

	dwStride := 1
	if b.Stride == 2 && cfg.Conv.StrideMode == "dw" {
		dwStride = 2
	}
	f.dw = depthwise{w: w.Get(p + "conv2_kxk.weight"), stride: dwStride, inSide: f.midSide, outSide: b.OutSide}
	s2, t2 := w.BatchNorm(p+"norm2.", cfg.Conv.NormEps)
	se := p + "se."
	if cfg.Conv.AttnEarly {
		se = p + "se_early."
		f.norm2 = &affine{scale: s2, shift: t2, act: act}
	} else {
		f.dw.w, f.dw.bias = FoldOutput(f.dw.w, nil, s2, t2, b.Mid)
		f.dw.act = act
	}
	f.se1W, f.se1B = w.Get(se+"fc1.weight"), w.Get(se+"fc1.bias")
	f.se2W, f.se2B = w.Get(se+"fc2.weight"), w.Get(se+"fc2.bias")
	f.conv3 = conv1x1{w: w.Get(p + "conv3_1x1.weight"), bias: w.Opt(p + "conv3_1x1.bias"), m: b.Out, k: b.Mid}
	return f
}

func (f *floatMBConv) block() *arch.Block { return &f.blk }

// mbconvMidSide is the side at which an MBConv's conv1 runs: after the
// downsampling unless the depthwise convolution strides.
func mbconvMidSide(cfg *arch.Config, b arch.Block) int {
	if b.Stride == 2 && cfg.Conv.StrideMode != "dw" {
		return b.OutSide
	}
	return b.InSide
}

func (s *sizes) mbconv(b arch.Block, midSide int) {
	nIn, nMid, nOut := b.InSide*b.InSide, midSide*midSide, b.OutSide*b.OutSide
	s.resid = max(s.resid, b.Out*nOut)
	s.tA = max(s.tA, b.In*nOut)
	s.tB = max(s.tB, b.In*nIn)
	s.m1 = max(s.m1, b.Mid*nMid)
	s.m2 = max(s.m2, b.Mid*nOut)
	s.mid = max(s.mid, b.Mid)
	s.se = max(s.se, b.SE)
}

func (f *floatMBConv) forward(n *Net, x, out []float32) {
	b := &f.blk
	e := &n.workers
	nOut, nMid := b.OutSide*b.OutSide, f.midSide*f.midSide
	if b.Stride == 2 {
		f.shortcutPool.run(e, b.In, x, n.tA)
		if f.shortcutExpand != nil {
			f.shortcutExpand.run(e, n.tA, out, nOut, false)
		} else {
			copy(out[:b.Out*nOut], n.tA[:b.In*nOut])
		}
	}
	src := x
	if f.preAct != nil {
		f.preAct.run(e, x, n.tB, b.InSide*b.InSide)
		src = n.tB
	}
	if f.down != nil {
		f.down.run(e, b.In, src, n.tA)
		src = n.tA
	}
	f.conv1.run(e, src, n.m1, nMid, false)
	f.dw.run(e, b.Mid, n.m1, n.m2)
	h := n.m2[:b.Mid*nOut]
	if f.seEarly {
		f.squeezeExcite(n, h, nOut)
		f.norm2.run(e, h, h, nOut)
	} else {
		f.squeezeExcite(n, h, nOut)
	}
	f.conv3.run(e, h, out, nOut, true)
}

func (f *floatMBConv) squeezeExcite(n *Net, h []float32, pixels int) {
	b := &f.blk
	f.mean.run(&n.workers, b.Mid, h, n.seMean, pixels)
	Dense(f.se1W, f.se1B, n.seMean, n.seHid, b.SE, b.Mid)
	f.seAct.Apply(n.seHid[:b.SE])
	Dense(f.se2W, f.se2B, n.seHid, n.seGate, b.Mid, b.SE)
	actSigmoid.Apply(n.seGate[:b.Mid])
	f.scale = channelScale{gate: n.seGate, x: h, n: pixels}
	n.pool.Run(&f.scale, b.Mid, 8)
}

// normOp is LayerNorm2d or an inference BatchNorm over [C][n].
type normOp interface {
	run(e *workers, x, out []float32, n int)
}

func newTransformerNorm(cfg *arch.Config, w WeightSource, prefix string, c int) normOp {
	if cfg.Transformer.Norm == "batchnorm2d" {
		s, t := w.BatchNorm(prefix, cfg.Transformer.NormEps)
		return &affine{scale: s, shift: t}
	}
	return &layerNorm{weight: w.Get(prefix + "weight"), bias: w.Get(prefix + "bias"), eps: cfg.Transformer.NormEps, c: c}
}

// floatTransformer is timm's TransformerBlock2d with Attention2d.
type floatTransformer struct {
	blk            arch.Block
	shortcutPool   *pool2d
	shortcutExpand *conv1x1
	norm1          normOp
	down           *pool2d
	qkv            conv1x1
	attn           attention
	proj           conv1x1
	norm2          normOp
	fc1, fc2       conv1x1
}

func newFloatTransformer(cfg *arch.Config, b arch.Block, w WeightSource) (*floatTransformer, error) {
	p := b.Prefix()
	f := &floatTransformer{blk: b}
	norm1 := p + "norm1."
	if b.Stride == 2 {
		norm1 = p + "norm1.norm."
		f.shortcutPool = &pool2d{kind: cfg.Transformer.PoolType, inSide: b.InSide, outSide: b.OutSide}
		if b.In != b.Out {
			f.shortcutExpand = &conv1x1{w: w.Get(p + "shortcut.expand.weight"), bias: w.Opt(p + "shortcut.expand.bias"), m: b.Out, k: b.In}
		}
		f.down = &pool2d{kind: cfg.Transformer.PoolType, inSide: b.InSide, outSide: b.OutSide}
	}
	f.norm1 = newTransformerNorm(cfg, w, norm1, b.In)

	d := cfg.Transformer.DimHead
	qkvW, qkvB := ScaledQKV(cfg, w, p, b)
	f.qkv = conv1x1{w: qkvW, bias: qkvB, m: 3 * b.Attn, k: b.In}

	table, err := RelPosTable(cfg, w, p, b)
	if err != nil {
		return nil, err
	}
	keyOffset := make([]int, b.OutSide*b.OutSide)
	for j := range keyOffset {
		keyOffset[j] = RelPosOffset(j, b.OutSide)
	}
	f.attn = attention{heads: b.Heads, d: d, side: b.OutSide, form: cfg.Attention, table: table, keyOffset: keyOffset}

	projW, projB := w.Get(p+"attn.proj.weight"), w.Get(p+"attn.proj.bias")
	fc2W, fc2B := w.Get(p+"mlp.fc2.weight"), w.Get(p+"mlp.fc2.bias")
	if cfg.Transformer.LayerScale {
		projW, projB = FoldOutput(projW, projB, w.Get(p+"ls1.gamma"), nil, b.Out)
		fc2W, fc2B = FoldOutput(fc2W, fc2B, w.Get(p+"ls2.gamma"), nil, b.Out)
	}
	f.proj = conv1x1{w: projW, bias: projB, m: b.Out, k: b.Attn}
	f.norm2 = newTransformerNorm(cfg, w, p+"norm2.", b.Out)
	f.fc1 = conv1x1{w: w.Get(p + "mlp.fc1.weight"), bias: w.Get(p + "mlp.fc1.bias"), m: b.Hidden, k: b.Out, act: actGELU}
	f.fc2 = conv1x1{w: fc2W, bias: fc2B, m: b.Out, k: b.Hidden}
	return f, nil
}

// ScaledQKV returns the block's qkv weights and bias with the attention
// scale d^-0.5 folded into the query rows (h*3d .. h*3d+d of each head).
func ScaledQKV(cfg *arch.Config, w WeightSource, p string, b arch.Block) ([]float32, []float32) {
	d := cfg.Transformer.DimHead
	qkvW := append([]float32(nil), w.Get(p+"attn.qkv.weight")...)
	qkvB := append([]float32(nil), w.Get(p+"attn.qkv.bias")...)
	scale := math.Pow(float64(d), -0.5)
	for h := 0; h < b.Heads; h++ {
		for r := h * 3 * d; r < h*3*d+d; r++ {
			for j := 0; j < b.In; j++ {
				qkvW[r*b.In+j] = float32(float64(qkvW[r*b.In+j]) * scale)
			}
			qkvB[r] = float32(float64(qkvB[r]) * scale)
		}
	}
	return qkvW, qkvB
}

// RelPosTable returns the block's relative-position bias as
// heads x (2side-1)^2, from timm's ((2side-1)^2, heads) table or, for
// rel_pos "mlp", by evaluating timm's RelPosMlp ('cr' mode) once.
func RelPosTable(cfg *arch.Config, w WeightSource, p string, b arch.Block) ([]float32, error) {
	side := b.OutSide
	span := 2*side - 1
	l := span * span
	heads := b.Heads
	src := make([]float32, l*heads) // timm layout: [offset][head]
	if cfg.Transformer.RelPos == "mlp" {
		hidden := cfg.Transformer.RelPosDim
		w1, b1 := w.Get(p+"attn.rel_pos.mlp.fc1.weight"), w.Get(p+"attn.rel_pos.mlp.fc1.bias")
		w2, b2 := w.Get(p+"attn.rel_pos.mlp.fc2.weight"), w.Get(p+"attn.rel_pos.mlp.fc2.bias")
		h := make([]float64, hidden)
		for dy := -(side - 1); dy <= side-1; dy++ {
			for dx := -(side - 1); dx <= side-1; dx++ {
				cy := math.Copysign(math.Log1p(math.Abs(float64(dy))), float64(dy))
				cx := math.Copysign(math.Log1p(math.Abs(float64(dx))), float64(dx))
				for i := range h {
					v := float64(w1[2*i])*float64(float32(cy)) + float64(w1[2*i+1])*float64(float32(cx)) + float64(b1[i])
					h[i] = max(v, 0)
				}
				row := (dy+side-1)*span + dx + side - 1
				for n := 0; n < heads; n++ {
					acc := float64(b2[n])
					for i, hv := range h {
						acc += float64(w2[n*hidden+i]) * hv
					}
					src[row*heads+n] = float32(acc)
				}
			}
		}
	} else {
		src = w.Get(p + "attn.rel_pos.relative_position_bias_table")
	}
	out := make([]float32, heads*l)
	for o := 0; o < l; o++ {
		for n := 0; n < heads; n++ {
			out[n*l+o] = src[o*heads+n]
		}
	}
	return out, nil
}

func (f *floatTransformer) block() *arch.Block { return &f.blk }

func (s *sizes) transformer(b arch.Block) {
	nIn, nOut := b.InSide*b.InSide, b.OutSide*b.OutSide
	s.resid = max(s.resid, b.Out*nOut)
	s.tA = max(s.tA, b.In*nOut)
	s.tB = max(s.tB, b.In*nIn, b.Out*nOut)
	s.qkv = max(s.qkv, 3*b.Attn*nOut)
	s.att = max(s.att, b.Attn*nOut)
	s.hid = max(s.hid, b.Hidden*nOut)
	s.scores = max(s.scores, nOut*nOut)
}

func (f *floatTransformer) forward(n *Net, x, out []float32) {
	b := &f.blk
	e := &n.workers
	nIn, nOut := b.InSide*b.InSide, b.OutSide*b.OutSide
	h := n.tB
	if b.Stride == 2 {
		f.shortcutPool.run(e, b.In, x, n.tA)
		if f.shortcutExpand != nil {
			f.shortcutExpand.run(e, n.tA, out, nOut, false)
		} else {
			copy(out[:b.Out*nOut], n.tA[:b.In*nOut])
		}
		f.norm1.run(e, x, n.tB, nIn) // timm normalises first, then pools
		f.down.run(e, b.In, n.tB, n.tA)
		h = n.tA
	} else {
		f.norm1.run(e, x, n.tB, nIn)
	}
	f.qkv.run(e, h, n.qkv, nOut, false)
	f.attn.run(e, n.qkv, n.att)
	f.proj.run(e, n.att, out, nOut, true)
	f.norm2.run(e, out, n.tB, nOut)
	f.fc1.run(e, n.tB, n.hid, nOut, false)
	f.fc2.run(e, n.hid, out, nOut, true)
}

// floatHead is either norm -> pool -> fc (rw models) or
// pool -> norm -> fc -> tanh -> fc (timm's NormMlpClassifierHead); the
// pool is the mean over pixels, or their maximum for global_pool max.
type floatHead struct {
	norm          normOp
	preW, preB    []float32
	fcW, fcB      []float32
	c, hidden     int
	classes, side int
	pooled        []float32
	normed        []float32
	preLogits     []float32
	logits        []float32
	pooling       channelReduce // MeanOf, or MaxOf for global_pool max
}

func newFloatHead(cfg *arch.Config, w WeightSource) floatHead {
	_, sides := cfg.StageSizes()
	c := cfg.EmbedDim[3]
	h := floatHead{c: c, hidden: cfg.HeadHiddenSize, classes: cfg.NumClasses, side: sides[3],
		fcW: w.Get("head.fc.weight"), fcB: w.Get("head.fc.bias")}
	h.pooled = make([]float32, c)
	h.normed = make([]float32, c)
	h.logits = make([]float32, cfg.NumClasses)
	h.pooling.of = MeanOf
	if cfg.MaxPool() {
		h.pooling.of = MaxOf
	}
	if h.hidden == 0 {
		h.norm = newTransformerNorm(cfg, w, "norm.", c)
	} else {
		h.norm = newTransformerNorm(cfg, w, "head.norm.", c)
		h.preW, h.preB = w.Get("head.pre_logits.fc.weight"), w.Get("head.pre_logits.fc.bias")
		h.preLogits = make([]float32, h.hidden)
	}
	return h
}

func (h *floatHead) forward(n *Net, x []float32) []float32 {
	e := &n.workers
	pixels := h.side * h.side
	feat := h.pooled
	if h.hidden == 0 {
		h.norm.run(e, x, n.tB, pixels)
		h.pool(e, n.tB, pixels)
	} else {
		h.pool(e, x, pixels)
		h.norm.run(e, h.pooled, h.normed, 1)
		Dense(h.preW, h.preB, h.normed, h.preLogits, h.hidden, h.c)
		actTanh.Apply(h.preLogits)
		feat = h.preLogits
	}
	if n.tap != nil {
		n.tap("pre_logits", []int{1, len(feat)}, feat)
	}
	Dense(h.fcW, h.fcB, feat, h.logits, h.classes, len(feat))
	return h.logits
}

// pool reduces x's pixels to h.pooled, by the mean or the maximum.
func (h *floatHead) pool(e *workers, x []float32, pixels int) {
	h.pooling.run(e, h.c, x, h.pooled, pixels)
}

// EnableTiming makes every later Run add the stem's, each block's and the
// head's wall time to LayerTimes.
func (n *Net) EnableTiming() {
	if n.layerTimes == nil {
		n.layerTimes = make([]time.Duration, len(n.blocks)+2)
	}
}

// LayerTimes reports the accumulated time of the stem, every block and the
// head.
func (n *Net) LayerTimes() []engine.LayerTime {
	costs := n.cfg.LayerCosts()
	out := make([]engine.LayerTime, len(costs))
	for i, c := range costs {
		kind := "stem"
		switch {
		case i == len(costs)-1:
			kind = "head"
		case i > 0:
			kind = map[byte]string{arch.BlockConv: "mbconv", arch.BlockTransformer: "transformer"}[n.blocks[i-1].block().Kind]
		}
		out[i] = engine.LayerTime{Name: c.Name, Kind: kind, MACs: c.MACs}
		if n.layerTimes != nil {
			out[i].Time = n.layerTimes[i]
		}
	}
	return out
}
