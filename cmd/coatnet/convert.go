package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/coatnet-edge/coatnet-edge/internal/boundedio"
	"github.com/coatnet-edge/coatnet-edge/model"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/checkpoint"
	"github.com/coatnet-edge/coatnet-edge/preprocess"
)

type convertOptions struct {
	arch, configFile, labelsFile, output, name, description string
	hfConfig                                                string
	imgSize, numClasses, inChans, headHidden                int
	embedDim, depths, stemWidth                             []int
	attention, globalPool                                   string
	cropPct                                                 float64
	cropMode, interpolation, colour                         string
	mean, std                                               []float32
	invert                                                  bool
}

func newConvertCmd() *cobra.Command {
	var o convertOptions
	cmd := &cobra.Command{
		Use:   "convert CHECKPOINT -o MODEL [--arch NAME]",
		Short: "Turn a timm checkpoint into a coatnet model file",
		Long: `convert reads a timm CoAtNet state dict (.safetensors, or a PyTorch .pth/.pt file
written by torch.save, read without Python) and writes one self-describing model
file: architecture, labels, preprocessing and weights, checksummed.

Without --arch or --config the architecture is read from the weights: widths,
depths, stem, heads, classes, input channels, the image size (from the
relative-position tables), the rmlp, batch-norm and layer-scale variants; it
prints the timm model it matches, or "custom" and the flags that build it.
Options no tensor shows (activation, stride mode) come from the nearest timm
config. rmlp models hold no image size: it is --img-size, config.json's
input_size, or 224.

--arch takes a timm model name (a pretrained tag, coatnet_nano_rw_224.sw_in1k,
is accepted and recorded) with optional changes (--img-size, --num-classes,
--embed-dim, ...); --config a complete JSON config (the "config" object that
'coatnet info --json' prints). When the weights do not fit it, convert shows
the first mismatches by name and the flags that would fit.

A timm / Hugging Face config.json beside the checkpoint (or --hf-config)
supplies the label names, mean, std, crop_pct, crop_mode, interpolation and
input size of its pretrained_cfg, checked against the weights; flags win over
it. Otherwise preprocessing is the arch's timm pretrained_cfg (bicubic resize
to img_size/crop_pct, centre crop, mean = std = 0.5). A checkpoint whose
tensors decode to more than twice the architecture's float32 weights plus 64
MiB (8 GiB when the architecture is inferred) is refused before it is inflated.`,
		Example: `  # a timm hub checkpoint: architecture from the weights, labels and
  # preprocessing from the config.json downloaded beside it
  coatnet convert model.safetensors -o nano.coatnet

  # the same, naming the model as timm does (the tag is recorded)
  coatnet convert model.safetensors --arch coatnet_nano_rw_224.sw_in1k \
      --labels imagenet_classes.txt -o nano.coatnet

  # a small custom model trained on 64x64 grey images, inverted
  coatnet convert fmnist.pth --colour grey --mean 0.286 --std 0.353 --invert \
      --labels labels.txt -o fmnist.coatnet

  # the same with the architecture spelled out
  coatnet convert fmnist.pth --arch coatnet_nano_rw --img-size 64 \
      --embed-dim 32,64,128,256 --depths 1,2,2,1 --stem-width 16,32 \
      --colour grey --mean 0.286 --std 0.353 --invert --labels labels.txt -o fmnist.coatnet`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConvert(cmd, args[0], &o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.arch, "arch", "", "timm model `NAME`, e.g. coatnet_nano_rw_224 or coatnet_nano_rw_224.sw_in1k (one of: "+strings.Join(arch.ArchNames(), ", ")+"; default: inferred from the weights)")
	f.StringVar(&o.hfConfig, "hf-config", "", "timm / Hugging Face config.json `FILE` with labels and preprocessing (default: config.json beside the checkpoint, if any)")
	f.StringVar(&o.configFile, "config", "", "JSON `FILE` with a complete architecture config instead of --arch")
	f.StringVarP(&o.output, "output", "o", "", "model `FILE` to write (required)")
	f.StringVar(&o.labelsFile, "labels", "", "text `FILE` with one class label per line (default: class numbers)")
	f.StringVar(&o.name, "name", "", "model `NAME` stored in the file (default: the output file's base name)")
	f.StringVar(&o.description, "description", "", "free `TEXT` stored in the file")
	f.IntVar(&o.imgSize, "img-size", 0, "input size `N` in pixels, a multiple of 32 (default: the arch's)")
	f.IntVar(&o.numClasses, "num-classes", 0, "the number `N` of classes (default: from --labels, else from the checkpoint)")
	f.IntVar(&o.inChans, "in-chans", 0, "`N` input channels, 1 or 3 (default: from the checkpoint)")
	f.IntSliceVar(&o.embedDim, "embed-dim", nil, "four stage widths `W1,W2,W3,W4`, e.g. 64,128,256,512 (default: the arch's)")
	f.IntSliceVar(&o.depths, "depths", nil, "four stage depths `D1,D2,D3,D4`, e.g. 3,4,6,3 (default: the arch's)")
	f.IntSliceVar(&o.stemWidth, "stem-width", nil, "the two stem widths `W1,W2`, e.g. 32,64 (default: the arch's)")
	f.IntVar(&o.headHidden, "head-hidden-size", -1, "hidden width `N` of the paper-style head; 0: the rw head, without one (default: the arch's)")
	f.StringVar(&o.globalPool, "global-pool", "", "the head's pooling over pixels, `POOL`: avg or max, as timm's global_pool (default: avg)")
	f.StringVar(&o.attention, "attention", "", "where the relative-position kernel is added, `FORM`: pre-softmax (timm) or post-softmax (default: the arch's)")
	f.Float64Var(&o.cropPct, "crop-pct", 0, "resize to img_size/`CROP_PCT` before the centre crop (default: the arch's)")
	f.StringVar(&o.cropMode, "crop-mode", "center", "`MODE`: center (keep aspect) or squash")
	f.StringVar(&o.interpolation, "interpolation", "bicubic", "resize `METHOD`: bicubic or bilinear")
	f.StringVar(&o.colour, "colour", "", "`COLOUR`: rgb or grey; --color and gray are accepted too (default: from the input channels)")
	f.Float32SliceVar(&o.mean, "mean", nil, "per-channel `MEANS` of the normalisation, e.g. 0.485,0.456,0.406 (default: the arch's)")
	f.Float32SliceVar(&o.std, "std", nil, "per-channel `STDS` of the normalisation, e.g. 0.229,0.224,0.225 (default: the arch's)")
	f.BoolVar(&o.invert, "invert", false, "invert 8-bit values (255-v) before normalising")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}

func runConvert(cmd *cobra.Command, ckptPath string, o *convertOptions) error {
	start := time.Now()
	archName, tag, _ := strings.Cut(o.arch, ".")
	hf, err := readHFConfig(ckptPath, o.hfConfig)
	if err != nil {
		return err
	}
	if tag == "" && hf != nil {
		tag = hf.Pretrained.Tag
	}
	inferring := o.arch == "" && o.configFile == ""
	var cfg arch.Config
	var sd map[string]checkpoint.Tensor
	if inferring {
		note(cmd, slog.LevelInfo, "reading checkpoint %s", ckptPath)
		st, err := os.Stat(ckptPath)
		if err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		sd, err = checkpoint.ReadLimit(ckptPath, inferLimit(st.Size()))
		if errors.Is(err, checkpoint.ErrTooLarge) {
			return fmt.Errorf("%w: without --arch the limit is twice the file's size plus %d MiB (float16 widens to float32); give --arch for a compressed checkpoint", err, checkpointSlack>>20)
		}
		if err != nil {
			return err
		}
		inferred, err := arch.Infer(sd)
		if err != nil {
			return fmt.Errorf("%s: %w; give --arch or --config", ckptPath, err)
		}
		sizeFixed := inferred.ImgSize != 0
		if !sizeFixed {
			inferred.ImgSize = 224
			if hf != nil && hf.size() != 0 {
				inferred.ImgSize = hf.size()
			}
		}
		if hf != nil && hf.size() != 0 && sizeFixed && hf.size() != inferred.ImgSize {
			return fmt.Errorf("%s: input_size %d, but the weights' relative-position tables are for %d", hf.path, hf.size(), inferred.ImgSize)
		}
		if cfg, err = convertConfig(cmd, o, archName, &inferred); err != nil {
			return err
		}
		how := "inferred from the weights"
		if !sizeFixed && !cmd.Flags().Changed("img-size") {
			how += fmt.Sprintf("; image size %d: the weights hold none", cfg.ImgSize)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "architecture %s (%s)\n", describeInferred(&inferred), how)
	} else {
		if cfg, err = convertConfig(cmd, o, archName, nil); err != nil {
			return err
		}
		if hf != nil && hf.size() != 0 && !cmd.Flags().Changed("img-size") && o.configFile == "" {
			cfg.ImgSize = hf.size()
		}
		note(cmd, slog.LevelInfo, "reading checkpoint %s", ckptPath)
		lc := cfg
		if cmd.Flags().Changed("num-classes") {
			lc.NumClasses = o.numClasses
		}
		if cmd.Flags().Changed("in-chans") {
			lc.InChans = o.inChans
		}
		limit, params := checkpointLimit(lc)
		sd, err = checkpoint.ReadLimit(ckptPath, limit)
		if errors.Is(err, checkpoint.ErrTooLarge) && params > 0 {
			return fmt.Errorf("%w: the limit is twice the float32 weights of --arch/--config (%s parameters) plus %d MiB", err, millions(params), checkpointSlack>>20)
		}
		if err != nil {
			return err
		}
	}
	var labels []string
	if o.labelsFile != "" {
		raw, err := boundedio.ReadFile(o.labelsFile, maxLabelsBytes)
		if err != nil {
			return fmt.Errorf("labels: %w", err)
		}
		labels = arch.ParseLabels(string(raw))
		if len(labels) == 0 {
			return fmt.Errorf("labels: %s holds no labels", o.labelsFile)
		}
	} else if hf != nil && hf.labels != nil {
		labels = hf.labels
	}
	head := 0
	if fc, ok := sd["head.fc.weight"]; ok && len(fc.Shape) >= 1 {
		head = fc.Shape[0]
	}
	switch {
	case cmd.Flags().Changed("num-classes"):
		cfg.NumClasses = o.numClasses
	case labels != nil:
		cfg.NumClasses = len(labels)
	case head > 0:
		cfg.NumClasses = head
	}
	if hf != nil && hf.classes() > 0 && head > 0 && hf.classes() != head {
		return fmt.Errorf("%s: num_classes %d, but the checkpoint's head.fc.weight has %d classes", hf.path, hf.classes(), head)
	}
	if hf != nil && o.labelsFile == "" && hf.labels != nil && head > 0 && len(hf.labels) != head {
		return fmt.Errorf("%s: %d label_names, but the checkpoint's head.fc.weight has %d classes", hf.path, len(hf.labels), head)
	}
	if labels == nil {
		labels = arch.DefaultLabels(cfg.NumClasses)
		note(cmd, slog.LevelWarn, "no --labels given: the %d classes are named by number", cfg.NumClasses)
	}
	if cmd.Flags().Changed("in-chans") {
		cfg.InChans = o.inChans
	} else if c1, ok := sd["stem.conv1.weight"]; ok && len(c1.Shape) == 4 {
		cfg.InChans = c1.Shape[1]
	}
	if hf != nil && len(hf.Pretrained.InputSize) == 3 && hf.Pretrained.InputSize[0] != cfg.InChans {
		return fmt.Errorf("%s: input_size has %d channels, the model reads %d", hf.path, hf.Pretrained.InputSize[0], cfg.InChans)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("architecture: %w", err)
	}
	if hf != nil && hf.GlobalPool != "" && o.globalPool == "" && o.configFile == "" {
		cfg.GlobalPool = strings.TrimPrefix(hf.GlobalPool, "avg") // avg is stored as no key
	}
	if hf != nil && hf.Architecture != "" {
		if err := hfArchAgrees(hf, &cfg); err != nil {
			return err
		}
	}
	family := archName
	if family == "" {
		family = strings.TrimSuffix(cfg.Arch, arch.CustomSuffix)
	}
	spec, err := convertPreprocess(cmd, o, &cfg, family, hf)
	if err != nil {
		return err
	}
	weights, err := arch.ImportStateDict(&cfg, sd)
	if err != nil {
		if errors.Is(err, arch.ErrWeightsMismatch) {
			return fmt.Errorf("%s: %s", ckptPath, shortMismatch(err, &cfg, sd))
		}
		return fmt.Errorf("%s: %w", ckptPath, err)
	}
	sum, err := fileSHA256(ckptPath)
	if err != nil {
		return err
	}
	name := o.name
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(o.output), filepath.Ext(o.output))
	}
	m := &model.Model{
		Metadata: arch.Metadata{
			Kind: model.KindFloat32, Name: name, Description: o.description,
			Config: cfg, Labels: labels, Preprocess: spec,
			Source: arch.Source{
				Checkpoint: filepath.Base(ckptPath), SHA256: sum, Pretrained: tag,
				Converted: time.Now().UTC().Format(time.RFC3339), Tool: "coatnet " + version(),
			},
		},
		Weights: weights,
	}
	if err := m.Metadata.Validate(); err != nil {
		return err
	}
	if err := m.Save(o.output); err != nil {
		return err
	}
	st, err := os.Stat(o.output)
	if err != nil {
		return err
	}
	tot := cfg.TotalCost()
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %s at %dx%d, %d classes, %s params, %sMACs, %.1f MB in %.1fs\n",
		o.output, cfg.Arch, cfg.ImgSize, cfg.ImgSize, cfg.NumClasses, millions(tot.Params),
		millions(tot.MACs), float64(st.Size())/1e6, time.Since(start).Seconds())
	return nil
}

