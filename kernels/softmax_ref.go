package kernels

import "math"

// softmaxRowRef is the reference of SoftmaxRow. It computes each e_j twice
// (for the sum, then for the output) rather than keep them.
func softmaxRowRef(dst []int8, logits []int32, postBiasQ8 []int32, p *SoftmaxParams) {
	if len(logits) == 0 {
		return
	}
	mx := logits[0]
	for _, l := range logits {
		mx = max(mx, l)
	}
	var sum int64
	for _, l := range logits {
		sum += softmaxExp(mx, l, p)
	}
	r := (int64(p.Q)<<22 + sum/2) / sum
	dst = dst[:len(logits)]
	for j, l := range logits {
		er := softmaxExp(mx, l, p) * r
		if postBiasQ8 == nil {
			dst[j] = sat8((er+1<<21)>>22 + int64(p.ZeroPoint))
		} else {
			v := er>>14 + int64(postBiasQ8[j])
			dst[j] = sat8((v+128)>>8 + int64(p.ZeroPoint))
		}
	}
}

// softmaxExp is e_j: 2^15 * 2^(-z/256) for the exponent z of mx - l.
func softmaxExp(mx, l int32, p *SoftmaxParams) int64 {
	t := int32(min(int64(mx)-int64(l), math.MaxInt32))
	z := min(max(requantize(t, p.ExpMult, p.ExpShift), 0), 4095)
	return int64(expTable[z&255] >> (z >> 8))
}
