//go:build !purego

package kernels

import (
	"github.com/coatnet-edge/coatnet-edge/amd64"
	"golang.org/x/sys/cpu"
)

func init() {
	quantizeInputK.register("avx2", quantizeInputAVX2, cpu.X86.HasAVX2)
}

// quantizeInputAVX2 quantizes whole blocks of 8 values in assembly, the
// rest in Go.
func quantizeInputAVX2(dst []int8, stride int, src []float32, scale float64, zeroPoint int32) {
	n := len(src) &^ 7
	if n > 0 {
		if asmHook != nil {
			asmHook(NameQuantizeInput)
		}
		amd64.QuantizeInputAVX2(&dst[0], stride, &src[0], n, 1/scale, float64(zeroPoint))
	}
	if n < len(src) {
		quantizeInputRef(dst[n*stride:], stride, src[n:], scale, zeroPoint)
	}
}
