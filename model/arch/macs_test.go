package arch

import (
	"math"
	"testing"
)

// TestCostsMatchSpec compares the counts with the table in
// ../shared/design/coatnet.md §4 (params, GMACs, attention GMACs at 224).
func TestCostsMatchSpec(t *testing.T) {
	for _, tc := range []struct {
		arch          string
		params        float64 // millions
		gmacs, attnGM float64
	}{
		{"coatnet_pico_rw_224", 10.85, 2.03, 0.092},
		{"coatnet_nano_rw_224", 15.14, 2.38, 0.114},
		{"coatnet_0_rw_224", 27.44, 4.41, 0.197},
		{"coatnet_1_rw_224", 41.72, 7.99, 0.404},
		{"coatnet_2_rw_224", 73.87, 15.02, 0.538},
		{"coatnet_0_224", 25.04, 4.55, 0.155},
		{"coatnet_1_224", 42.23, 8.64, 0.420},
		{"coatnet_2_224", 74.69, 16.43, 0.561},
		{"coatnet_3_224", 166.97, 36.45, 0.841},
		{"coatnet_4_224", 275.43, 62.32, 1.667},
		{"coatnet_5_224", 687.47, 145.26, 2.773},
	} {
		cfg, err := Arch(tc.arch)
		if err != nil {
			t.Fatal(err)
		}
		tot := cfg.TotalCost()
		if got := float64(tot.Params) / 1e6; math.Abs(got-tc.params) > 0.006 {
			t.Errorf("%s: %.3f M params, spec %.2f", tc.arch, got, tc.params)
		}
		if got := float64(tot.MACs) / 1e9; math.Abs(got-tc.gmacs) > 0.006 {
			t.Errorf("%s: %.3f GMACs, spec %.2f", tc.arch, got, tc.gmacs)
		}
		if got := float64(tot.Attn) / 1e9; math.Abs(got-tc.attnGM) > 0.0006 {
			t.Errorf("%s: %.4f attention GMACs, spec %.3f", tc.arch, got, tc.attnGM)
		}
	}
}
