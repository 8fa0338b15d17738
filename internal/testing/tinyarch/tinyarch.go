// Package tinyarch is the small CoAtNet that the engines' tests build in
// milliseconds: coatnet_nano_rw's shape at 64x64 with narrow stages.
package tinyarch

import (
	"testing"

	"github.com/coatnet-edge/coatnet-edge/model/arch"
)

// Config is coatnet_nano_rw at 64x64, widths 16-128, depths 1-2-2-2,
// 10 classes.
func Config(t testing.TB) arch.Config {
	t.Helper()
	cfg, err := arch.Arch("coatnet_nano_rw")
	if err != nil {
		t.Fatal(err)
	}
	cfg.ImgSize = 64
	cfg.EmbedDim = [4]int{16, 32, 64, 128}
	cfg.Depths = [4]int{1, 2, 2, 2}
	cfg.StemWidth = [2]int{8, 16}
	cfg.NumClasses = 10
	return cfg
}
