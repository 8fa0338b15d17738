package kernels

import "math"

// SoftmaxParams are the parameters of [SoftmaxRow]. ExpMult and ExpShift
// encode scale*256/ln2, where scale is the real value of one logit unit;
// Q in [1, 255] is the number of output steps per unit probability and
// ZeroPoint the output code of probability 0: the real probability of an
// output q is (q - ZeroPoint)/Q. With Q = 255 and ZeroPoint = -128 the
// probabilities use all 256 int8 codes, p = (q + 128)/255.
type SoftmaxParams struct {
	ExpMult, ExpShift int32
	Q                 int32
	ZeroPoint         int32
}

// NewSoftmaxParams returns the parameters for logits whose unit is
// logitScale (positive and finite), q steps per unit probability (1..255)
// and the given output zero point.
func NewSoftmaxParams(logitScale float64, q int32, zeroPoint int32) SoftmaxParams {
	if !(logitScale > 0) || math.IsInf(logitScale, 0) {
		panic("kernels: NewSoftmaxParams scale is not positive and finite")
	}
	p := SoftmaxParams{Q: q, ZeroPoint: zeroPoint}
	p.ExpMult, p.ExpShift = QuantizeMultiplier(logitScale * 256 / math.Ln2)
	p.check()
	return p
}

func (p *SoftmaxParams) check() {
	if p.Q < 1 || p.Q > 255 {
		panic("kernels: softmax Q out of range [1, 255]")
	}
	checkShift(p.ExpShift)
}

// SoftmaxRow computes the softmax of one row of int32 logits into int8
// probabilities, in integers only. With mx the largest logit, for each j
//
//	t = min(mx - logits[j], 2^31-1)
//	z = clamp(RequantizeNoZP(t, ExpMult, ExpShift), 0, 4095)   exponent in units of ln2/256
//	e_j = expTable[z & 255] >> (z >> 8)                        2^15 * 2^(-z/256); the largest is 2^15
//	sum = sum_j e_j
//	R = (Q<<22 + sum/2) / sum                                  integer division, rounded to nearest
//
// and then, without a static kernel (postBiasQ8 nil, the bias was added to
// the logits before the softmax),
//
//	dst[j] = sat8(((e_j*R + 2^21) >> 22) + ZeroPoint)
//
// or, with the static kernel added after the softmax (postBiasQ8 has one
// entry per logit: the kernel times Q times 256, so in units of 1/256 of an
// output step),
//
//	v = ((e_j*R) >> 14) + postBiasQ8[j]
//	dst[j] = sat8(((v + 128) >> 8) + ZeroPoint)
//
// where expTable[i] = round(2^15 * 2^(-i/256)) and all arithmetic is exact
// (int64). For rows shorter than 32768 every intermediate fits int32 (the
// clamp of t is a saturating subtraction; e_j*R < 2^30), except v with a
// huge postBiasQ8, where a saturating int32 add gives the same int8. dst
// has the length of logits.
//
// Accuracy against the float64 softmax, in output steps (1/Q): within 0.92
// on random rows (measured, n <= 196, Q = 255). The shift truncates each
// e_j by less than one unit of 2^-15, so a row with many small terms has a
// sum short by up to n-1 units: the error is then bounded by
// 0.75 + Q*(n-1)/32768 steps (1.92 measured for n = 196, Q = 255).
func SoftmaxRow(dst []int8, logits []int32, postBiasQ8 []int32, p *SoftmaxParams) {
	if len(dst) != len(logits) {
		panic("kernels: SoftmaxRow dst and logits lengths differ")
	}
	if postBiasQ8 != nil && len(postBiasQ8) != len(logits) {
		panic("kernels: SoftmaxRow postBiasQ8 and logits lengths differ")
	}
	if p == nil {
		panic("kernels: nil SoftmaxParams")
	}
	p.check()
	softmaxRowK.fn(dst, logits, postBiasQ8, p)
}

var softmaxRowK = newKernel[func(dst []int8, logits []int32, postBiasQ8 []int32, p *SoftmaxParams)](softmaxRowRef, NameSoftmaxRow)

// expTable[i] = round(2^15 * 2^(-i/256)): 32768 down to 16428. No entry is
// within 2*10^-4 of a rounding tie, so the table is the same whatever the
// last bits of math.Exp2 are.
var expTable = func() (t [256]int32) {
	for i := range t {
		t[i] = int32(math.Round(32768 * math.Exp2(-float64(i)/256)))
	}
	return t
}()
