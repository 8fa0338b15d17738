//go:build !purego

package kernels

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/amd64"
	"golang.org/x/sys/cpu"
)

// The AVX2 kernel at the edge of its frame: rows of GemmAVX2MaxK-3 and
// GemmAVX2MaxK values fill it (the second with its tail group in the last
// slot), longer ones are widened in the K loop instead; with a ragged
// tile and block, and int8 extremes.
func TestGemmAVX2FrameEdge(t *testing.T) {
	if !cpu.X86.HasAVX2 {
		t.Skip("CPU lacks AVX2")
	}
	setGemmImpl(t, "avx2")
	rng := rand.New(rand.NewPCG(30, 31))
	for _, k := range []int{amd64.GemmAVX2MaxK - 3, amd64.GemmAVX2MaxK, amd64.GemmAVX2MaxK + 1, amd64.GemmAVX2MaxK + 5} {
		for fill := range 5 {
			for _, int32Out := range []bool{false, true} {
				runGemmCase(t, rng, gemmCase{rows: 5, m: 17, k: k, padSrc: 3, padDst: 1, offSrc: 1, offDst: 2, fill: fill, int32Out: int32Out})
			}
		}
	}
}

// The AVX-512 VNNI layout's sums in assembly against setSums4, on shapes
// around the panel of 32 channels and the four groups a step, with int8
// extremes (the packer keeps -128 from the weights' range, but the sums
// take any byte).
func TestWeightSumsAVX512VNNI(t *testing.T) {
	if !setGemmImpl(t, "avx512vnni") {
		t.Skip("CPU lacks AVX-512 VNNI")
	}
	rng := rand.New(rand.NewPCG(32, 33))
	for _, m := range []int{1, 31, 32, 33, 100} {
		for _, k := range []int{1, 4, 15, 16, 17, 64, 196, 300} {
			w := NewWeights(m, k)
			for i := range w.data {
				w.data[i] = int8(rng.Uint32())
				if rng.IntN(8) == 0 {
					w.data[i] = [...]int8{-128, 127}[rng.IntN(2)]
				}
			}
			w.setSums()
			got := append([]int32(nil), w.sums...)
			w.setSums4()
			if !slices.Equal(got, w.sums) {
				t.Fatalf("m=%d k=%d: assembly sums %v, setSums4 %v", m, k, got, w.sums)
			}
		}
	}
}
