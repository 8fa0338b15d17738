package kernels

// Affine scales and offsets every channel of rows x c NHWC values and
// requantizes them: for each value of channel ch,
//
//	acc = bias[ch] + w[ch] * (src[p*c+ch] - zero)   (mod 2^32)
//	dst[p*c+ch] = rq.Apply(acc, ch)
//
// with int16 weights (so that |w*(x-zero)| < 2^24) and zero in [-128,
// 127]. It is the per-channel affine operation of a folded BatchNorm (zero
// 0), and the squeeze-excite gate (w[ch] = gate[ch] - zeroGate, no bias,
// zero the input's zero point). len(src) is a multiple of c, dst has its
// length, bias has c entries or is nil (zero), rq has 1 or c multipliers.
// dst must not overlap src.
func Affine(dst, src []int8, c int, zero int32, w []int16, bias []int32, rq *Requant) {
	if c <= 0 {
		panic("kernels: Affine channels not positive")
	}
	if len(src)%c != 0 || len(dst) != len(src) {
		panic("kernels: Affine src length is not a multiple of c or differs from dst")
	}
	if len(w) != c {
		panic("kernels: Affine weights length is not c")
	}
	if bias != nil && len(bias) != c {
		panic("kernels: Affine bias length is not c")
	}
	if zero < -128 || zero > 127 {
		panic("kernels: Affine zero point out of int8 range")
	}
	rq.check(c)
	affineK.fn(dst, src, c, zero, w, bias, rq)
}

var affineK = newKernel[func(dst, src []int8, c int, zero int32, w []int16, bias []int32, rq *Requant)](affineRef, NameAffine)
