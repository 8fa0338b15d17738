//go:build !purego

package kernels

import (
	"math"
	"testing"
)

// The 32-bit form of Add's input terms against the requantization itself,
// for every input and zero point, multipliers at the int32 extremes and
// around the bit where they split, and every shift the form takes.
func TestAddInputTerms(t *testing.T) {
	mults := []int32{math.MinInt32, math.MinInt32 + 1, -1 << 30, -2047, -2048, -1, 0, 1, 2047, 2048, 1 << 30, 1518500250, math.MaxInt32}
	for shift := int32(0); shift <= 31; shift++ {
		for _, mult := range mults {
			for zero := int32(-128); zero <= 127; zero++ {
				tm := addInputTerms(mult, shift, zero)
				for a := int32(-128); a <= 127; a++ {
					want := requantize((a-zero)<<addInputShift, mult, shift)
					if got := (a*tm.hi + (a*tm.lo+tm.cLo)>>11 + tm.cHi) >> shift; got != want {
						t.Fatalf("mult %d shift %d zero %d: a=%d gives %d, want %d", mult, shift, zero, a, got, want)
					}
				}
			}
		}
	}
}
