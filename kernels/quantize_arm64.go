//go:build !purego

package kernels

import "github.com/coatnet-edge/coatnet-edge/arm64"

func init() { quantizeInputK.register("neon", quantizeInputNeon, true) }

// quantizeInputNeon quantizes whole blocks of 8 values in assembly, the
// rest in Go.
func quantizeInputNeon(dst []int8, stride int, src []float32, scale float64, zeroPoint int32) {
	n := len(src) &^ 7
	if n > 0 {
		if asmHook != nil {
			asmHook(NameQuantizeInput)
		}
		arm64.QuantizeInput(&dst[0], stride, &src[0], n, 1/scale, float64(zeroPoint))
	}
	if n < len(src) {
		quantizeInputRef(dst[n*stride:], stride, src[n:], scale, zeroPoint)
	}
}