// hfArchAgrees checks config.json's architecture against the model's
// and, where both are timm models of one config at different sizes
// (coatnet_rmlp_2_rw_224 and _384), takes config.json's name.
func hfArchAgrees(hf *hfConfig, cfg *arch.Config) error {
	name, _, _ := strings.Cut(hf.Architecture, ".")
	theirs, err := arch.Arch(name)
	if err != nil {
		return fmt.Errorf("%s: architecture %q is not a timm CoAtNet", hf.path, hf.Architecture)
	}
	ours, err := arch.Arch(cfg.Arch)
	if err != nil || !slices.Contains(arch.ArchNames(), cfg.Arch) {
		return nil // a custom config: timm names the model it was changed from
	}
	theirs.Arch, theirs.ImgSize, ours.Arch, ours.ImgSize = "", 0, "", 0
	if theirs != ours {
		return fmt.Errorf("%s: architecture %s, but the model is %s", hf.path, hf.Architecture, cfg.Arch)
	}
	cfg.Arch = name
	return nil
}

// describeInferred names an inferred config: the timm model, or "custom"
// with the flags that build it from the nearest timm config.
func describeInferred(c *arch.Config) string {
	if !strings.HasSuffix(c.Arch, arch.CustomSuffix) {
		return c.Arch
	}
	flags, exact := fitFlags(c)
	if !exact {
		return "custom (options of " + strings.TrimSuffix(c.Arch, arch.CustomSuffix) + "; more than flags can change)"
	}
	return "custom, as " + flags
}

