package kernels

// MeanChannels is the global average pool of an n x c NHWC tensor (the
// squeeze of squeeze-excite, the head's pool), for channels [c0, c1):
//
//	s = sum_{p<n} (src[p*c+ch] - zero)   (mod 2^32)
//	dst[ch] = rq.Apply(s, ch)
//
// where rq holds 1/n times the scale ratio (1 or c multipliers). src has
// n*c values, dst c; only dst[c0:c1] is written. zero lies in [-128, 127].
func MeanChannels(dst, src []int8, n, c int, zero int32, rq *Requant, c0, c1 int) {
	if n < 0 || c < 0 {
		panic("kernels: negative MeanChannels size")
	}
	if len(src) != n*c || len(dst) != c {
		panic("kernels: MeanChannels src length is not n*c or dst length not c")
	}
	if c0 < 0 || c0 > c1 || c1 > c {
		panic("kernels: MeanChannels channels out of range")
	}
	if zero < -128 || zero > 127 {
		panic("kernels: MeanChannels zero point out of int8 range")
	}
	rq.check(c)
	meanK.fn(dst, src, n, c, zero, rq, c0, c1)
}

var meanK = newKernel[func(dst, src []int8, n, c int, zero int32, rq *Requant, c0, c1 int)](meanChannelsRef, NameMeanChannels)
