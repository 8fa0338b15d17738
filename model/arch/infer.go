package arch

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/coatnet-edge/coatnet-edge/model/checkpoint"
)

// ErrInfer is wrapped by every error Infer returns: the tensors are not a
// CoAtNet state dict this package can read the architecture from.
var ErrInfer = errors.New("cannot infer the architecture")

// CustomSuffix marks a config built from a timm config with changes; the
// name before it is the timm config it started from.
const CustomSuffix = " (custom)"

// familyOrder ranks the timm configs for Infer when the weights fit
// several equally (their differences lie in options no tensor shows, such
// as pico's and nano's stride mode): the common model of each kind first.
var familyOrder = []string{
	"coatnet_nano_rw", "coatnet_pico_rw", "coatnet_rmlp_nano_rw",
	"coatnet_0_rw", "coatnet_1_rw", "coatnet_bn_0_rw",
	"coatnet_2_rw", "coatnet_3_rw",
	"coatnet_rmlp_0_rw", "coatnet_rmlp_1_rw2", "coatnet_rmlp_1_rw",
	"coatnet_rmlp_2_rw", "coatnet_rmlp_3_rw", "coatnet_nano_cc",
	"coatnet_0", "coatnet_1", "coatnet_2", "coatnet_3", "coatnet_4", "coatnet_5",
}

// Infer reads a CoAtNet configuration from a checkpoint's tensor names and
// shapes alone (their values are not looked at): stem and stage widths,
// depths, block kinds, heads and dim_head, classes, input channels, the
// image size (from the relative-position tables), the rel-pos MLP, norm,
// layer-scale, bias and head variants. Options no tensor shows (activation,
// stride and pool modes) come from the timm config whose tensor-visible
// options fit best. Arch is the registered timm model name when the config
// is that model's (at any image size, class count or input channels),
// else that config's name plus CustomSuffix.
//
// ImgSize is 0 when the weights do not fix it: models without a
// relative-position table (rmlp, or no transformer stage) run at any size,
// and the caller chooses one.
//
// The result is checked against every tensor: a checkpoint that fits no
// configuration is an error naming the first tensors that disagree.
func Infer(sd map[string]checkpoint.Tensor) (Config, error) {
	in := inferrer{shapes: make(map[string][]int, len(sd))}
	for name, t := range sd {
		if strings.HasSuffix(name, "num_batches_tracked") {
			continue
		}
		in.shapes[name] = t.Shape
	}
	cfg, err := in.infer()
	if err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrInfer, err)
	}
	return cfg, nil
}

type inferrer struct {
	shapes map[string][]int
	kinds  [4][]byte
}

// dim returns dimension i of tensor name, which must exist with rank ranks.
func (in *inferrer) dim(name string, i int, ranks ...int) (int, error) {
	s, ok := in.shapes[name]
	if !ok {
		return 0, fmt.Errorf("tensor %s is missing", name)
	}
	if !slices.Contains(ranks, len(s)) {
		return 0, fmt.Errorf("tensor %s has shape %s: want %d dimensions", name, ShapeString(s), ranks[0])
	}
	if s[i] < 1 {
		return 0, fmt.Errorf("tensor %s has shape %s: an empty dimension", name, ShapeString(s))
	}
	return s[i], nil
}

func (in *inferrer) has(name string) bool { _, ok := in.shapes[name]; return ok }

// signature holds the options the tensors show, each with whether they
// show it (a model without a conv block shows no conv option).
type signature struct {
	stemBias, outputBias, attnEarly, shortcutBias, layerScale, bn, hiddenHead bool
	relPos                                                                    string
	relPosDim                                                                 int
	hasConv, hasTfm, knowShortcut                                             bool
}

