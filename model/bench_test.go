package model

import (
	"fmt"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/float"
)

// BenchmarkFloatForward times the float32 reference forward pass of
// coatnet_nano_rw_224 at 224 (synthetic weights) with 1 and 2 threads.
func BenchmarkFloatForward(b *testing.B) {
	cfg, err := arch.Arch("coatnet_nano_rw_224")
	if err != nil {
		b.Fatal(err)
	}
	w := arch.SyntheticWeights(&cfg, 1)
	macs := cfg.TotalCost().MACs
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("arch=%s/size=%d/threads=%d", cfg.Arch, cfg.ImgSize, threads), func(b *testing.B) {
			net, err := float.New(cfg, w, threads)
			if err != nil {
				b.Fatal(err)
			}
			defer net.Close()
			for i := range net.Input() {
				net.Input()[i] = float32(arch.SeededUniform(2, uint64(i)))
			}
			net.Run()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				net.Run()
			}
			b.ReportMetric(float64(macs)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
}