// fitFlags are the convert flags that build inferred config c; exact is
// false when c differs from the nearest timm config in more than they set.
func fitFlags(c *arch.Config) (flags string, exact bool) {
	name := strings.TrimSuffix(c.Arch, arch.CustomSuffix)
	base, err := arch.Arch(name)
	if err != nil {
		return "", false
	}
	parts := []string{"--arch " + name}
	ints := func(v []int) string {
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = fmt.Sprint(x)
		}
		return strings.Join(s, ",")
	}
	if base.EmbedDim != c.EmbedDim {
		parts = append(parts, "--embed-dim "+ints(c.EmbedDim[:]))
	}
	if base.Depths != c.Depths {
		parts = append(parts, "--depths "+ints(c.Depths[:]))
	}
	if base.StemWidth != c.StemWidth {
		parts = append(parts, "--stem-width "+ints(c.StemWidth[:]))
	}
	if base.HeadHiddenSize != c.HeadHiddenSize {
		parts = append(parts, fmt.Sprintf("--head-hidden-size %d", c.HeadHiddenSize))
	}
	if c.ImgSize != 0 && base.ImgSize != c.ImgSize {
		parts = append(parts, fmt.Sprintf("--img-size %d", c.ImgSize))
	}
	b := base
	b.EmbedDim, b.Depths, b.StemWidth, b.HeadHiddenSize = c.EmbedDim, c.Depths, c.StemWidth, c.HeadHiddenSize
	b.Arch, b.NumClasses, b.InChans, b.ImgSize = c.Arch, c.NumClasses, c.InChans, c.ImgSize
	return strings.Join(parts, " "), b == *c
}

