package arch

import (
	"fmt"
	"strings"
)

// Block describes one block of the network with every width derived from
// the config, so the parameter schema, the engines and `info` agree.
type Block struct {
	Stage, Index int
	Kind         byte // BlockConv or BlockTransformer
	In, Out      int  // channels
	Stride       int  // 1 or 2
	InSide       int  // input feature-map side
	OutSide      int  // output feature-map side

	// MBConv: expansion width and squeeze-excite width.
	Mid, SE int

	// Transformer: attention width, heads, MLP width. Attention runs on
	// an OutSide x OutSide map.
	Attn, Heads, Hidden int
}

// Prefix is the block's state-dict key prefix.
func (b *Block) Prefix() string { return fmt.Sprintf("stages.%d.blocks.%d.", b.Stage, b.Index) }

// Name is a short human name, e.g. "s2.b0 T 128->256".
func (b *Block) Name() string {
	return fmt.Sprintf("s%d.b%d %c %d->%d", b.Stage, b.Index, b.Kind, b.In, b.Out)
}

// makeDivisible is timm's make_divisible(v, 8).
func makeDivisible(v float64, divisor int, roundLimit float64) int {
	n := int(v+float64(divisor)/2) / divisor * divisor
	if n < divisor {
		n = divisor
	}
	if float64(n) < roundLimit*v {
		n += divisor
	}
	return n
}

// Blocks derives every block's shape. The config must be valid.
func (c *Config) Blocks() []Block {
	var out []Block
	side, sizes := c.StageSizes()
	in := c.StemWidth[1]
	for s := range 4 {
		for i, kind := range c.BlockKinds(s) {
			b := Block{Stage: s, Index: i, Kind: kind, In: in, Out: c.EmbedDim[s], Stride: 1, InSide: side, OutSide: sizes[s]}
			if i == 0 {
				b.Stride = 2
			}
			switch kind {
			case BlockConv:
				base := b.In
				if c.Conv.ExpandOutput {
					base = b.Out
				}
				b.Mid = makeDivisible(float64(base)*c.Conv.ExpandRatio, 8, 0.9)
				seBase := b.Mid
				if c.Conv.ExpandOutput {
					seBase = b.Out
				}
				b.SE = int(c.Conv.SERatio * float64(seBase))
				if b.SE == 0 { // timm's SEModule falls back to its own rounding
					b.SE = makeDivisible(float64(b.Mid)/16, 8, 0)
				}
			case BlockTransformer:
				b.Attn = b.In
				if c.Transformer.ExpandFirst {
					b.Attn = b.Out
				}
				b.Heads = b.Attn / c.Transformer.DimHead
				b.Hidden = int(float64(b.Out) * c.Transformer.ExpandRatio)
			}
			out = append(out, b)
			in = b.Out
			side = b.OutSide
		}
	}
	return out
}

// Param is one tensor of a timm state dict.
type Param struct {
	Name  string
	Shape []int
}

func (p Param) String() string { return p.Name + " " + ShapeString(p.Shape) }

// ShapeString formats a shape the way PyTorch prints it: (64, 3, 3, 3).
func ShapeString(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = fmt.Sprint(d)
	}
	if len(shape) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// Numel is the number of elements of a shape.
func Numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

type schema struct{ ps []Param }

func (s *schema) add(name string, shape ...int) { s.ps = append(s.ps, Param{name, shape}) }

func (s *schema) batchNorm(prefix string, c int) {
	for _, k := range []string{"weight", "bias", "running_mean", "running_var"} {
		s.add(prefix+k, c)
	}
}

func (s *schema) transformerNorm(cfg *Config, prefix string, c int) {
	if cfg.Transformer.Norm == "batchnorm2d" {
		s.batchNorm(prefix, c)
		return
	}
	s.add(prefix+"weight", c)
	s.add(prefix+"bias", c)
}

// RelPosTableLen is the number of relative offsets on a side x side map.
func RelPosTableLen(side int) int { return (2*side - 1) * (2*side - 1) }