func (in *inferrer) infer() (Config, error) {
	var c Config
	var err error
	if c.StemWidth[0], err = in.dim("stem.conv1.weight", 0, 4); err != nil {
		return c, err
	}
	if c.InChans, err = in.dim("stem.conv1.weight", 1, 4); err != nil {
		return c, err
	}
	if c.StemWidth[1], err = in.dim("stem.conv2.weight", 0, 4); err != nil {
		return c, err
	}
	if err := in.blockKinds(); err != nil {
		return c, err
	}
	var sig signature
	sig.stemBias = in.has("stem.conv1.bias")
	sideOf := map[int]int{} // stage -> attention window side, from the tables
	for s := range 4 {
		c.Depths[s] = len(in.kinds[s])
		c.BlockTypes[s] = pattern(in.kinds[s])
		p := fmt.Sprintf("stages.%d.blocks.0.", s)
		if in.kinds[s][0] == BlockConv {
			c.EmbedDim[s], err = in.dim(p+"conv3_1x1.weight", 0, 4, 2)
		} else {
			c.EmbedDim[s], err = in.dim(p+"attn.proj.weight", 0, 4, 2)
		}
		if err != nil {
			return c, err
		}
		for i, k := range in.kinds[s] {
			p := fmt.Sprintf("stages.%d.blocks.%d.", s, i)
			if k == BlockConv {
				if !sig.hasConv {
					sig.hasConv = true
					sig.outputBias = in.has(p + "conv3_1x1.bias")
					sig.attnEarly = in.has(p + "se_early.fc1.weight")
				}
				continue
			}
			if !sig.hasTfm {
				sig.hasTfm = true
				sig.layerScale = in.has(p + "ls1.gamma")
				sig.bn = in.has(p + "norm2.running_mean")
				qkv, err := in.dim(p+"attn.qkv.weight", 0, 4, 2)
				if err != nil {
					return c, err
				}
				var heads int
				if in.has(p + "attn.rel_pos.mlp.fc1.weight") {
					sig.relPos = "mlp"
					if sig.relPosDim, err = in.dim(p+"attn.rel_pos.mlp.fc1.weight", 0, 2); err != nil {
						return c, err
					}
					heads, err = in.dim(p+"attn.rel_pos.mlp.fc2.weight", 0, 2)
				} else {
					sig.relPos = "bias"
					heads, err = in.dim(p+"attn.rel_pos.relative_position_bias_table", 1, 2)
				}
				if err != nil {
					return c, err
				}
				if qkv%3 != 0 || (qkv/3)%heads != 0 {
					return c, fmt.Errorf("tensor %sattn.qkv.weight: %d outputs are not 3 x %d heads x dim_head", p, qkv, heads)
				}
				c.Transformer.DimHead = qkv / 3 / heads
			}
			if !sig.knowShortcut && in.has(p+"shortcut.expand.weight") {
				sig.knowShortcut = true
				sig.shortcutBias = in.has(p + "shortcut.expand.bias")
			}
			if _, done := sideOf[s]; !done && sig.relPos == "bias" {
				name := p + "attn.rel_pos.relative_position_bias_table"
				rows, err := in.dim(name, 0, 2)
				if err != nil {
					return c, err
				}
				r := int(math.Round(math.Sqrt(float64(rows))))
				if r*r != rows || r%2 == 0 {
					return c, fmt.Errorf("tensor %s: %d rows are not (2w-1)^2 for a w x w window", name, rows)
				}
				sideOf[s] = (r + 1) / 2
			}
		}
	}
	if in.has("head.pre_logits.fc.weight") {
		sig.hiddenHead = true
		if c.HeadHiddenSize, err = in.dim("head.pre_logits.fc.weight", 0, 2, 4); err != nil {
			return c, err
		}
		sig.bn = sig.bn || in.has("head.norm.running_mean")
	} else {
		sig.bn = sig.bn || in.has("norm.running_mean")
	}
	if c.NumClasses, err = in.dim("head.fc.weight", 0, 2, 4); err != nil {
		return c, err
	}
	if len(sideOf) > 0 {
		if c.ImgSize, err = imgSizeFor(sideOf); err != nil {
			return c, err
		}
	}
	fam := bestFamily(&c, &sig)
	return in.finish(c, sig, fam)
}

