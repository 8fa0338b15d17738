//go:build linux

package kernels

import (
	"math/rand/v2"
	"testing"
)

// Depthwise3x3 reads nothing before or after src: src lies against
// inaccessible pages, for every image size up to 5x5 (runs of one and
// several interior pixels, odd and even), both strides and channel counts
// that are and are not multiples of 16.
func TestDepthwise3x3ReadsOnlySrc(t *testing.T) {
	forEachImpl(t, "Depthwise3x3", func(t *testing.T, impl string) {
		rng := rand.New(rand.NewPCG(22, 23))
		calls := countAsmCalls(t)
		for stride := 1; stride <= 2; stride++ {
			for h := 1; h <= 5; h++ {
				for w := 1; w <= 5; w++ {
					for _, c := range []int{16, 17, 32, 40} {
						for _, atEnd := range []bool{true, false} {
							src := guardedBytes(t, h*w*c, atEnd)
							randInt8s(rng, src)
							wt := make([]int8, 9*c)
							randWeights(rng, wt)
							rq := randRequant(rng, c, c == 17, 1e3)
							ho, wo := (h+stride-1)/stride, (w+stride-1)/stride
							dst := make([]int8, ho*wo*c)
							pad := int8(rng.Uint32())
							Depthwise3x3(dst, src, h, w, c, stride, wt, nil, pad, rq, 0, ho)
							for oy := range ho {
								for ox := range wo {
									for ch := range c {
										want := formulaApply(naiveDepthwise(src, h, w, c, stride, wt, nil, pad, oy, ox, ch), rq, ch)
										if got := dst[(oy*wo+ox)*c+ch]; got != want {
											t.Fatalf("h=%d w=%d c=%d s=%d: (%d,%d,%d) = %d, want %d", h, w, c, stride, oy, ox, ch, got, want)
										}
									}
								}
							}
						}
					}
				}
			}
		}
		if impl != "go" && calls["Depthwise3x3"] == 0 {
			t.Errorf("impl %s: the assembly never ran", impl)
		}
	})
}
