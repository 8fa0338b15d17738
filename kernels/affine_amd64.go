//go:build !purego

package kernels

import (
	"github.com/coatnet-edge/coatnet-edge/amd64"
	"golang.org/x/sys/cpu"
)

func init() {
	affineK.register("avx512", affineAVX512, cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW)
	affineK.register("avx2", affineAVX2, cpu.X86.HasAVX2)
}

// affineAVX512 runs everything in assembly (the last channels masked).
func affineAVX512(dst, src []int8, c int, zero int32, w []int16, bias []int32, rq *Requant) {
	if len(src) == 0 {
		return
	}
	if asmHook != nil {
		asmHook(NameAffine)
	}
	var multT, shiftT, biasT [16]int32
	ctx := affineCtx(dst, src, c, zero, w, bias, rq, &multT, &shiftT, &biasT)
	amd64.AffineAVX512(&ctx)
}

// affineAVX2 runs the assembly where there are at least 8 channels.
func affineAVX2(dst, src []int8, c int, zero int32, w []int16, bias []int32, rq *Requant) {
	rows := len(src) / c
	if c < 8 || rows == 0 {
		affineRef(dst, src, c, zero, w, bias, rq)
		return
	}
	if asmHook != nil {
		asmHook(NameAffine)
	}
	var multT, shiftT, biasT [16]int32
	ctx := affineCtx(dst, src, c, zero, w, bias, rq, &multT, &shiftT, &biasT)
	amd64.AffineAVX2(&ctx)
}

// affineCtx is the argument block, with a per-tensor multiplier and shift
// (and a missing bias) as 16 copies in multT, shiftT (and biasT).
func affineCtx(dst, src []int8, c int, zero int32, w []int16, bias []int32, rq *Requant, multT, shiftT, biasT *[16]int32) amd64.AffineCtx {
	rows := len(src) / c
	ctx := amd64.AffineCtx{Dst: &dst[0], Src: &src[0], C: c, Rows: rows, Zero: int(zero), W: &w[0], Bias: &biasT[0]}
	lo, hi := outputClamp(rq.ZeroPoint)
	amd64.Fill8(&ctx.OutLo, lo)
	amd64.Fill8(&ctx.OutHi, hi)
	amd64.Fill8(&ctx.Zp, rq.ZeroPoint)
	if bias != nil {
		ctx.Bias, ctx.BiasMask = &bias[0], -1
	}
	if rq.leftShifts() {
		ctx.Left = 1
	}
	if len(rq.Mult) == 1 {
		for i := range multT {
			multT[i], shiftT[i] = rq.Mult[0], rq.Shift[0]
		}
		ctx.Mult, ctx.Shift = &multT[0], &shiftT[0]
	} else {
		ctx.Mult, ctx.Shift, ctx.ParamMask = &rq.Mult[0], &rq.Shift[0], -1
	}
	return ctx
}
