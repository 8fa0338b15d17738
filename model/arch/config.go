// Package arch is the CoAtNet architecture as timm defines it: the
// configurations of the whole coatnet family plus custom ones, the blocks
// and parameters (the checkpoint schema: names and shapes of every weight)
// each one needs, its MAC and parameter counts, and the import of a
// checkpoint's state dict into those weights. It computes nothing.
package arch

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// AttentionForm says where the static relative-position kernel w[i-j] enters
// the attention.
type AttentionForm string

const (
	// PreSoftmax adds the kernel to the logits before the softmax. It is
	// what timm and every published checkpoint use.
	PreSoftmax AttentionForm = "pre-softmax"
	// PostSoftmax adds the kernel to the attention weights after the
	// softmax (the patent's second form); rows then no longer sum to 1.
	PostSoftmax AttentionForm = "post-softmax"
)

// Block kinds inside a stage.
const (
	BlockConv        = 'C' // MBConv
	BlockTransformer = 'T' // transformer block with relative attention
)

// Config is a complete CoAtNet architecture. Field names follow timm's
// MaxxVitCfg, MaxxVitConvCfg and MaxxVitTransformerCfg so that a timm
// config reads across directly.
type Config struct {
	// Arch is the timm model name the config was built from, or "custom".
	Arch string `json:"arch"`
	// ImgSize is the square input size; a multiple of 32. The
	// relative-position tables are sized for it.
	ImgSize    int `json:"img_size"`
	InChans    int `json:"in_chans"`
	NumClasses int `json:"num_classes"`
	// StemWidth is the output width of the two stem convolutions.
	StemWidth [2]int `json:"stem_width"`
	StemBias  bool   `json:"stem_bias"`
	// EmbedDim and Depths give each stage's width and number of blocks.
	EmbedDim [4]int `json:"embed_dim"`
	Depths   [4]int `json:"depths"`
	// BlockTypes is one pattern per stage over the letters C and T. A
	// pattern shorter than the depth repeats its last letter, as timm's
	// extend_tuple does: "CT" with depth 4 is C,T,T,T.
	BlockTypes [4]string `json:"block_types"`
	// HeadHiddenSize selects the head: 0 is norm -> pool -> fc (rw
	// models); otherwise pool -> norm -> fc(hidden) -> tanh -> fc.
	HeadHiddenSize int               `json:"head_hidden_size"`
	Conv           ConvConfig        `json:"conv"`
	Transformer    TransformerConfig `json:"transformer"`
	// Attention is where the relative-position kernel is added.
	Attention AttentionForm `json:"attention"`
	// GlobalPool is timm's global_pool, the head's pooling over pixels:
	// avg (the default, also when empty) or max. Empty is left out of
	// files, so those of avg models stay byte for byte as they were.
	GlobalPool string `json:"global_pool,omitempty"`
}

// ConvConfig configures the stem and the MBConv blocks.
type ConvConfig struct {
	// Act is the activation of the stem and MBConv blocks: silu or gelu.
	Act string `json:"act"`
	// PreNormAct applies Act after the block's pre-norm BatchNorm.
	PreNormAct bool `json:"pre_norm_act"`
	// ExpandOutput computes the expansion width from the output channels
	// (paper-like) rather than the input channels (rw models).
	ExpandOutput bool    `json:"expand_output"`
	ExpandRatio  float64 `json:"expand_ratio"`
	// OutputBias gives conv3_1x1 and the shortcut projection a bias.
	OutputBias bool `json:"output_bias"`
	// StrideMode is where a stride-2 block downsamples: pool (avg 2x2
	// before conv1), 1x1 (in conv1) or dw (in the depthwise conv).
	StrideMode string `json:"stride_mode"`
	// PoolType is the shortcut pooling: avg2 or max (3x3, stride 2).
	PoolType string `json:"pool_type"`
	// AttnEarly puts squeeze-excite between conv2 and norm2 instead of
	// after norm2.
	AttnEarly bool    `json:"attn_early"`
	SEAct     string  `json:"se_act"`
	SERatio   float64 `json:"se_ratio"`
	NormEps   float64 `json:"norm_eps"`
}

