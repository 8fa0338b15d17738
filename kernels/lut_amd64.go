//go:build !purego

package kernels

import (
	"github.com/coatnet-edge/coatnet-edge/amd64"
	"golang.org/x/sys/cpu"
)

func init() {
	lutK.register("avx512", lutAVX512, cpu.X86.HasAVX512VBMI && cpu.X86.HasAVX512BW && cpu.X86.HasBMI2)
	lutK.register("avx2", lutAVX2, cpu.X86.HasAVX2)
}

// lutAVX512 runs everything in assembly (VPERMI2B, the tail masked).
func lutAVX512(dst, src []int8, table *[256]int8) {
	if len(src) == 0 {
		return
	}
	if asmHook != nil {
		asmHook(NameLUT)
	}
	amd64.LUTVBMI(&dst[0], &src[0], len(src), table)
}

// lutAVX2 runs whole blocks of 32 bytes in assembly, the rest in Go.
func lutAVX2(dst, src []int8, table *[256]int8) {
	n := len(src) &^ 31
	if n > 0 {
		if asmHook != nil {
			asmHook(NameLUT)
		}
		amd64.LUTAVX2(&dst[0], &src[0], n, table)
	}
	lutRef(dst[n:], src[n:], table)
}
