package graph

import (
	"fmt"

	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/float"
)

// The graph is the network spelt out as simple operations over NHWC
// tensors, one tensor per value the int8 engine stores: every convolution's
// output before its activation, every activation, every residual sum. The
// quantizer runs it in float32 to calibrate a scale for each tensor and to
// measure the error each one introduces; the int8 engine runs the same
// operations on int8 tensors. Weights are folded as in the float engine
// (BatchNorm into convolutions, the attention scale into q, layer scale
// into the projections).

// TensorID names a tensor of a Graph.
type TensorID int

// GraphTensor is one activation: Pixels x Channels, NHWC (a vector has one
// pixel).
type GraphTensor struct {
	Name     string `json:"name"`
	Side     int    `json:"side"` // Pixels = Side*Side
	Channels int    `json:"channels"`
}

// Pixels is the number of positions of the tensor.
func (t *GraphTensor) Pixels() int { return t.Side * t.Side }

// OpKind is what an operation computes.
type OpKind string

// The operations of a CoAtNet graph.
const (
	OpConv      OpKind = "conv"      // KxK convolution (K 1 or 3, padding K/2), folded bias
	OpDepthwise OpKind = "depthwise" // 3x3 depthwise convolution, padding 1, folded bias
	OpAct       OpKind = "act"       // elementwise activation (a lookup table in int8)
	OpAffine    OpKind = "affine"    // per-channel x*W+B (a BatchNorm that could not be folded)
	OpPool      OpKind = "pool"      // avg2, max (3x3/2 pad 1) or sub (stride-2 subsampling)
	OpMean      OpKind = "mean"      // average over pixels: [P][C] -> [1][C]
	OpMaxPixels OpKind = "maxpixels" // max over pixels: [P][C] -> [1][C] (global_pool max)
	OpScale     OpKind = "scale"     // In[0][p][c] * In[1][0][c] (squeeze-excite gate)
	OpAdd       OpKind = "add"       // residual sum
	OpLayerNorm OpKind = "layernorm" // over channels at each pixel
	OpAttention OpKind = "attention" // relative multi-head attention of q, k, v tensors
	OpLogits    OpKind = "logits"    // final linear layer to float logits
)

// OpKinds lists every operation kind, in the order above: the one list that
// each layer's registry (the float graph runner, the int8 engine, the
// quantizer) is tested against, so a kind added here and forgotten in a
// layer fails a test.
func OpKinds() []OpKind {
	return []OpKind{OpConv, OpDepthwise, OpAct, OpAffine, OpPool, OpMean, OpMaxPixels, OpScale, OpAdd, OpLayerNorm, OpAttention, OpLogits}
}

// Op is one operation. Float parameters are folded and laid out for NHWC:
// conv weights are [M][K][K][Cin], depthwise weights [9][C].
type Op struct {
	Name   string
	Kind   OpKind
	In     []TensorID
	Out    TensorID
	Kernel int    // conv: 1 or 3
	Stride int    // conv, depthwise: 1 or 2
	Act    string // act: silu, gelu, relu, sigmoid, tanh
	Pool   string // pool: avg2, max, sub
	W, B   []float32
	Eps    float64 // layernorm

	// Attention: Heads heads of DimHead over inputs q (already scaled), k
	// and v, each [pixels][Heads*DimHead]; RelTable is Heads x (2*side-1)^2
	// in timm's (query - key) offset order.
	Heads, DimHead int
	Form           arch.AttentionForm
	RelTable       []float32
}

// Graph is a CoAtNet as simple operations, in execution order. Tensor 0 is
// the input; the last operation produces the logits.
type Graph struct {
	Config  arch.Config
	Tensors []GraphTensor
	Ops     []Op
}

// graphBuilder adds tensors and operations.
type graphBuilder struct {
	g   *Graph
	w   float.WeightSource
	cfg *arch.Config
}

func (b *graphBuilder) tensor(name string, side, channels int) TensorID {
	b.g.Tensors = append(b.g.Tensors, GraphTensor{Name: name, Side: side, Channels: channels})
	return TensorID(len(b.g.Tensors) - 1)
}

func (b *graphBuilder) op(o Op, name string, side, channels int) TensorID {
	o.Name = name
	o.Out = b.tensor(name, side, channels)
	b.g.Ops = append(b.g.Ops, o)
	return o.Out
}