// TransformerConfig configures the transformer blocks, the final norm and
// the head norm.
type TransformerConfig struct {
	DimHead int `json:"dim_head"`
	// ExpandFirst widens inside qkv (paper-like) rather than in proj.
	ExpandFirst  bool    `json:"expand_first"`
	ExpandRatio  float64 `json:"expand_ratio"`
	ShortcutBias bool    `json:"shortcut_bias"`
	// PoolType is the downsampling pool of the first block: avg2 or max.
	PoolType string `json:"pool_type"`
	// RelPos is bias (a learned table) or mlp (a table computed once at
	// load from timm's RelPosMlp in 'cr' mode).
	RelPos    string `json:"rel_pos"`
	RelPosDim int    `json:"rel_pos_dim"`
	// LayerScale multiplies each branch by a learned per-channel gamma.
	LayerScale bool `json:"layer_scale"`
	// Norm is layernorm2d, or batchnorm2d for coatnet_bn_0_rw.
	Norm    string  `json:"norm"`
	NormEps float64 `json:"norm_eps"`
}

// base returns timm's dataclass defaults (the paper-like configuration).
func base() Config {
	return Config{
		ImgSize:    224,
		InChans:    3,
		NumClasses: 1000,
		BlockTypes: [4]string{"C", "C", "T", "T"},
		Attention:  PreSoftmax,
		Conv: ConvConfig{
			Act: "gelu", ExpandOutput: true, ExpandRatio: 4, OutputBias: true,
			StrideMode: "dw", PoolType: "avg2", SEAct: "silu", SERatio: 0.25, NormEps: 1e-5,
		},
		Transformer: TransformerConfig{
			DimHead: 32, ExpandFirst: true, ExpandRatio: 4, ShortcutBias: true,
			PoolType: "avg2", RelPos: "bias", RelPosDim: 512, Norm: "layernorm2d", NormEps: 1e-6,
		},
	}
}

// rwMax mirrors timm's _rw_max_cfg as the CoAtNet configs call it.
func rwMax(c *Config, strideMode string, relPos string, relPosDim int) {
	c.Conv.StrideMode = strideMode
	c.Conv.ExpandOutput = false
	c.Conv.OutputBias = true
	c.Conv.Act = "silu"
	c.Transformer.ExpandFirst = false
	c.Transformer.RelPos = relPos
	c.Transformer.RelPosDim = relPosDim
}

// rwCoatOpts are the arguments of timm's _rw_coat_cfg.
type rwCoatOpts struct {
	strideMode, poolType, seAct, norm, relPos string
	attnEarly, noShortcutBias, layerScale     bool
	relPosDim                                 int
}

func rwCoat(c *Config, o rwCoatOpts) {
	c.Conv.StrideMode = "pool"
	if o.strideMode != "" {
		c.Conv.StrideMode = o.strideMode
	}
	pool := "avg2"
	if o.poolType != "" {
		pool = o.poolType
	}
	c.Conv.PoolType = pool
	c.Conv.PreNormAct = true
	c.Conv.ExpandOutput = false
	c.Conv.OutputBias = false
	c.Conv.AttnEarly = o.attnEarly
	c.Conv.SEAct = "relu"
	if o.seAct != "" {
		c.Conv.SEAct = o.seAct
	}
	c.Conv.Act = "silu"
	c.Transformer.ExpandFirst = false
	c.Transformer.ShortcutBias = !o.noShortcutBias
	c.Transformer.PoolType = pool
	c.Transformer.LayerScale = o.layerScale
	if o.norm != "" {
		c.Transformer.Norm = o.norm
	}
	c.Transformer.RelPos = "bias"
	if o.relPos != "" {
		c.Transformer.RelPos = o.relPos
	}
	c.Transformer.RelPosDim = 512
	if o.relPosDim != 0 {
		c.Transformer.RelPosDim = o.relPosDim
	}
}

func dims(stem0, stem1 int, embed [4]int, depths [4]int) Config {
	c := base()
	c.StemWidth = [2]int{stem0, stem1}
	c.EmbedDim = embed
	c.Depths = depths
	return c
}

var (
	widthsNano = [4]int{64, 128, 256, 512}
	widths0    = [4]int{96, 192, 384, 768}
	widths2    = [4]int{128, 256, 512, 1024}
	widths3    = [4]int{192, 384, 768, 1536}
)

