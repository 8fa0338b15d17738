package kernels

import "math"

// AddParams are the fixed-point parameters of [Add]. Zero points of the
// inputs must lie in [-128, 127]; shifts in [-31, 31].
type AddParams struct {
	ZeroA, ZeroB, ZeroOut                           int32
	MultA, ShiftA, MultB, ShiftB, MultOut, ShiftOut int32
}

// Add is the quantized residual addition: for each i, with ra =
// (a[i]-ZeroA) << 20 and rb = (b[i]-ZeroB) << 20,
//
//	s = sat32(RequantizeNoZP(ra, MultA, ShiftA) + RequantizeNoZP(rb, MultB, ShiftB))
//	dst[i] = sat8(RequantizeNoZP(s, MultOut, ShiftOut) + ZeroOut)
//
// The sum saturates as SQADD does, but cannot overflow when the reals
// encoded by (MultA, ShiftA) and (MultB, ShiftB) have magnitude at most 1
// (|ra|, |rb| < 2^28), as [NewAddParams] guarantees. dst, a and b have the
// same length; dst may be a or b itself.
func Add(dst, a, b []int8, p *AddParams) {
	if len(a) != len(dst) || len(b) != len(dst) {
		panic("kernels: Add lengths differ")
	}
	if p == nil {
		panic("kernels: nil AddParams")
	}
	if p.ZeroA < math.MinInt8 || p.ZeroA > math.MaxInt8 || p.ZeroB < math.MinInt8 || p.ZeroB > math.MaxInt8 {
		panic("kernels: Add input zero point out of int8 range")
	}
	checkShift(p.ShiftA)
	checkShift(p.ShiftB)
	checkShift(p.ShiftOut)
	addK.fn(dst, a, b, p)
}

var addK = newKernel[func(dst, a, b []int8, p *AddParams)](addRef, NameAdd)

// addInputShift is the left shift that gives the inputs headroom before
// their rescaling (TFLite's left_shift for int8).
const addInputShift = 20

// NewAddParams computes the parameters of out = a + b for real values
// scale*(q - zero), as TFLite does: both inputs are rescaled to
// twice the larger input scale, so |MultA|, |MultB| <= 1/2, and the sum to
// the output scale. Scales must be positive and finite, zero points in
// [-128, 127].
func NewAddParams(scaleA float64, zeroA int32, scaleB float64, zeroB int32, scaleOut float64, zeroOut int32) AddParams {
	for _, s := range [...]float64{scaleA, scaleB, scaleOut} {
		if !(s > 0) || math.IsInf(s, 0) {
			panic("kernels: NewAddParams scale is not positive and finite")
		}
	}
	for _, z := range [...]int32{zeroA, zeroB, zeroOut} {
		if z < math.MinInt8 || z > math.MaxInt8 {
			panic("kernels: NewAddParams zero point out of int8 range")
		}
	}
	twiceMax := 2 * max(scaleA, scaleB)
	p := AddParams{ZeroA: zeroA, ZeroB: zeroB, ZeroOut: zeroOut}
	p.MultA, p.ShiftA = QuantizeMultiplier(scaleA / twiceMax)
	p.MultB, p.ShiftB = QuantizeMultiplier(scaleB / twiceMax)
	p.MultOut, p.ShiftOut = QuantizeMultiplier(twiceMax / (float64(1<<addInputShift) * scaleOut))
	return p
}
