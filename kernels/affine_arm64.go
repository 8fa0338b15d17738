//go:build !purego

package kernels

import "github.com/coatnet-edge/coatnet-edge/arm64"

func init() { affineK.register("neon", affineNeon, true) }

// affineNeon runs the assembly where there are at least 16 channels.
func affineNeon(dst, src []int8, c int, zero int32, w []int16, bias []int32, rq *Requant) {
	rows := len(src) / c
	if c < 16 || rows == 0 {
		affineRef(dst, src, c, zero, w, bias, rq)
		return
	}
	if asmHook != nil {
		asmHook(NameAffine)
	}
	var multT, shiftT [16]int32
	ctx := arm64.AffineCtx{Dst: &dst[0], Src: &src[0], C: c, Rows: rows, Zero: int(zero), W: &w[0], Zp: int(rq.ZeroPoint)}
	if bias != nil {
		ctx.Bias = &bias[0]
	}
	ctx.Mult, ctx.Shift, ctx.Left = requantParams(rq, &multT, &shiftT, &ctx.ParamStep)
	if rq.ZeroPoint < -zpInt16Max || rq.ZeroPoint > zpInt16Max {
		ctx.Left = 1 // the other loops add the zero point to int16 values
	}
	arm64.Affine(&ctx)
}

// requantParams points at rq's multipliers and shifts for a kernel that
// reads 16 channels at a time: per channel (step 4 bytes), or 16 copies of
// a per-tensor pair in multT and shiftT (step 0). left is 1 when some
// shift is negative.
func requantParams(rq *Requant, multT, shiftT *[16]int32, step *int) (mult, shift *int32, left int) {
	if rq.leftShifts() {
		left = 1
	}
	if len(rq.Mult) == 1 {
		for i := range multT {
			multT[i], shiftT[i] = rq.Mult[0], rq.Shift[0]
		}
		*step = 0
		return &multT[0], &shiftT[0], left
	}
	*step = 4
	return &rq.Mult[0], &rq.Shift[0], left
}