// timmConfigs are timm's model_cfgs for every CoAtNet (coatnext, which uses
// ConvNeXt blocks, is out of scope).
var timmConfigs = map[string]func() Config{
	"coatnet_pico_rw": func() Config {
		c := dims(32, 64, widthsNano, [4]int{2, 3, 5, 2})
		rwMax(&c, "dw", "bias", 512)
		return c
	},
	"coatnet_nano_rw": func() Config {
		c := dims(32, 64, widthsNano, [4]int{3, 4, 6, 3})
		rwMax(&c, "pool", "bias", 512)
		return c
	},
	"coatnet_0_rw": func() Config {
		c := dims(32, 64, widths0, [4]int{2, 3, 7, 2})
		rwCoat(&c, rwCoatOpts{attnEarly: true, noShortcutBias: true})
		return c
	},
	"coatnet_1_rw": func() Config {
		c := dims(32, 64, widths0, [4]int{2, 6, 14, 2})
		rwCoat(&c, rwCoatOpts{strideMode: "dw", attnEarly: true, noShortcutBias: true})
		return c
	},
	"coatnet_2_rw": func() Config {
		c := dims(64, 128, widths2, [4]int{2, 6, 14, 2})
		rwCoat(&c, rwCoatOpts{strideMode: "dw", seAct: "silu"})
		return c
	},
	"coatnet_3_rw": func() Config {
		c := dims(96, 192, widths3, [4]int{2, 6, 14, 2})
		rwCoat(&c, rwCoatOpts{strideMode: "dw", seAct: "silu", layerScale: true})
		return c
	},
	"coatnet_bn_0_rw": func() Config {
		c := dims(32, 64, widths0, [4]int{2, 3, 7, 2})
		rwCoat(&c, rwCoatOpts{strideMode: "dw", attnEarly: true, noShortcutBias: true, norm: "batchnorm2d"})
		return c
	},
	"coatnet_rmlp_nano_rw": func() Config {
		c := dims(32, 64, widthsNano, [4]int{3, 4, 6, 3})
		rwMax(&c, "dw", "mlp", 384)
		return c
	},
	"coatnet_rmlp_0_rw": func() Config {
		c := dims(32, 64, widths0, [4]int{2, 3, 7, 2})
		rwCoat(&c, rwCoatOpts{strideMode: "dw", relPos: "mlp"})
		return c
	},
	"coatnet_rmlp_1_rw": func() Config {
		c := dims(32, 64, widths0, [4]int{2, 6, 14, 2})
		rwCoat(&c, rwCoatOpts{poolType: "max", attnEarly: true, noShortcutBias: true, relPos: "mlp", relPosDim: 384})
		return c
	},
	"coatnet_rmlp_1_rw2": func() Config {
		c := dims(32, 64, widths0, [4]int{2, 6, 14, 2})
		rwCoat(&c, rwCoatOpts{strideMode: "dw", relPos: "mlp", relPosDim: 512})
		return c
	},
	"coatnet_rmlp_2_rw": func() Config {
		c := dims(64, 128, widths2, [4]int{2, 6, 14, 2})
		rwCoat(&c, rwCoatOpts{strideMode: "dw", seAct: "silu", layerScale: true, relPos: "mlp"})
		return c
	},
	"coatnet_rmlp_3_rw": func() Config {
		c := dims(96, 192, widths3, [4]int{2, 6, 14, 2})
		rwCoat(&c, rwCoatOpts{strideMode: "dw", seAct: "silu", layerScale: true, relPos: "mlp"})
		return c
	},
	"coatnet_nano_cc": func() Config {
		c := dims(32, 64, widthsNano, [4]int{3, 4, 6, 3})
		c.BlockTypes = [4]string{"C", "C", "CT", "CT"}
		rwCoat(&c, rwCoatOpts{})
		return c
	},
	"coatnet_0": func() Config {
		c := dims(64, 64, widths0, [4]int{2, 3, 5, 2})
		c.HeadHiddenSize = 768
		return c
	},
	"coatnet_1": func() Config {
		c := dims(64, 64, widths0, [4]int{2, 6, 14, 2})
		c.HeadHiddenSize = 768
		return c
	},
	"coatnet_2": func() Config {
		c := dims(128, 128, widths2, [4]int{2, 6, 14, 2})
		c.HeadHiddenSize = 1024
		return c
	},
	"coatnet_3": func() Config {
		c := dims(192, 192, widths3, [4]int{2, 6, 14, 2})
		c.HeadHiddenSize = 1536
		return c
	},
	"coatnet_4": func() Config {
		c := dims(192, 192, widths3, [4]int{2, 12, 28, 2})
		c.HeadHiddenSize = 1536
		return c
	},
	"coatnet_5": func() Config {
		c := dims(192, 192, [4]int{256, 512, 1280, 2048}, [4]int{2, 12, 28, 2})
		c.HeadHiddenSize = 2048
		return c
	},
}