func (b *graphBuilder) shape(t TensorID) (side, channels int) {
	tt := b.g.Tensors[t]
	return tt.Side, tt.Channels
}

// conv adds a KxK convolution from PyTorch-layout weights (M, Cin, K, K).
func (b *graphBuilder) conv(name string, in TensorID, w, bias []float32, m, kernel, stride int) TensorID {
	side, cin := b.shape(in)
	nw := make([]float32, len(w))
	kk := kernel * kernel
	for o := 0; o < m; o++ {
		for c := 0; c < cin; c++ {
			for t := 0; t < kk; t++ {
				nw[o*kk*cin+t*cin+c] = w[(o*cin+c)*kk+t]
			}
		}
	}
	if bias == nil {
		bias = make([]float32, m)
	}
	out := side
	if stride == 2 {
		out = (side-1)/2 + 1
	}
	return b.op(Op{Kind: OpConv, In: []TensorID{in}, W: nw, B: bias, Kernel: kernel, Stride: stride}, name, out, m)
}

// depthwise adds a 3x3 depthwise convolution from (C, 1, 3, 3) weights.
func (b *graphBuilder) depthwise(name string, in TensorID, w, bias []float32, stride int) TensorID {
	side, c := b.shape(in)
	nw := make([]float32, len(w))
	for ch := 0; ch < c; ch++ {
		for t := 0; t < 9; t++ {
			nw[t*c+ch] = w[ch*9+t]
		}
	}
	if bias == nil {
		bias = make([]float32, c)
	}
	out := side
	if stride == 2 {
		out = (side-1)/2 + 1
	}
	return b.op(Op{Kind: OpDepthwise, In: []TensorID{in}, W: nw, B: bias, Stride: stride}, name, out, c)
}

func (b *graphBuilder) act(name string, in TensorID, act string) TensorID {
	side, c := b.shape(in)
	return b.op(Op{Kind: OpAct, In: []TensorID{in}, Act: act}, name, side, c)
}

func (b *graphBuilder) pool(name string, in TensorID, kind string) TensorID {
	side, c := b.shape(in)
	return b.op(Op{Kind: OpPool, In: []TensorID{in}, Pool: kind}, name, (side-1)/2+1, c)
}

func (b *graphBuilder) add(name string, x, y TensorID) TensorID {
	side, c := b.shape(x)
	return b.op(Op{Kind: OpAdd, In: []TensorID{x, y}}, name, side, c)
}

// norm adds the transformer norm at prefix: LayerNorm2d, or an inference
// BatchNorm for coatnet_bn_0_rw.
func (b *graphBuilder) norm(name, prefix string, in TensorID) TensorID {
	side, c := b.shape(in)
	if b.cfg.Transformer.Norm == "batchnorm2d" {
		s, t := b.w.BatchNorm(prefix, b.cfg.Transformer.NormEps)
		return b.op(Op{Kind: OpAffine, In: []TensorID{in}, W: s, B: t}, name, side, c)
	}
	return b.op(Op{Kind: OpLayerNorm, In: []TensorID{in}, W: b.w.Get(prefix + "weight"), B: b.w.Get(prefix + "bias"),
		Eps: b.cfg.Transformer.NormEps}, name, side, c)
}

