package kernels

import (
	"math"
	"slices"
)

// Requant requantizes int32 accumulators to int8 (see the package
// documentation for the exact steps). Mult and Shift have either one entry
// per output channel or exactly one entry, which then applies to every
// channel; both must have the same length and every shift must lie in
// [-31, 31].
type Requant struct {
	Mult      []int32
	Shift     []int32
	ZeroPoint int32
	// ready records Check; left says whether some shift is negative, sat
	// whether some multiplier is -2^31 (SQRDMULH's one saturating case).
	ready, left, sat bool
}

// Check panics unless every shift lies in [-31, 31], and remembers that,
// whether some shift is negative and whether some multiplier is -2^31,
// so that the kernels taking r skip those scans on every call: an engine calls them once a
// task, many times an inference, with the same parameters (stage 2's MLP
// on four threads: 49 calls over 1024 shifts). Mult and Shift must not
// change after it.
func (r *Requant) Check() {
	for _, s := range r.Shift {
		checkShift(s)
	}
	r.left = slices.ContainsFunc(r.Shift, isLeftShift)
	r.sat = slices.Contains(r.Mult, math.MinInt32)
	r.ready = true
}

// leftShifts reports whether some shift is negative: a left shift comes
// first, on the kernels' slower path.
func (r *Requant) leftShifts() bool {
	if r.ready {
		return r.left
	}
	return slices.ContainsFunc(r.Shift, isLeftShift)
}

func isLeftShift(s int32) bool { return s < 0 }

// saturatingMults reports whether some multiplier is -2^31, the only one
// with which SQRDMULH saturates: kernels skip that case's fix without it
// (QuantizeMultiplier never gives it).
func (r *Requant) saturatingMults() bool {
	if r.ready {
		return r.sat
	}
	return slices.Contains(r.Mult, math.MinInt32)
}

// Apply requantizes acc as output channel channel.
func (r *Requant) Apply(acc int32, channel int) int8 {
	mult, shift := r.params(channel)
	checkShift(shift)
	return sat8(int64(requantize(acc, mult, shift)) + int64(r.ZeroPoint))
}

// params returns the multiplier and shift of channel.
func (r *Requant) params(channel int) (mult, shift int32) {
	if len(r.Mult) == 1 {
		return r.Mult[0], r.Shift[0]
	}
	return r.Mult[channel], r.Shift[channel]
}

// check panics unless r is usable for m output channels.
func (r *Requant) check(m int) {
	if r == nil {
		panic("kernels: nil Requant")
	}
	if len(r.Mult) != len(r.Shift) {
		panic("kernels: Requant Mult and Shift lengths differ")
	}
	if len(r.Mult) != 1 && len(r.Mult) != m {
		panic("kernels: Requant needs 1 or one per channel multipliers")
	}
	if !r.ready {
		for _, s := range r.Shift {
			checkShift(s)
		}
	}
}

func checkShift(shift int32) {
	if shift < -31 || shift > 31 {
		panic("kernels: requantization shift out of range [-31, 31]")
	}
}

// RequantizeNoZP is steps 1-3 of requantization: acc*real as int32, with no
// zero point and no saturation to int8.
func RequantizeNoZP(acc int32, mult, shift int32) int32 {
	checkShift(shift)
	return requantize(acc, mult, shift)
}

// requantize is steps 1-3 of requantization; shift must be in [-31, 31].
func requantize(acc, mult, shift int32) int32 {
	if shift < 0 {
		acc = sat32(int64(acc) << -shift)
	}
	x := sqrdmulh(acc, mult)
	if shift > 0 {
		x = int32((int64(x) + 1<<(shift-1)) >> shift)
	}
	return x
}

// sqrdmulh is SQRDMULH: the high half of 2*a*b, rounded half up, saturated.
func sqrdmulh(a, b int32) int32 {
	if a == math.MinInt32 && b == math.MinInt32 {
		return math.MaxInt32 // 2*a*b = 2^63 does not fit int64
	}
	return int32((2*int64(a)*int64(b) + 1<<31) >> 32)
}

func sat32(v int64) int32 { return int32(min(max(v, math.MinInt32), math.MaxInt32)) }

func sat8(v int64) int8 { return int8(min(max(v, math.MinInt8), math.MaxInt8)) }

// QuantizeMultiplier encodes a finite real (of either sign) as a Q31
// multiplier with |mult| in [2^30, 2^31-1] and a shift in [-31, 31], so
// that requantizing acc approximates acc*real = acc * mult*2^-31 * 2^-shift
// (relative error of the encoding at most 2^-31). Zero, and reals so small
// (|real| < 2^-32) that no accumulator could requantize to anything but
// 0, give (0, 0). It panics for NaN, infinities and |real| >= 2^31 -
// 2^-1, which would need a shift below -31.
func QuantizeMultiplier(real float64) (mult, shift int32) {
	if math.IsNaN(real) || math.IsInf(real, 0) {
		panic("kernels: QuantizeMultiplier of a non-finite real")
	}
	if real == 0 {
		return 0, 0
	}
	frac, exp := math.Frexp(real) // real = frac * 2^exp, 0.5 <= |frac| < 1
	q := math.Round(frac * (1 << 31))
	if math.Abs(q) == 1<<31 {
		q /= 2
		exp++
	}
	if exp > 31 {
		panic("kernels: QuantizeMultiplier real too large (needs a shift below -31)")
	}
	if exp < -31 {
		return 0, 0
	}
	return int32(q), int32(-exp)
}
