package main

import (
	"context"
	"fmt"
	"io"
	"runtime"

	"github.com/coatnet-edge/coatnet-edge/dataset"
	"github.com/coatnet-edge/coatnet-edge/internal/progress"
	"github.com/coatnet-edge/coatnet-edge/model"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/preprocess"
	"github.com/coatnet-edge/coatnet-edge/quant"
)

// syntheticCalib is how many synthetic inputs an --arch model is
// quantized on: the scales only need activations of a realistic range,
// and speed does not depend on the weights.
const syntheticCalib = 4

// seededInputs are calibration inputs of the benchmark's formula with
// seeds other than its own fixed input's.
type seededInputs struct{ n int }

func (s seededInputs) Len() int     { return s.n }
func (s seededInputs) Name() string { return "synthetic inputs" }
func (s seededInputs) Input(i int, dst []float32) error {
	for j := range dst {
		dst[j] = float32(1.5 * arch.SeededUniform(uint64(1000+i), uint64(j)))
	}
	return nil
}

// syntheticModel makes the model --arch benchmarks, as benchncnn does
// without a model file: the architecture with arch.SyntheticWeights,
// quantized with package quant unless int8 is false. It returns the model
// and a line saying how it was made.
func syntheticModel(ctx context.Context, name string, imgSize int, int8 bool, threads int, progressW io.Writer) (model.Any, string, error) {
	cfg, err := arch.Arch(name)
	if err != nil {
		return nil, "", err
	}
	if imgSize > 0 {
		cfg.ImgSize = imgSize
	}
	if err := cfg.Validate(); err != nil {
		return nil, "", fmt.Errorf("--arch %s --img-size %d: %w", name, cfg.ImgSize, err)
	}
	m := &model.Model{}
	m.Kind, m.Name, m.Config = model.KindFloat32, name, cfg
	m.Labels, m.Preprocess = arch.DefaultLabels(cfg.NumClasses), preprocess.TimmDefault(cfg.ImgSize, 0.95)
	// Before the weights are made: a valid config may still ask for more
	// than the machine has.
	if err := m.Need().Check(1); err != nil {
		return nil, "", err
	}
	m.Weights = arch.SyntheticWeights(&cfg, 1)
	source := fmt.Sprintf("--arch %s at %d, synthetic weights", name, cfg.ImgSize)
	if !int8 {
		return m, source + ", float", nil
	}
	var bar *progress.Reporter
	qm, rep, err := quant.Quantize(ctx, m, seededInputs{syntheticCalib}, quant.Options{Threads: threads, MeasureImages: 1,
		Progress: func(pass string, done, total int) {
			if bar == nil || done == 1 {
				bar.Finish()
				bar = progress.New(progressW, "quantize "+pass, total)
			}
			bar.Set(done)
		}})
	bar.Finish()
	if err != nil {
		return nil, "", err
	}
	return qm, fmt.Sprintf("%s, quantized to int8 on %d synthetic inputs (logit cosine %.4f)", source, syntheticCalib, rep.MeanCosine), nil
}

// benchAccuracy scores the folder dataset dir with the model, on as many
// workers as threads (<= 0: all CPUs), each engine on one thread.
func benchAccuracy(ctx context.Context, m model.Any, dir string, threads int, progressW io.Writer) (*dataset.FolderReport, error) {
	set, err := dataset.OpenFolder(dir, m.Describe().Labels)
	if err != nil {
		return nil, err
	}
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	bar := progress.New(progressW, "accuracy", set.Len())
	defer bar.Finish()
	return set.Evaluate(ctx, threads, func() (dataset.Scorer, error) { return model.NewClassifier(m, 1) }, func() { bar.Add(1) })
}
