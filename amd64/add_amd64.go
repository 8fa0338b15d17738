//go:build !purego

package amd64

// AddAVX2 adds ctx.N values (a multiple of 8; add_amd64.s).
//
//go:noescape
func AddAVX2(ctx *AddCtx)

// AddCtx is the argument block of AddAVX2 and AddAVX512 (offsets checked
// by a test): each parameter as 8 copies, the shifts split into the left
// count, the right count and the right count minus one. With Fast set the
// kernels take each input's term in the 32-bit form of package kernels'
// addInputTerms (Hi, Lo, CLo, CHi, Shift) instead of the general steps.
type AddCtx struct {
	Dst, A, B        *int8
	N                int
	Fast             int // nonzero: the inputs' terms in 32 bits (their shifts are >= 0)
	Left             int // nonzero with Fast: the output shift is negative
	ZeroA, ZeroB     [8]int32
	ZeroOut          [8]int32
	OutLo, OutHi     [8]int32 // the output clamped to these before ZeroOut is added
	HiA, HiB         [8]int32
	LoA, LoB         [8]int32
	CLoA, CLoB       [8]int32
	CHiA, CHiB       [8]int32
	ShiftA, ShiftB   [8]int32
	MultA, MultB     [8]int32
	MultOut          [8]int32
	LeftA, LeftB     [8]int32
	LeftOut          [8]int32
	RightA, RightB   [8]int32
	RightOut         [8]int32
	Right1A, Right1B [8]int32
	Right1Out        [8]int32
}

// Fill8 sets every lane of v to x.
func Fill8(v *[8]int32, x int32) {
	for i := range v {
		v[i] = x
	}
}

// Shifts8 sets the left, right and right-minus-one counts of shift.
func Shifts8(l, r, r1 *[8]int32, shift int32) {
	Fill8(l, max(-shift, 0))
	Fill8(r, max(shift, 0))
	Fill8(r1, max(shift, 0)-1)
}

// AddAVX512 adds ctx.N > 0 values, 16 a step, the last partial step
// masked (add_amd64.s; AVX-512 F and BW).
//
//go:noescape
func AddAVX512(ctx *AddCtx)
