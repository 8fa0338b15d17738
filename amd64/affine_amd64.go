//go:build !purego

package amd64

// AffineAVX2 runs Affine on ctx.Rows >= 1 rows of ctx.C >= 8 channels,
// 8 channels a step, the last step overlapping the one before it where C
// is not a multiple of 8 (affine_amd64.s).
//
//go:noescape
func AffineAVX2(ctx *AffineCtx)

// AffineCtx is the argument block of AffineAVX2 (offsets checked by a
// test).
type AffineCtx struct {
	Dst, Src  *int8
	C, Rows   int
	Zero      int // the input zero point
	W         *int16
	Bias      *int32 // C values, or 16 zeros with BiasMask 0
	BiasMask  int    // -1: Bias per channel; 0: the same 16 values for all
	Mult      *int32 // C values, or 16 copies with ParamMask 0
	Shift     *int32
	ParamMask int
	Left      int      // nonzero: some shift is negative
	OutLo     [8]int32 // the requantized value clamped to OutLo, OutHi
	OutHi     [8]int32
	Zp        [8]int32 // then the output zero point added
}

// AffineAVX512 runs Affine on ctx.Rows >= 1 rows of ctx.C >= 1 channels, 16
// channels a step, the last partial step masked (affine_amd64.s; AVX-512
// F and BW).
//
//go:noescape
func AffineAVX512(ctx *AffineCtx)
