//go:build !purego

package kernels

import (
	"testing"

	"golang.org/x/sys/cpu"
)

// The kernels with AVX2 assembly choose it where the CPU has AVX2, or
// their AVX-512 assembly where it has that.
func TestConvImplementationAVX2(t *testing.T) {
	impl := Implementation()
	for _, op := range []string{NameDepthwise3x3, NameIm2col3x3, NamePackStrided, NamePackTransposed, NameAvgPool2x2, NameMeanChannels} {
		want := "go"
		if cpu.X86.HasAVX2 {
			want = "avx2"
		}
		if (op == NameDepthwise3x3 || op == NameMeanChannels) && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW {
			want = "avx512"
		}
		if impl[op] != want {
			t.Errorf("Implementation()[%q] = %q, want %q", op, impl[op], want)
		}
	}
}