// New builds the graph of a configuration from timm-named weights
// (which must match cfg.Params()).
func New(cfg arch.Config, weights map[string]arch.Tensor) (*Graph, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid config: %w", err)
	}
	if err := arch.CheckWeights(&cfg, weights); err != nil {
		return nil, err
	}
	g := &Graph{Config: cfg}
	b := &graphBuilder{g: g, w: float.WeightSource(weights), cfg: &cfg}
	w := b.w
	x := b.tensor("input", cfg.ImgSize, cfg.InChans)

	act := cfg.Conv.Act
	scale, shift := w.BatchNorm("stem.norm1.", cfg.Conv.NormEps)
	w1, b1 := float.FoldOutput(w.Get("stem.conv1.weight"), w.Opt("stem.conv1.bias"), scale, shift, cfg.StemWidth[0])
	x = b.conv("stem.conv1", x, w1, b1, cfg.StemWidth[0], 3, 2)
	x = b.act("stem.norm1.act", x, act)
	x = b.conv("stem", x, w.Get("stem.conv2.weight"), w.Opt("stem.conv2.bias"), cfg.StemWidth[1], 3, 1)

	for _, blk := range cfg.Blocks() {
		var err error
		if blk.Kind == arch.BlockConv {
			x = b.mbconv(blk, x)
		} else if x, err = b.transformer(blk, x); err != nil {
			return nil, err
		}
	}

	c := cfg.EmbedDim[3]
	pool := OpMean
	if cfg.MaxPool() {
		pool = OpMaxPixels
	}
	if cfg.HeadHiddenSize == 0 {
		x = b.norm("norm", "norm.", x)
		x = b.op(Op{Kind: pool, In: []TensorID{x}}, "head.global_pool", 1, c)
	} else {
		x = b.op(Op{Kind: pool, In: []TensorID{x}}, "head.global_pool", 1, c)
		x = b.norm("head.norm", "head.norm.", x)
		wp := w.Get("head.pre_logits.fc.weight")
		x = b.conv("head.pre_logits.fc", x, wp, w.Get("head.pre_logits.fc.bias"), cfg.HeadHiddenSize, 1, 1)
		x = b.act("head.pre_logits.act", x, "tanh")
	}
	b.op(Op{Kind: OpLogits, In: []TensorID{x}, W: w.Get("head.fc.weight"), B: w.Get("head.fc.bias")}, "logits", 1, cfg.NumClasses)
	return g, nil
}

func (b *graphBuilder) mbconv(blk arch.Block, x TensorID) TensorID {
	cfg, w := b.cfg, b.w
	p := blk.Prefix()
	name := p[:len(p)-1]
	act := cfg.Conv.Act
	sc := x
	if blk.Stride == 2 {
		sc = b.pool(p+"shortcut.pool", x, cfg.Conv.PoolType)
		if blk.In != blk.Out {
			sc = b.conv(p+"shortcut.expand", sc, w.Get(p+"shortcut.expand.weight"), w.Opt(p+"shortcut.expand.bias"), blk.Out, 1, 1)
		}
	}
	h := x
	preScale, preShift := w.BatchNorm(p+"pre_norm.", cfg.Conv.NormEps)
	w1, b1 := w.Get(p+"conv1_1x1.weight"), []float32(nil)
	if cfg.Conv.PreNormAct {
		h = b.op(Op{Kind: OpAffine, In: []TensorID{h}, W: preScale, B: preShift}, p+"pre_norm", blk.InSide, blk.In)
		h = b.act(p+"pre_norm.act", h, act)
	} else {
		w1, b1 = float.FoldInput(w1, nil, preScale, preShift, blk.Mid)
	}
	if blk.Stride == 2 {
		switch cfg.Conv.StrideMode {
		case "pool":
			h = b.pool(p+"down", h, "avg2")
		case "1x1":
			h = b.pool(p+"down", h, "sub")
		}
	}
	s1, t1 := w.BatchNorm(p+"norm1.", cfg.Conv.NormEps)
	w1, b1 = float.FoldOutput(w1, b1, s1, t1, blk.Mid)
	h = b.conv(p+"conv1_1x1", h, w1, b1, blk.Mid, 1, 1)
	h = b.act(p+"norm1.act", h, act)
	dwStride := 1
	if blk.Stride == 2 && cfg.Conv.StrideMode == "dw" {
		dwStride = 2
	}
	s2, t2 := w.BatchNorm(p+"norm2.", cfg.Conv.NormEps)
	dw := w.Get(p + "conv2_kxk.weight")
	if cfg.Conv.AttnEarly {
		h = b.depthwise(p+"conv2_kxk", h, dw, nil, dwStride)
		h = b.squeezeExcite(p+"se_early.", h, blk)
		h = b.op(Op{Kind: OpAffine, In: []TensorID{h}, W: s2, B: t2}, p+"norm2", blk.OutSide, blk.Mid)
		h = b.act(p+"norm2.act", h, act)
	} else {
		fw, fb := float.FoldOutput(dw, nil, s2, t2, blk.Mid)
		h = b.depthwise(p+"conv2_kxk", h, fw, fb, dwStride)
		h = b.act(p+"norm2.act", h, act)
		h = b.squeezeExcite(p+"se.", h, blk)
	}
	h = b.conv(p+"conv3_1x1", h, w.Get(p+"conv3_1x1.weight"), w.Opt(p+"conv3_1x1.bias"), blk.Out, 1, 1)
	return b.add(name, sc, h)
}

