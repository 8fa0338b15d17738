//go:build !purego

package amd64

// AffineAVX2 runs Affine on ctx.Rows rows of ctx.C >= 8 channels, 8
// channels a step, the last step overlapping the one before it where C is
// not a multiple of 8 (affine_amd64.s).
//
//go:noescape
func AffineAVX2(ctx *AffineCtx)

// AffineCtx is the argument block of AffineAVX2 (offsets checked by a
// test).
type AffineCtx struct {
	Dst, Src  *int8
	C, Rows   int
	Zero, Zp  int // input and output zero points
	W         *int16
	Bias      *int32 // C values, or 8 zeros with BiasMask 0
	BiasMask  int    // -1: Bias per channel; 0: the same 8 values for all
	Mult      *int32 // C values, or 8 copies with ParamMask 0
	Shift     *int32
	ParamMask int
	Left      int // nonzero: some shift is negative
}
