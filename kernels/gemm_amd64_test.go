//go:build !purego

package kernels

import (
	"math/rand/v2"
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
