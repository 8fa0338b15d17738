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
		Use:   "convert CHECKPOINT --arch NAME -o MODEL",
		Short: "Turn a timm checkpoint into a coatnet model file",
		Long: `convert reads a timm CoAtNet state dict (.safetensors, or a PyTorch .pth/.pt file
written by torch.save, read without Python) and writes one self-describing model
file: architecture, labels, preprocessing and weights, checksummed.

The architecture is a timm model name (see --arch) with optional changes
(--img-size, --num-classes, --embed-dim, ...), or a complete JSON config
(--config, the "config" object that 'coatnet info --json' prints). The number
of classes and input channels default to what the checkpoint holds.
Preprocessing defaults to the arch's timm pretrained_cfg (bicubic resize to
img_size/crop_pct, centre crop, mean = std = 0.5); change it for models trained
otherwise. Keys that are missing, unexpected or of the wrong shape are all
reported at once, by name. A checkpoint whose tensors decode to more than
twice the architecture's float32 weights plus 64 MiB is refused before it is
inflated.`,
		Example: `  # a timm ImageNet checkpoint
  coatnet convert coatnet_nano_rw_224.sw_in1k.safetensors --arch coatnet_nano_rw_224 \
      --labels imagenet_classes.txt -o nano.coatnet

  # a small custom model trained on 64x64 grey images, inverted
  coatnet convert fmnist.pth --arch coatnet_nano_rw --img-size 64 \
      --embed-dim 32,64,128,256 --depths 1,2,2,1 --stem-width 16,32 \
      --colour grey --mean 0.286 --std 0.353 --invert --labels labels.txt -o fmnist.coatnet`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConvert(cmd, args[0], &o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.arch, "arch", "", "timm model `NAME`, e.g. coatnet_nano_rw_224 (one of: "+strings.Join(arch.ArchNames(), ", ")+")")
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
	cfg, err := convertConfig(cmd, o)
	if err != nil {
		return err
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
	sd, err := checkpoint.ReadLimit(ckptPath, limit)
	if errors.Is(err, checkpoint.ErrTooLarge) && params > 0 {
		return fmt.Errorf("%w: the limit is twice the float32 weights of --arch/--config (%s parameters) plus %d MiB", err, millions(params), checkpointSlack>>20)
	}
	if err != nil {
		return err
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
	}
	switch {
	case cmd.Flags().Changed("num-classes"):
		cfg.NumClasses = o.numClasses
	case labels != nil:
		cfg.NumClasses = len(labels)
	default:
		if fc, ok := sd["head.fc.weight"]; ok && len(fc.Shape) >= 1 {
			cfg.NumClasses = fc.Shape[0]
		}
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
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("architecture: %w", err)
	}
	spec, err := convertPreprocess(o, &cfg)
	if err != nil {
		return err
	}
	weights, err := arch.ImportStateDict(&cfg, sd)
	if err != nil {
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
				Checkpoint: filepath.Base(ckptPath), SHA256: sum,
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

// convertConfig builds the architecture from --arch or --config and the
// change flags.
// Bounds on --labels (ImageNet-21k's 21,843 labels are well under 1 MiB)
// and --config (a JSON object of a dozen fields).
const (
	maxLabelsBytes     = 16 << 20
	maxArchConfigBytes = 1 << 20
)

func convertConfig(cmd *cobra.Command, o *convertOptions) (arch.Config, error) {
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
		if cfg, err = arch.Arch(o.arch); err != nil {
			return cfg, err
		}
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
		cfg.Arch = o.arch + " (custom)"
	}
	return cfg, errors.Join(errs...)
}

// convertPreprocess fills the preprocessing recipe from the flags and the
// arch's timm defaults.
func convertPreprocess(o *convertOptions, cfg *arch.Config) (preprocess.Spec, error) {
	cropPct := o.cropPct
	if cropPct == 0 {
		cropPct = arch.ArchCropPct(strings.TrimSuffix(o.arch, " (custom)"))
	}
	spec := preprocess.TimmDefault(cfg.ImgSize, cropPct)
	spec.CropMode = preprocess.CropMode(o.cropMode)
	spec.Interpolation = preprocess.Interpolation(o.interpolation)
	spec.Invert = o.invert
	if cfg.Transformer.Norm == "batchnorm2d" && strings.HasPrefix(o.arch, "coatnet_bn_0_rw") {
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
