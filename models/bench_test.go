package models_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/benchmodel"
	"github.com/coatnet-edge/coatnet-edge/model"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
)

// BenchmarkForward compares the float and int8 engines, 1 and 2 threads,
// on the shipped pre-softmax demo model (64x64 grey) and on
// coatnet_nano_rw_224 at 224 (the conformance case's weights, or synthetic
// ones, quantized on one formula input: speed does not depend on the
// weights). One op is one inference, preprocessing excluded.
func BenchmarkForward(b *testing.B) {
	demoFloat, err := model.Open("fmnist-pre.coatnet")
	if err != nil {
		b.Fatal(err)
	}
	defer demoFloat.Close()
	demoInt8, err := model.Open("fmnist-pre-int8.coatnet")
	if err != nil {
		b.Fatal(err)
	}
	defer demoInt8.Close()
	nanoInt8, _, err := benchmodel.Build(context.Background(), benchmodel.Options{Calib: 1})
	if err != nil {
		b.Fatal(err)
	}
	nanoFloat := &model.Model{Metadata: nanoInt8.Metadata,
		Weights: arch.SyntheticWeights(&nanoInt8.Config, 1)}
	nanoFloat.Kind = model.KindFloat32
	for _, m := range []struct {
		name        string
		float, int8 model.Any
	}{
		{"fmnist-pre", demoFloat, demoInt8},
		{"coatnet_nano_rw_224", nanoFloat, nanoInt8},
	} {
		macs := m.float.Describe().Config.TotalCost().MACs
		for _, engine := range []struct {
			name string
			m    model.Any
		}{{"float", m.float}, {"int8", m.int8}} {
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("model=%s/engine=%s/threads=%d", m.name, engine.name, threads), func(b *testing.B) {
					e, err := engine.m.NewEngine(threads)
					if err != nil {
						b.Fatal(err)
					}
					defer e.Close()
					for i := range e.Input() {
						e.Input()[i] = float32(arch.SeededUniform(3, uint64(i)))
					}
					e.Run()
					b.ReportAllocs()
					b.ResetTimer()
					for b.Loop() {
						e.Run()
					}
					b.ReportMetric(float64(macs)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
				})
			}
		}
	}
}