// blockKinds finds the blocks of each stage and their kinds.
func (in *inferrer) blockKinds() error {
	var count [4]int
	for name := range in.shapes {
		rest, ok := strings.CutPrefix(name, "stages.")
		if !ok {
			continue
		}
		parts := strings.SplitN(rest, ".", 4)
		if len(parts) < 4 || parts[1] != "blocks" {
			return fmt.Errorf("tensor %s: not a stages.S.blocks.I tensor", name)
		}
		s, err1 := strconv.Atoi(parts[0])
		i, err2 := strconv.Atoi(parts[2])
		if err1 != nil || err2 != nil || s < 0 || s > 3 || i < 0 || i >= 256 {
			return fmt.Errorf("tensor %s: stage or block number out of range (4 stages of at most 256 blocks)", name)
		}
		count[s] = max(count[s], i+1)
	}
	for s := range 4 {
		if count[s] == 0 {
			return fmt.Errorf("stage %d has no blocks (no tensor stages.%d.blocks.0.*)", s, s)
		}
		in.kinds[s] = make([]byte, count[s])
		for i := range count[s] {
			p := fmt.Sprintf("stages.%d.blocks.%d.", s, i)
			switch {
			case in.has(p + "attn.qkv.weight"):
				in.kinds[s][i] = BlockTransformer
			case in.has(p + "conv1_1x1.weight"):
				in.kinds[s][i] = BlockConv
			default:
				return fmt.Errorf("block %s*: neither an MBConv (conv1_1x1.weight) nor a transformer (attn.qkv.weight)", p)
			}
		}
	}
	return nil
}

// pattern is the shortest timm block_types pattern that expands to kinds.
func pattern(kinds []byte) string {
	n := len(kinds)
	for n > 1 && kinds[n-2] == kinds[n-1] {
		n--
	}
	return string(kinds[:n])
}

// imgSizeFor finds the image size whose stage sides are the windows.
func imgSizeFor(sideOf map[int]int) (int, error) {
	probe := Config{}
	for size := 32; size <= 4096; size += 32 {
		probe.ImgSize = size
		_, sides := probe.StageSizes()
		fits := true
		for s, w := range sideOf {
			fits = fits && sides[s] == w
		}
		if fits {
			return size, nil
		}
	}
	var parts []string
	for s := range 4 {
		if w, ok := sideOf[s]; ok {
			parts = append(parts, fmt.Sprintf("stage %d %dx%d", s, w, w))
		}
	}
	return 0, fmt.Errorf("the relative-position tables (%s) fit no image size that is a multiple of 32", strings.Join(parts, ", "))
}

// signatureOf is what the tensors of cfg would show.
func signatureOf(cfg *Config) signature {
	t := &cfg.Transformer
	return signature{
		stemBias: cfg.StemBias, outputBias: cfg.Conv.OutputBias, attnEarly: cfg.Conv.AttnEarly,
		shortcutBias: t.ShortcutBias, layerScale: t.LayerScale, bn: t.Norm == "batchnorm2d",
		hiddenHead: cfg.HeadHiddenSize > 0, relPos: t.RelPos, relPosDim: t.RelPosDim,
	}
}

// bestFamily picks the timm config whose tensor-visible options differ
// least from sig; ties go to one with the same widths and depths, then to
// familyOrder.
func bestFamily(c *Config, sig *signature) string {
	best, bestScore := "", math.MaxInt
	for _, name := range familyOrder {
		f := timmConfigs[name]()
		g := signatureOf(&f)
		score := 0
		diff := func(d bool) {
			if d {
				score += 10
			}
		}
		diff(g.stemBias != sig.stemBias)
		diff(g.bn != sig.bn)
		diff(g.hiddenHead != sig.hiddenHead)
		if sig.hasConv {
			diff(g.outputBias != sig.outputBias)
			diff(g.attnEarly != sig.attnEarly)
		}
		if sig.hasTfm {
			diff(g.layerScale != sig.layerScale)
			diff(g.relPos != sig.relPos)
			diff(sig.relPos == "mlp" && g.relPosDim != sig.relPosDim)
		}
		if sig.knowShortcut {
			diff(g.shortcutBias != sig.shortcutBias)
		}
		if f.StemWidth != c.StemWidth || f.EmbedDim != c.EmbedDim || f.Depths != c.Depths {
			score++
		}
		f.Depths = c.Depths
		for s := range 4 {
			diff(string(f.BlockKinds(s)) != string(c.BlockKinds(s)))
		}
		if score < bestScore {
			best, bestScore = name, score
		}
	}
	return best
}

