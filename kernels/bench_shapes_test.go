package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The shapes of coatnet_nano_rw_224 at 224 that BenchmarkLUT and
// BenchmarkAdd leave out: the stem's and stage 1's activations and stage
// 3's MLP, the residual sums of stages 1 and 3.

func BenchmarkLUTShapes(b *testing.B) {
	rng := rand.New(rand.NewPCG(210, 211))
	for _, n := range []int{112 * 112 * 64, 28 * 28 * 512, 7 * 7 * 2048} {
		src, dst := make([]int8, n), make([]int8, n)
		randInt8s(rng, src)
		table := randTable(rng)
		forEachImplB(b, "LUT", fmt.Sprintf("N=%d", n), func(b *testing.B) {
			for b.Loop() {
				LUT(dst, src, table)
			}
			elemRate(b, n)
		})
	}
}

func BenchmarkAddShapes(b *testing.B) {
	rng := rand.New(rand.NewPCG(212, 213))
	for _, n := range []int{28 * 28 * 128, 7 * 7 * 512} {
		a, c, dst := make([]int8, n), make([]int8, n), make([]int8, n)
		randInt8s(rng, a)
		randInt8s(rng, c)
		p := NewAddParams(0.05, 3, 0.08, -7, 0.1, 2)
		forEachImplB(b, "Add", fmt.Sprintf("N=%d", n), func(b *testing.B) {
			for b.Loop() {
				Add(dst, a, c, &p)
			}
			elemRate(b, n)
		})
	}
}