// shortMismatch cuts ImportStateDict's report to the first few lines of
// each kind and, where the weights fit another config, says which.
func shortMismatch(err error, cfg *arch.Config, sd map[string]checkpoint.Tensor) string {
	const perKind = 3
	lines := strings.Split(err.Error(), "\n")
	var b strings.Builder
	b.WriteString(lines[0])
	shown, left := map[string]int{}, 0
	for _, l := range lines[1:] {
		k, _, _ := strings.Cut(strings.TrimSpace(l), " ") // missing, unexpected, wrong, not
		if shown[k] >= perKind {
			left++
			continue
		}
		shown[k]++
		b.WriteString("\n" + l)
	}
	if left > 0 {
		fmt.Fprintf(&b, "\n  ... and %d more", left)
	}
	inf, ierr := arch.Infer(sd)
	switch {
	case ierr != nil:
		fmt.Fprintf(&b, "\nthe weights fit no config convert can infer: %v", ierr)
	default:
		got, want := inf, *cfg
		got.Arch, want.Arch = "", ""
		if got.ImgSize == 0 {
			got.ImgSize = want.ImgSize
		}
		if got == want {
			break // the architecture fits; the values are at fault
		}
		if !strings.HasSuffix(inf.Arch, arch.CustomSuffix) {
			fit := "--arch " + inf.Arch
			if base, _ := arch.Arch(inf.Arch); inf.ImgSize != 0 && inf.ImgSize != base.ImgSize {
				fit += fmt.Sprintf(" --img-size %d", inf.ImgSize)
			}
			fmt.Fprintf(&b, "\nthe weights fit %s, or leave out --arch: convert infers it", fit)
		} else if flags, exact := fitFlags(&inf); exact {
			fmt.Fprintf(&b, "\nthe weights fit %s, or leave out --arch: convert infers it", flags)
		} else {
			fmt.Fprintf(&b, "\nthe weights fit a custom config near %s that flags cannot build: leave out --arch, convert infers it",
				strings.TrimSuffix(inf.Arch, arch.CustomSuffix))
		}
	}
	return b.String()
}