// finish completes c from the family's options, settles the options only
// widths show (expand_output, expand_first) by trying them against the
// tensors, and names the result.
func (in *inferrer) finish(c Config, sig signature, fam string) (Config, error) {
	f := timmConfigs[fam]()
	for s := range 4 { // keep timm's own pattern where it expands alike
		g := f
		g.Depths = c.Depths
		if string(g.BlockKinds(s)) == string(c.BlockKinds(s)) {
			c.BlockTypes[s] = f.BlockTypes[s]
		}
	}
	c.StemBias = sig.stemBias
	c.Attention, c.GlobalPool = f.Attention, f.GlobalPool
	c.Conv = f.Conv
	if sig.hasConv {
		c.Conv.OutputBias, c.Conv.AttnEarly = sig.outputBias, sig.attnEarly
	}
	dimHead := c.Transformer.DimHead
	c.Transformer = f.Transformer
	if sig.hasTfm {
		c.Transformer.DimHead = dimHead
		c.Transformer.LayerScale, c.Transformer.RelPos = sig.layerScale, sig.relPos
		if sig.relPos == "mlp" {
			c.Transformer.RelPosDim = sig.relPosDim
		}
	}
	if sig.knowShortcut {
		c.Transformer.ShortcutBias = sig.shortcutBias
	}
	if sig.bn {
		c.Transformer.Norm = "batchnorm2d"
	} else {
		c.Transformer.Norm = "layernorm2d"
	}
	size := c.ImgSize
	if size == 0 {
		c.ImgSize = f.ImgSize // any size fits these tensors; check at timm's
		if c.ImgSize == 0 {
			c.ImgSize = 224
		}
	}
	var firstErr error
	found := false
	for _, eo := range []bool{f.Conv.ExpandOutput, !f.Conv.ExpandOutput} {
		for _, ef := range []bool{f.Transformer.ExpandFirst, !f.Transformer.ExpandFirst} {
			t := c
			t.Conv.ExpandOutput, t.Transformer.ExpandFirst = eo, ef
			err := in.fits(&t)
			if err == nil {
				c, found = t, true
				break
			}
			if firstErr == nil {
				firstErr = err
			}
		}
		if found {
			break
		}
	}
	if !found {
		return c, fmt.Errorf("the tensors look like %s%s but do not fit it: %w", fam, CustomSuffix, firstErr)
	}
	c.ImgSize = size
	c.Arch = matchName(&c, fam)
	return c, nil
}

// fits checks every tensor of cfg's schema against the checkpoint and
// names the first disagreements.
func (in *inferrer) fits(cfg *Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	var bad []string
	want := map[string]bool{}
	for _, p := range cfg.Params() {
		want[p.Name] = true
		got, ok := in.shapes[p.Name]
		switch {
		case !ok:
			bad = append(bad, fmt.Sprintf("%s is missing (want %s)", p.Name, ShapeString(p.Shape)))
		case !slices.Equal(got, p.Shape) && !reshapeable(got, p.Shape):
			bad = append(bad, fmt.Sprintf("%s has shape %s, want %s", p.Name, ShapeString(got), ShapeString(p.Shape)))
		}
	}
	var extra []string
	for name := range in.shapes {
		if !want[name] {
			extra = append(extra, name+" is unexpected")
		}
	}
	slices.Sort(extra)
	bad = append(bad, extra...)
	if len(bad) == 0 {
		return nil
	}
	const show = 3
	msg := strings.Join(bad[:min(show, len(bad))], "; ")
	if len(bad) > show {
		msg += fmt.Sprintf("; and %d more", len(bad)-show)
	}
	return errors.New(msg)
}

// matchName is the registered timm model whose config c is, ignoring the
// create_model arguments img_size, num_classes and in_chans; the model of
// c's image size when several are, else the 224 one. Otherwise it is fam
// plus CustomSuffix.
func matchName(c *Config, fam string) string {
	norm := func(x Config) Config {
		x.Arch, x.ImgSize, x.NumClasses, x.InChans = "", 0, 0, 0
		return x
	}
	want := norm(*c)
	best := ""
	for _, name := range ArchNames() {
		m, _ := Arch(name)
		if norm(m) != want {
			continue
		}
		if m.ImgSize == c.ImgSize || best == "" || (m.ImgSize == 224 && timmModels[best].size != c.ImgSize) {
			best = name
		}
	}
	if best == "" {
		return fam + CustomSuffix
	}
	return best
}