// Params lists every float tensor of the timm state dict for this config,
// in the order timm's state_dict() yields them. The config must be valid.
func (c *Config) Params() []Param {
	var s schema
	s.add("stem.conv1.weight", c.StemWidth[0], c.InChans, 3, 3)
	if c.StemBias {
		s.add("stem.conv1.bias", c.StemWidth[0])
	}
	s.batchNorm("stem.norm1.", c.StemWidth[0])
	s.add("stem.conv2.weight", c.StemWidth[1], c.StemWidth[0], 3, 3)
	if c.StemBias {
		s.add("stem.conv2.bias", c.StemWidth[1])
	}
	for _, b := range c.Blocks() {
		p := b.Prefix()
		switch b.Kind {
		case BlockConv:
			if b.Stride == 2 && b.In != b.Out {
				s.add(p+"shortcut.expand.weight", b.Out, b.In, 1, 1)
				if c.Conv.OutputBias {
					s.add(p+"shortcut.expand.bias", b.Out)
				}
			}
			s.batchNorm(p+"pre_norm.", b.In)
			s.add(p+"conv1_1x1.weight", b.Mid, b.In, 1, 1)
			s.batchNorm(p+"norm1.", b.Mid)
			s.add(p+"conv2_kxk.weight", b.Mid, 1, 3, 3)
			se := p + "se."
			if c.Conv.AttnEarly {
				se = p + "se_early."
				c.seParams(&s, se, b)
				s.batchNorm(p+"norm2.", b.Mid)
			} else {
				s.batchNorm(p+"norm2.", b.Mid)
				c.seParams(&s, se, b)
			}
			s.add(p+"conv3_1x1.weight", b.Out, b.Mid, 1, 1)
			if c.Conv.OutputBias {
				s.add(p+"conv3_1x1.bias", b.Out)
			}
		case BlockTransformer:
			if b.Stride == 2 {
				if b.In != b.Out {
					s.add(p+"shortcut.expand.weight", b.Out, b.In, 1, 1)
					if c.Transformer.ShortcutBias {
						s.add(p+"shortcut.expand.bias", b.Out)
					}
				}
				s.transformerNorm(c, p+"norm1.norm.", b.In)
			} else {
				s.transformerNorm(c, p+"norm1.", b.In)
			}
			s.add(p+"attn.qkv.weight", 3*b.Attn, b.In, 1, 1)
			s.add(p+"attn.qkv.bias", 3*b.Attn)
			if c.Transformer.RelPos == "mlp" {
				s.add(p+"attn.rel_pos.mlp.fc1.weight", c.Transformer.RelPosDim, 2)
				s.add(p+"attn.rel_pos.mlp.fc1.bias", c.Transformer.RelPosDim)
				s.add(p+"attn.rel_pos.mlp.fc2.weight", b.Heads, c.Transformer.RelPosDim)
				s.add(p+"attn.rel_pos.mlp.fc2.bias", b.Heads)
			} else {
				s.add(p+"attn.rel_pos.relative_position_bias_table", RelPosTableLen(b.OutSide), b.Heads)
			}
			s.add(p+"attn.proj.weight", b.Out, b.Attn, 1, 1)
			s.add(p+"attn.proj.bias", b.Out)
			if c.Transformer.LayerScale {
				s.add(p+"ls1.gamma", b.Out)
			}
			s.transformerNorm(c, p+"norm2.", b.Out)
			s.add(p+"mlp.fc1.weight", b.Hidden, b.Out, 1, 1)
			s.add(p+"mlp.fc1.bias", b.Hidden)
			s.add(p+"mlp.fc2.weight", b.Out, b.Hidden, 1, 1)
			s.add(p+"mlp.fc2.bias", b.Out)
			if c.Transformer.LayerScale {
				s.add(p+"ls2.gamma", b.Out)
			}
		}
	}
	feat := c.EmbedDim[3]
	if c.HeadHiddenSize == 0 {
		s.transformerNorm(c, "norm.", feat)
		s.add("head.fc.weight", c.NumClasses, feat)
		s.add("head.fc.bias", c.NumClasses)
	} else {
		s.transformerNorm(c, "head.norm.", feat)
		s.add("head.pre_logits.fc.weight", c.HeadHiddenSize, feat)
		s.add("head.pre_logits.fc.bias", c.HeadHiddenSize)
		s.add("head.fc.weight", c.NumClasses, c.HeadHiddenSize)
		s.add("head.fc.bias", c.NumClasses)
	}
	return s.ps
}

func (c *Config) seParams(s *schema, p string, b Block) {
	s.add(p+"fc1.weight", b.SE, b.Mid, 1, 1)
	s.add(p+"fc1.bias", b.SE)
	s.add(p+"fc2.weight", b.Mid, b.SE, 1, 1)
	s.add(p+"fc2.bias", b.Mid)
}

// StageNames are timm's module names of the four stages (the taps of the
// float reference and the cost table use them).
var StageNames = [4]string{"stages.0", "stages.1", "stages.2", "stages.3"}