// checkpointSlack is what checkpointLimit allows beyond twice the
// architecture's weights: the class count and input channels are known
// only from the checkpoint, so its head may be larger than the arch's
// default (ImageNet-21k's 21,843 classes), and it may hold extra buffers.
const checkpointSlack = 64 << 20

// checkpointLimit bounds the float32 data the checkpoint may decode to:
// twice the architecture's parameters (and running statistics) as float32,
// plus checkpointSlack; params is that count. Where cfg is not yet a valid
// architecture it leaves checkpoint.DefaultMaxBytes (params 0), and the
// config's own error follows.
func checkpointLimit(cfg arch.Config) (limit, params int64) {
	c := cfg
	c.NumClasses, c.InChans = max(c.NumClasses, 1), max(c.InChans, 1)
	if c.Validate() != nil {
		return checkpoint.DefaultMaxBytes, 0
	}
	for _, p := range c.Params() {
		params += int64(arch.Numel(p.Shape))
	}
	return min(2*4*params+checkpointSlack, checkpoint.DefaultMaxBytes), params
}

// inferLimit bounds the float32 data of a checkpoint read before its
// architecture is known: tensors stored uncompressed (as torch.save and
// safetensors write them) decode to at most twice their bytes, so a zip
// bomb is refused before it inflates.
func inferLimit(fileSize int64) int64 {
	return min(2*fileSize+checkpointSlack, checkpoint.DefaultMaxBytes)
}

// convertConfig builds the architecture from --arch (archName, without
// its pretrained tag), --config or the inferred config, and the change
// flags.
// Bounds on --labels (ImageNet-21k's 21,843 labels are well under 1 MiB)
// and --config (a JSON object of a dozen fields).
const (
	maxLabelsBytes     = 16 << 20
	maxArchConfigBytes = 1 << 20
)