// timmModels are timm's registered CoAtNet model names: the config they
// build and the input size and crop of their pretrained_cfg.
var timmModels = map[string]struct {
	cfg     string
	size    int
	cropPct float64
}{
	"coatnet_pico_rw_224":      {"coatnet_pico_rw", 224, 0.95},
	"coatnet_nano_rw_224":      {"coatnet_nano_rw", 224, 0.9},
	"coatnet_0_rw_224":         {"coatnet_0_rw", 224, 0.95},
	"coatnet_1_rw_224":         {"coatnet_1_rw", 224, 0.95},
	"coatnet_2_rw_224":         {"coatnet_2_rw", 224, 0.95},
	"coatnet_3_rw_224":         {"coatnet_3_rw", 224, 0.95},
	"coatnet_bn_0_rw_224":      {"coatnet_bn_0_rw", 224, 0.95},
	"coatnet_rmlp_nano_rw_224": {"coatnet_rmlp_nano_rw", 224, 0.9},
	"coatnet_rmlp_0_rw_224":    {"coatnet_rmlp_0_rw", 224, 0.95},
	"coatnet_rmlp_1_rw_224":    {"coatnet_rmlp_1_rw", 224, 0.95},
	"coatnet_rmlp_1_rw2_224":   {"coatnet_rmlp_1_rw2", 224, 0.95},
	"coatnet_rmlp_2_rw_224":    {"coatnet_rmlp_2_rw", 224, 0.95},
	"coatnet_rmlp_2_rw_384":    {"coatnet_rmlp_2_rw", 384, 1.0},
	"coatnet_rmlp_3_rw_224":    {"coatnet_rmlp_3_rw", 224, 0.95},
	"coatnet_nano_cc_224":      {"coatnet_nano_cc", 224, 0.95},
	"coatnet_0_224":            {"coatnet_0", 224, 0.95},
	"coatnet_1_224":            {"coatnet_1", 224, 0.95},
	"coatnet_2_224":            {"coatnet_2", 224, 0.95},
	"coatnet_3_224":            {"coatnet_3", 224, 0.95},
	"coatnet_4_224":            {"coatnet_4", 224, 0.95},
	"coatnet_5_224":            {"coatnet_5", 224, 0.95},
}

// ErrUnknownArch is returned for a name that is neither a timm CoAtNet
// model nor a timm CoAtNet config.
var ErrUnknownArch = errors.New("unknown architecture")

// Arch returns the configuration of a timm CoAtNet, by registered model
// name (coatnet_nano_rw_224) or by config name (coatnet_nano_rw, at 224).
// The result is a fresh copy the caller may change (image size, classes,
// widths) before validating it.
func Arch(name string) (Config, error) {
	cfgName, size := name, 224
	if m, ok := timmModels[name]; ok {
		cfgName, size = m.cfg, m.size
	}
	mk, ok := timmConfigs[cfgName]
	if !ok {
		return Config{}, fmt.Errorf("%w %q (known: %s)", ErrUnknownArch, name, strings.Join(ArchNames(), ", "))
	}
	c := mk()
	c.Arch = name
	c.ImgSize = size
	return c, nil
}

// ArchCropPct is the crop fraction of the named model's pretrained_cfg
// (0.95 unless timm says otherwise).
func ArchCropPct(name string) float64 {
	if m, ok := timmModels[name]; ok {
		return m.cropPct
	}
	for _, m := range timmModels {
		if m.cfg == name && m.size == 224 {
			return m.cropPct
		}
	}
	return 0.95
}

