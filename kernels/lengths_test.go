package kernels

import (
	"math/rand/v2"
	"testing"
)

// TestElementwiseLengths runs every length 1..70 (LUT, Add, SoftmaxRow) and
// every channel count 1..70 (Affine, LayerNorm, 3 pixels) through each
// implementation: every split between the assembly's blocks, its
// overlapping last block and the Go tail.
func TestElementwiseLengths(t *testing.T) {
	t.Run("LUT", func(t *testing.T) {
		forEachImplChecked(t, NameLUT, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(200, 201))
			for n := 1; n <= 70; n++ {
				table := randTable(rng)
				src, dst := newBuffer[int8](rng, n, n%4), newBuffer[int8](rng, n, 3-n%4)
				LUT(dst.s(), src.s(), table)
				dst.checkGuards(t, "LUT", func(int) bool { return true })
				for i, v := range src.s() {
					if got, want := dst.s()[i], naiveLUT(v, table); got != want {
						t.Fatalf("n=%d: dst[%d] = %d, want %d", n, i, got, want)
					}
				}
			}
		})
	})
	t.Run("Add", func(t *testing.T) {
		forEachImplChecked(t, NameAdd, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(202, 203))
			for n := 1; n <= 70; n++ {
				p := randAddParams(rng)
				a, b, dst := newBuffer[int8](rng, n, n%4), newBuffer[int8](rng, n, 1), newBuffer[int8](rng, n, 2)
				Add(dst.s(), a.s(), b.s(), &p)
				dst.checkGuards(t, "Add", func(int) bool { return true })
				for i := range n {
					if got, want := dst.s()[i], naiveAdd(a.s()[i], b.s()[i], &p); got != want {
						t.Fatalf("n=%d %+v: dst[%d] = %d, want %d", n, p, i, got, want)
					}
				}
			}
		})
	})
	t.Run("SoftmaxRow", func(t *testing.T) {
		forEachImplChecked(t, NameSoftmaxRow, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(204, 205))
			for n := 1; n <= 70; n++ {
				for _, withPost := range []bool{false, true} {
					p := randSoftmaxParams(rng)
					if withPost && (p.ZeroPoint < -128 || p.ZeroPoint > 127) {
						p.ZeroPoint = int32(int8(p.ZeroPoint))
					}
					logits := make([]int32, n)
					randLogits(rng, logits, n%4)
					var post []int32
					if withPost {
						post = make([]int32, n)
						for j := range post {
							post[j] = rng.Int32N(4*256*p.Q) - 2*256*p.Q
						}
					}
					dst := newBuffer[int8](rng, n, n%4)
					SoftmaxRow(dst.s(), logits, post, &p)
					dst.checkGuards(t, "SoftmaxRow", func(int) bool { return true })
					want := naiveSoftmax(logits, post, &p)
					for j := range n {
						if dst.s()[j] != want[j] {
							t.Fatalf("n=%d post=%v %+v: dst[%d] = %d, want %d", n, withPost, p, j, dst.s()[j], want[j])
						}
					}
				}
			}
		})
	})
	t.Run("Affine", func(t *testing.T) {
		forEachImplChecked(t, NameAffine, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(206, 207))
			for c := 1; c <= 70; c++ {
				runAffineCase(t, rng, affineCase{rows: 3, c: c, off: c % 4, perTensor: c%3 == 0, noBias: c%2 == 1, extremes: c%5 == 0})
			}
		})
	})
	t.Run("LayerNorm", func(t *testing.T) {
		forEachImplChecked(t, NameLayerNorm, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(208, 209))
			for c := 1; c <= 70; c++ {
				runLayerNormCase(t, rng, lnCase{rows: 3, c: c, off: c % 4, fill: c % 3, eps: 1e-3 * float64(c%2)})
			}
		})
	})
}
