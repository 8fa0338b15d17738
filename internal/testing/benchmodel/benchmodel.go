// Package benchmodel builds the int8 coatnet_nano_rw_224 models that the
// arm64 instruction counts (make bench-arm64, tools/armbench) and the
// whole-model implementation tests run: the float model of one of timm's
// conformance cases (its weights rebuilt from the case's seeded formula),
// or [arch.SyntheticWeights] where the case is absent, quantized with
// package quant on a few inputs made with the case formula and seeds other
// than the case's own (as quant's conformance test does).
package benchmodel

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/conformance"
	"github.com/coatnet-edge/coatnet-edge/model"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/int8net"
	"github.com/coatnet-edge/coatnet-edge/preprocess"
	"github.com/coatnet-edge/coatnet-edge/quant"
)

// Options choose the model.
type Options struct {
	// Case is the conformance case folder name under conformance.Dir()
	// (default coatnet_nano_rw_224_224_s1).
	Case string
	// Arch and ImgSize make the synthetic model used when the case folder
	// is missing (default coatnet_nano_rw_224 at 224).
	Arch    string
	ImgSize int
	// Calib is the number of calibration inputs (default 4).
	Calib int
	// Threads for the quantizer's float and int8 passes (0: all CPUs).
	Threads int
	// RequireCase makes a missing case an error instead of falling back
	// to synthetic weights.
	RequireCase bool
}

// calibration makes inputs with a case's input formula and other seeds.
type calibration struct {
	in    conformance.Tensor
	name  string
	seeds []uint64
}

func (c calibration) Len() int     { return len(c.seeds) }
func (c calibration) Name() string { return c.name }
func (c calibration) Input(i int, dst []float32) error {
	in := c.in
	in.Seed = strconv.FormatUint(c.seeds[i], 10)
	v, err := in.Generate()
	if err != nil {
		return err
	}
	if len(v) != len(dst) {
		return fmt.Errorf("calibration input has %d values, the model reads %d", len(v), len(dst))
	}
	copy(dst, v)
	return nil
}

// Input fills dst (CHW) with calibration input i of the formula: what
// Build calibrated on for i < Options.Calib, fresh inputs after that.
func Input(cfg *arch.Config, i int, dst []float32) {
	in := formulaInput(cfg)
	c := calibration{in: in, seeds: []uint64{101 + uint64(i)}}
	if err := c.Input(0, dst); err != nil {
		panic(err)
	}
}

// formulaInput is the input tensor of the conformance formula for cfg.
func formulaInput(cfg *arch.Config) conformance.Tensor {
	return conformance.Tensor{Key: "input", Shape: []int{1, cfg.InChans, cfg.ImgSize, cfg.ImgSize}, Seed: "1", Scale: 2}
}

// Build returns the int8 model and a line saying where its weights came
// from.
func Build(ctx context.Context, opt Options) (*int8net.Model, string, error) {
	if opt.Case == "" {
		opt.Case = "coatnet_nano_rw_224_224_s1"
	}
	if opt.Arch == "" {
		opt.Arch = "coatnet_nano_rw_224"
	}
	if opt.ImgSize == 0 {
		opt.ImgSize = 224
	}
	if opt.Calib <= 0 {
		opt.Calib = 4
	}
	var (
		cfg    arch.Config
		w      map[string]arch.Tensor
		source string
		err    error
	)
	dir := filepath.Join(conformance.Dir(), opt.Case)
	if _, statErr := os.Stat(filepath.Join(dir, "case.json")); statErr == nil {
		c, err := conformance.Load(dir)
		if err != nil {
			return nil, "", err
		}
		if cfg, err = c.Config(); err != nil {
			return nil, "", err
		}
		if w, err = c.StateDict(); err != nil {
			return nil, "", err
		}
		source = "conformance case " + c.Name
	} else if opt.RequireCase {
		return nil, "", fmt.Errorf("no conformance case %s: %w", opt.Case, statErr)
	} else {
		if cfg, err = arch.Arch(opt.Arch); err != nil {
			return nil, "", err
		}
		cfg.ImgSize = opt.ImgSize
		if err := cfg.Validate(); err != nil {
			return nil, "", err
		}
		w = arch.SyntheticWeights(&cfg, 1)
		source = fmt.Sprintf("%s at %d, synthetic weights (no %s)", opt.Arch, opt.ImgSize, dir)
	}
	m := &model.Model{Metadata: arch.Metadata{Kind: model.KindFloat32, Name: cfg.Arch, Config: cfg,
		Labels: arch.DefaultLabels(cfg.NumClasses), Preprocess: preprocess.TimmDefault(cfg.ImgSize, 0.95)},
		Weights: w}
	if m.Name == "" {
		m.Name = opt.Arch
	}
	seeds := make([]uint64, opt.Calib)
	for i := range seeds {
		seeds[i] = 101 + uint64(i)
	}
	cal := calibration{in: formulaInput(&cfg), name: "conformance formula inputs, seeds 101..", seeds: seeds}
	qm, rep, err := quant.Quantize(ctx, m, cal, quant.Options{Threads: opt.Threads, MeasureImages: 1})
	if err != nil {
		return nil, "", err
	}
	source += fmt.Sprintf(", quantized on %d formula inputs (logit cosine %.4f)", opt.Calib, rep.MeanCosine)
	return qm, source, nil
}