func (b *graphBuilder) squeezeExcite(p string, h TensorID, blk arch.Block) TensorID {
	side, c := b.shape(h)
	s := b.op(Op{Kind: OpMean, In: []TensorID{h}}, p+"pool", 1, c)
	s = b.conv(p+"fc1", s, b.w.Get(p+"fc1.weight"), b.w.Get(p+"fc1.bias"), blk.SE, 1, 1)
	s = b.act(p+"act", s, b.cfg.Conv.SEAct)
	s = b.conv(p+"fc2", s, b.w.Get(p+"fc2.weight"), b.w.Get(p+"fc2.bias"), blk.Mid, 1, 1)
	s = b.act(p+"gate", s, "sigmoid")
	return b.op(Op{Kind: OpScale, In: []TensorID{h, s}}, p+"out", side, c)
}

func (b *graphBuilder) transformer(blk arch.Block, x TensorID) (TensorID, error) {
	cfg, w := b.cfg, b.w
	p := blk.Prefix()
	name := p[:len(p)-1]
	sc := x
	var h TensorID
	if blk.Stride == 2 {
		sc = b.pool(p+"shortcut.pool", x, cfg.Transformer.PoolType)
		if blk.In != blk.Out {
			sc = b.conv(p+"shortcut.expand", sc, w.Get(p+"shortcut.expand.weight"), w.Opt(p+"shortcut.expand.bias"), blk.Out, 1, 1)
		}
		h = b.norm(p+"norm1.norm", p+"norm1.norm.", x)
		h = b.pool(p+"norm1.down", h, cfg.Transformer.PoolType)
	} else {
		h = b.norm(p+"norm1", p+"norm1.", x)
	}
	d := cfg.Transformer.DimHead
	qkvW, qkvB := float.ScaledQKV(cfg, w, p, blk)
	// q, k and v become separate tensors (each with its own symmetric int8
	// scale): rows h*3d + role*d + e of timm's head-interleaved qkv.
	var qkv [3]TensorID
	for role, rname := range []string{"q", "k", "v"} {
		rw := make([]float32, 0, blk.Attn*blk.In)
		rb := make([]float32, 0, blk.Attn)
		for hd := 0; hd < blk.Heads; hd++ {
			for e := 0; e < d; e++ {
				r := hd*3*d + role*d + e
				rw = append(rw, qkvW[r*blk.In:(r+1)*blk.In]...)
				rb = append(rb, qkvB[r])
			}
		}
		qkv[role] = b.conv(p+"attn."+rname, h, rw, rb, blk.Attn, 1, 1)
	}
	table, err := float.RelPosTable(cfg, w, p, blk)
	if err != nil {
		return 0, err
	}
	a := b.op(Op{Kind: OpAttention, In: qkv[:], Heads: blk.Heads, DimHead: d, Form: cfg.Attention, RelTable: table},
		p+"attn", blk.OutSide, blk.Attn)
	projW, projB := w.Get(p+"attn.proj.weight"), w.Get(p+"attn.proj.bias")
	fc2W, fc2B := w.Get(p+"mlp.fc2.weight"), w.Get(p+"mlp.fc2.bias")
	if cfg.Transformer.LayerScale {
		projW, projB = float.FoldOutput(projW, projB, w.Get(p+"ls1.gamma"), nil, blk.Out)
		fc2W, fc2B = float.FoldOutput(fc2W, fc2B, w.Get(p+"ls2.gamma"), nil, blk.Out)
	}
	a = b.conv(p+"attn.proj", a, projW, projB, blk.Out, 1, 1)
	x = b.add(p+"add1", sc, a)
	h = b.norm(p+"norm2", p+"norm2.", x)
	h = b.conv(p+"mlp.fc1", h, w.Get(p+"mlp.fc1.weight"), w.Get(p+"mlp.fc1.bias"), blk.Hidden, 1, 1)
	h = b.act(p+"mlp.act", h, "gelu")
	h = b.conv(p+"mlp.fc2", h, fc2W, fc2B, blk.Out, 1, 1)
	return b.add(name, x, h), nil
}
