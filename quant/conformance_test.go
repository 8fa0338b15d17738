package quant

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/conformance"
	"github.com/coatnet-edge/coatnet-edge/model"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
)

// caseCalibration makes inputs with the conformance formula and seeds other
// than the case's own.
type caseCalibration struct {
	c     *conformance.Case
	seeds []uint64
}

func (c caseCalibration) Len() int     { return len(c.seeds) }
func (c caseCalibration) Name() string { return c.c.Name + " formula inputs" }
func (c caseCalibration) Input(i int, dst []float32) error {
	in := c.c.Input
	in.Seed = strconv.FormatUint(c.seeds[i], 10)
	v, err := in.Generate()
	copy(dst, v)
	return err
}

// TestNanoConformanceCosine quantizes timm's coatnet_nano_rw_224 case,
// calibrated on 8 inputs made with the case formula and other seeds, and
// reports the cosine similarity of int8 and float logits on the case's own
// input (a figure for the record; there is no bar).
func TestNanoConformanceCosine(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: a 224x224 model takes minutes under emulation")
	}
	dir := filepath.Join(conformance.Dir(), "coatnet_nano_rw_224_224_s1")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	c, err := conformance.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := c.Config()
	if err != nil {
		t.Fatal(err)
	}
	sd, err := c.StateDict()
	if err != nil {
		t.Fatal(err)
	}
	m := &model.Model{Metadata: arch.Metadata{Kind: model.KindFloat32, Name: c.Name, Config: cfg,
		Labels: arch.DefaultLabels(cfg.NumClasses), Preprocess: tinyModel(t, "coatnet_nano_rw", arch.PreSoftmax).Preprocess},
		Weights: sd}
	m.Preprocess.Size = cfg.ImgSize
	cal := caseCalibration{c: c, seeds: []uint64{101, 102, 103, 104, 105, 106, 107, 108}}
	qm, rep, err := Quantize(context.Background(), m, cal, Options{MeasureImages: 2})
	if err != nil {
		t.Fatal(err)
	}
	in, err := c.Input.Generate()
	if err != nil {
		t.Fatal(err)
	}
	net := qm.NewNet(0)
	defer net.Close()
	copy(net.Input(), in)
	got := net.Run()
	want, _ := c.Logits()
	w32 := make([]float32, len(want))
	for i, v := range want {
		w32[i] = float32(v)
	}
	t.Logf("coatnet_nano_rw_224 int8 vs timm float logits on the case input: cosine %.5f, top-1 %d vs %d; calibration inputs: mean cosine %.5f",
		cosine(got, w32), argmax(got), argmax(w32), rep.MeanCosine)
}
