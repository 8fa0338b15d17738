//go:build !purego

package kernels

import "testing"

// The SDOT kernel leaves negative shifts to the NEON one: with right
// shifts only, TestDepthwise3x3's cases run on it where the CPU has the
// dot product.
func TestDepthwise3x3SdotRightShifts(t *testing.T) {
	forEachImpl(t, "Depthwise3x3", func(t *testing.T, impl string) {
		calls := countAsmCalls(t)
		depthwiseCases(t, true)
		if impl == "sdot" && calls[nameDepthwise3x3Sdot] == 0 {
			t.Error("the SDOT kernel never ran")
		}
	})
}
