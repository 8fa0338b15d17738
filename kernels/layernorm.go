package kernels

import "math"

// LayerNormParams are the parameters of LayerNorm over c channels.
type LayerNormParams struct {
	Zero int32   // input zero point, in [-128, 127]
	Eps  float64 // epsilon in units of the input scale squared (eps/scale^2), >= 0
	// Per channel (c entries): gamma over the output scale as Q31
	// multipliers and shifts for a normalized value in Q12, and beta over
	// the output scale plus the output zero point, in output codes.
	Mult, Shift, Bias []int32
}

// LayerNorm normalizes each pixel of rows x c NHWC values over its
// channels. With d = x - Zero for the pixel's values, the exact integers
//
//	S = sum d,  V = c*sum d^2 - S^2   (c^2 times the variance)
//
// give the pixel's R = round(2^24 / (c * sqrt(V/c^2 + Eps))), computed in
// float64 (each operation correctly rounded, none fused), or 0 when V = 0
// (then every c*d - S is 0); R <= 2^24. Each channel then is
//
//	nv = sat32(((c*d - S)*R + 2^11) >> 12)        the normalized value in Q12
//	dst = sat8(RequantizeNoZP(nv, Mult[ch], Shift[ch]) + Bias[ch])
//
// with exact (int64) intermediates. len(src) is a multiple of c, dst has
// its length and must not overlap src.
func LayerNorm(dst, src []int8, c int, p *LayerNormParams) {
	if c <= 0 {
		panic("kernels: LayerNorm channels not positive")
	}
	if len(src)%c != 0 || len(dst) != len(src) {
		panic("kernels: LayerNorm src length is not a multiple of c or differs from dst")
	}
	if p == nil {
		panic("kernels: nil LayerNormParams")
	}
	if len(p.Mult) != c || len(p.Shift) != c || len(p.Bias) != c {
		panic("kernels: LayerNorm parameters are not one per channel")
	}
	if p.Zero < -128 || p.Zero > 127 || !(p.Eps >= 0) || math.IsInf(p.Eps, 0) {
		panic("kernels: LayerNorm zero point or epsilon out of range")
	}
	for _, s := range p.Shift {
		checkShift(s)
	}
	layerNormK.fn(dst, src, c, p)
}

var layerNormK = newKernel[func(dst, src []int8, c int, p *LayerNormParams)](layerNormRef, NameLayerNorm)

// layerNormR is the pixel's R from the exact sums of d and d^2.
func layerNormR(c int, s, q int64, eps float64) int64 {
	cc := int64(c)
	v := cc*q - s*s
	if v == 0 {
		return 0
	}
	u := float64(v)/float64(cc*cc) + eps
	return int64(math.Round(float64(1<<24) / (float64(cc) * math.Sqrt(u))))
}
