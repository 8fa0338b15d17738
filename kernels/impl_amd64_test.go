//go:build !purego

package kernels

import (
	"slices"

	"golang.org/x/sys/cpu"
)

// amd64Best is the implementation of op that TestImplementation expects
// on amd64: avx512 where op has it and the CPU has AVX-512 F and BW (and
// VBMI for LUT), else avx2 where op has it and the CPU has AVX2, else "".
func amd64Best(op string) string {
	impls := List(op)
	if slices.Contains(impls, "avx512") && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW &&
		(op != NameLUT || cpu.X86.HasAVX512VBMI && cpu.X86.HasBMI2) {
		return "avx512"
	}
	if slices.Contains(impls, "avx2") && cpu.X86.HasAVX2 {
		return "avx2"
	}
	return ""
}