// ArchNames lists timm's registered CoAtNet model names, sorted.
func ArchNames() []string {
	names := make([]string, 0, len(timmModels))
	for n := range timmModels {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// MaxPool reports whether the head pools by the maximum over pixels
// (global_pool max) rather than the mean.
func (c *Config) MaxPool() bool { return c.GlobalPool == "max" }

// BlockKinds expands stage s's pattern to one letter per block.
func (c *Config) BlockKinds(s int) []byte {
	p := c.BlockTypes[s]
	out := make([]byte, c.Depths[s])
	for i := range out {
		if i < len(p) {
			out[i] = p[i]
		} else if len(p) > 0 {
			out[i] = p[len(p)-1]
		}
	}
	return out
}

// StageSizes returns the feature-map side after the stem and after each
// stage, as timm computes it: img/2, then (r-1)/2+1 per stage.
func (c *Config) StageSizes() (stem int, stages [4]int) {
	stem = c.ImgSize / 2
	r := stem
	for s := range stages {
		r = (r-1)/2 + 1
		stages[s] = r
	}
	return stem, stages
}

// Validate reports every problem with the configuration at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.ImgSize < 32 || c.ImgSize%32 != 0 {
		bad("img_size %d: must be a positive multiple of 32", c.ImgSize)
	}
	if c.ImgSize > 4096 {
		bad("img_size %d: larger than 4096 is not supported", c.ImgSize)
	}
	if c.InChans < 1 || c.InChans > 64 {
		bad("in_chans %d: must be in [1, 64]", c.InChans)
	}
	if c.NumClasses < 1 || c.NumClasses > 1<<20 {
		bad("num_classes %d: must be in [1, 1048576]", c.NumClasses)
	}
	for i, w := range c.StemWidth {
		if w < 1 || w > 1<<14 {
			bad("stem_width[%d] = %d: must be in [1, 16384]", i, w)
		}
	}
	dh := c.Transformer.DimHead
	if dh < 1 || dh > 1024 {
		bad("transformer.dim_head %d: must be in [1, 1024]", dh)
		dh = 0
	}
	prev := c.StemWidth[1]
	for s := range 4 {
		if c.EmbedDim[s] < 1 || c.EmbedDim[s] > 1<<14 {
			bad("embed_dim[%d] = %d: must be in [1, 16384]", s, c.EmbedDim[s])
		}
		if c.Depths[s] < 1 || c.Depths[s] > 256 {
			bad("depths[%d] = %d: must be in [1, 256]", s, c.Depths[s])
		}
		p := c.BlockTypes[s]
		if p == "" || strings.Trim(p, "CT") != "" {
			bad("block_types[%d] = %q: must be a non-empty pattern of C and T", s, p)
		} else if dh > 0 && c.Depths[s] >= 1 && c.Depths[s] <= 256 {
			in := prev
			for _, k := range c.BlockKinds(s) {
				if k == BlockTransformer {
					attn := in
					if c.Transformer.ExpandFirst {
						attn = c.EmbedDim[s]
					}
					if attn%dh != 0 {
						bad("stage %d: attention width %d is not a multiple of dim_head %d", s, attn, dh)
						break
					}
				}
				in = c.EmbedDim[s]
			}
		}
		prev = c.EmbedDim[s]
	}
	if c.HeadHiddenSize < 0 || c.HeadHiddenSize > 1<<16 {
		bad("head_hidden_size %d: must be in [0, 65536]", c.HeadHiddenSize)
	}
	oneOf := func(field, v string, allowed ...string) {
		for _, a := range allowed {
			if v == a {
				return
			}
		}
		bad("%s %q: want one of %s", field, v, strings.Join(allowed, ", "))
	}
	if c.GlobalPool != "" {
		oneOf("global_pool", c.GlobalPool, "avg", "max")
	}
	oneOf("conv.act", c.Conv.Act, "silu", "gelu")
	oneOf("conv.stride_mode", c.Conv.StrideMode, "pool", "dw", "1x1")
	oneOf("conv.pool_type", c.Conv.PoolType, "avg2", "max")
	oneOf("conv.se_act", c.Conv.SEAct, "silu", "relu")
	oneOf("transformer.pool_type", c.Transformer.PoolType, "avg2", "max")
	oneOf("transformer.rel_pos", c.Transformer.RelPos, "bias", "mlp")
	oneOf("transformer.norm", c.Transformer.Norm, "layernorm2d", "batchnorm2d")
	oneOf("attention", string(c.Attention), string(PreSoftmax), string(PostSoftmax))
	if !(c.Conv.ExpandRatio > 0 && c.Conv.ExpandRatio <= 64) {
		bad("conv.expand_ratio %v: must be in (0, 64]", c.Conv.ExpandRatio)
	}
	if !(c.Conv.SERatio > 0 && c.Conv.SERatio <= 4) {
		bad("conv.se_ratio %v: must be in (0, 4]", c.Conv.SERatio)
	}
	if !(c.Transformer.ExpandRatio > 0 && c.Transformer.ExpandRatio <= 64) {
		bad("transformer.expand_ratio %v: must be in (0, 64]", c.Transformer.ExpandRatio)
	}
	if c.Transformer.RelPos == "mlp" && (c.Transformer.RelPosDim < 1 || c.Transformer.RelPosDim > 1<<14) {
		bad("transformer.rel_pos_dim %d: must be in [1, 16384]", c.Transformer.RelPosDim)
	}
	if !(c.Conv.NormEps > 0 && c.Conv.NormEps < 1) {
		bad("conv.norm_eps %v: must be in (0, 1)", c.Conv.NormEps)
	}
	if !(c.Transformer.NormEps > 0 && c.Transformer.NormEps < 1) {
		bad("transformer.norm_eps %v: must be in (0, 1)", c.Transformer.NormEps)
	}
	return errors.Join(errs...)
}
