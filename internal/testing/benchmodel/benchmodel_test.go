package benchmodel

import (
	"context"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/implcheck"
	"github.com/coatnet-edge/coatnet-edge/model"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/int8net"
	"github.com/coatnet-edge/coatnet-edge/preprocess"
	"github.com/coatnet-edge/coatnet-edge/quant"
)

// agree checks qm on every kernel level and thread count against the
// portable path, on formula input 7.
func agree(t *testing.T, qm *int8net.Model, threads []int) {
	t.Helper()
	levels, err := implcheck.Agree(qm, func(dst []float32) { Input(&qm.Config, 7, dst) }, threads)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("levels %v, threads %v: bit-identical", levels, threads)
}

// TestNano64 quantizes coatnet_nano_rw_224 at 64x64 (the conformance case
// coatnet_nano_rw_224_64_s2, or synthetic weights) and checks that the
// NEON kernels (with and without the dot product) compute exactly what
// the references do, for 1 to 4 threads. Cheap enough for qemu in -short.
func TestNano64(t *testing.T) {
	qm, src, err := Build(context.Background(), Options{Case: "coatnet_nano_rw_224_64_s2", ImgSize: 64, Calib: 1, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(src)
	agree(t, qm, []int{1, 2, 3, 4})
}

// TestTiny128 is a narrow CoAtNet at 128x128, in both attention forms, so
// that every attention grid (8x8 and 4x4) runs the NEON softmax (grids
// under 4x4 run the reference).
func TestTiny128(t *testing.T) {
	for _, form := range []arch.AttentionForm{arch.PreSoftmax, arch.PostSoftmax} {
		cfg, err := arch.Arch("coatnet_nano_rw_224")
		if err != nil {
			t.Fatal(err)
		}
		cfg.ImgSize, cfg.NumClasses, cfg.Attention = 128, 10, form
		cfg.EmbedDim, cfg.Depths, cfg.StemWidth = [4]int{16, 32, 64, 64}, [4]int{1, 1, 2, 1}, [2]int{8, 16}
		m := &model.Model{Metadata: arch.Metadata{Kind: model.KindFloat32, Name: "tiny128", Config: cfg,
			Labels: arch.DefaultLabels(10), Preprocess: preprocess.TimmDefault(128, 0.95)},
			Weights: arch.SyntheticWeights(&cfg, 5)}
		cal := calibration{in: formulaInput(&cfg), name: "formula", seeds: []uint64{1}}
		qm, _, err := quant.Quantize(context.Background(), m, cal, quant.Options{Threads: 2, MeasureImages: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Run(string(form), func(t *testing.T) { agree(t, qm, []int{1, 2, 3, 4}) })
	}
}

// TestNano224 is the model of the instruction counts (make bench-arm64):
// the conformance case coatnet_nano_rw_224_224_s1 quantized as
// tools/armbench does. Minutes under qemu: not in -short.
func TestNano224(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: a 224x224 model takes minutes under emulation (TestNano64 and TestTiny128 run)")
	}
	qm, src, err := Build(context.Background(), Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(src)
	agree(t, qm, []int{1, 3})
}