func convertConfig(cmd *cobra.Command, o *convertOptions, archName string, inferred *arch.Config) (arch.Config, error) {
	var cfg arch.Config
	switch {
	case o.configFile != "" && o.arch != "":
		return cfg, errors.New("give --arch or --config, not both")
	case o.configFile != "":
		raw, err := boundedio.ReadFile(o.configFile, maxArchConfigBytes)
		if err != nil {
			return cfg, err
		}
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cfg); err != nil {
			return cfg, fmt.Errorf("%s: %w", o.configFile, err)
		}
	case o.arch != "":
		var err error
		if cfg, err = arch.Arch(archName); err != nil {
			return cfg, err
		}
	case inferred != nil:
		cfg = *inferred
	default:
		return cfg, errors.New("--arch is required (or --config); known architectures: " + strings.Join(arch.ArchNames(), ", "))
	}
	var errs []error
	fixed := func(flag string, v []int, dst []int) {
		if v == nil {
			return
		}
		if len(v) != len(dst) {
			errs = append(errs, fmt.Errorf("--%s wants %d values, got %d", flag, len(dst), len(v)))
			return
		}
		copy(dst, v)
	}
	fixed("embed-dim", o.embedDim, cfg.EmbedDim[:])
	fixed("depths", o.depths, cfg.Depths[:])
	fixed("stem-width", o.stemWidth, cfg.StemWidth[:])
	if o.imgSize != 0 {
		cfg.ImgSize = o.imgSize
	}
	if o.headHidden >= 0 {
		cfg.HeadHiddenSize = o.headHidden
	}
	if o.attention != "" {
		cfg.Attention = arch.AttentionForm(o.attention)
	}
	switch o.globalPool {
	case "":
	case "avg": // the default, stored as no key so older releases read the file
		cfg.GlobalPool = ""
	default:
		cfg.GlobalPool = o.globalPool
	}
	if o.arch != "" && (o.embedDim != nil || o.depths != nil || o.stemWidth != nil) {
		cfg.Arch = archName + arch.CustomSuffix
	}
	return cfg, errors.Join(errs...)
}

// convertPreprocess fills the preprocessing recipe from the flags and the
// arch's timm defaults.
func convertPreprocess(cmd *cobra.Command, o *convertOptions, cfg *arch.Config, family string, hf *hfConfig) (preprocess.Spec, error) {
	cropPct := o.cropPct
	if cropPct == 0 && hf != nil {
		cropPct = hf.Pretrained.CropPct
	}
	if cropPct == 0 {
		cropPct = arch.ArchCropPct(family)
	}
	spec := preprocess.TimmDefault(cfg.ImgSize, cropPct)
	spec.CropMode = preprocess.CropMode(o.cropMode)
	spec.Interpolation = preprocess.Interpolation(o.interpolation)
	if hf != nil && hf.Pretrained.CropMode != "" && !cmd.Flags().Changed("crop-mode") {
		spec.CropMode = preprocess.CropMode(hf.Pretrained.CropMode)
	}
	if hf != nil && hf.Pretrained.Interpolation != "" && !cmd.Flags().Changed("interpolation") {
		spec.Interpolation = preprocess.Interpolation(hf.Pretrained.Interpolation)
	}
	spec.Invert = o.invert
	if cfg.Transformer.Norm == "batchnorm2d" && strings.HasPrefix(family, "coatnet_bn_0_rw") {
		spec.Mean, spec.Std = preprocess.ImageNetMean, preprocess.ImageNetStd
	}
	switch {
	case o.colour == "gray": // the American spelling, as --color is
		spec.Colour = preprocess.Grey
	case o.colour != "":
		spec.Colour = preprocess.Colour(o.colour)
	case cfg.InChans == 1:
		spec.Colour = preprocess.Grey
	}
	if spec.Colour == preprocess.Grey && len(spec.Mean) == 3 {
		spec.Mean, spec.Std = spec.Mean[:1], spec.Std[:1]
	}
	if hf != nil && hf.Pretrained.Mean != nil {
		if len(hf.Pretrained.Mean) != spec.Channels() {
			return spec, fmt.Errorf("%s: %d mean and std values for %d channels", hf.path, len(hf.Pretrained.Mean), spec.Channels())
		}
		spec.Mean, spec.Std = hf.Pretrained.Mean, hf.Pretrained.Std
	}
	if o.mean != nil {
		spec.Mean = o.mean
	}
	if o.std != nil {
		spec.Std = o.std
	}
	if err := spec.Validate(); err != nil {
		return spec, fmt.Errorf("preprocessing: %w", err)
	}
	return spec, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
