//go:build !purego

package kernels

import (
	"github.com/coatnet-edge/coatnet-edge/amd64"
	"golang.org/x/sys/cpu"
)

func init() {
	depthwise3x3K.register("avx512", depthwise3x3AVX512, cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW)
	depthwise3x3K.register("avx2", depthwise3x3AVX2, cpu.X86.HasAVX2)
}

// depthwise3x3AVX512 is Depthwise3x3 on the AVX-512 kernel, 16 channels
// at a time, for at least 16 channels (the AVX2 kernel does 8 to 15).
func depthwise3x3AVX512(dst []int8, src []int8, h, w, c, stride int, weights []int8, bias []int32, pad int8, rq *Requant, y0, y1 int) {
	depthwise3x3X86(c >= 16, dst, src, h, w, c, stride, weights, bias, pad, rq, y0, y1)
}

// depthwise3x3AVX2 is Depthwise3x3 on the AVX2 kernel, which needs at
// least 8 channels, a non-empty row and a zero point the int16 saturating add keeps exact
// (others run the reference). Each output row is three runs, as on arm64:
// the left edge pixel, the interior pixels and the right edge pixels, each
// with the taps that read padding marked.
func depthwise3x3AVX2(dst []int8, src []int8, h, w, c, stride int, weights []int8, bias []int32, pad int8, rq *Requant, y0, y1 int) {
	depthwise3x3X86(false, dst, src, h, w, c, stride, weights, bias, pad, rq, y0, y1)
}

// depthwise3x3X86 drives the AVX-512 kernel (wide) or the AVX2 one.
func depthwise3x3X86(wide bool, dst []int8, src []int8, h, w, c, stride int, weights []int8, bias []int32, pad int8, rq *Requant, y0, y1 int) {
	if c < 8 || w == 0 || y0 == y1 || !zpFitsInt16(rq.ZeroPoint) {
		depthwise3x3Ref(dst, src, h, w, c, stride, weights, bias, pad, rq, y0, y1)
		return
	}
	if asmHook != nil {
		asmHook(NameDepthwise3x3)
	}
	var (
		ctx                  amd64.DepthwiseCtx
		zeros, multT, shiftT [8]int32
	)
	ctx.W, ctx.C, ctx.Step, ctx.Pad, ctx.Zp = &weights[0], c, stride*c, int(pad), int(rq.ZeroPoint)
	ctx.Bias = &zeros[0]
	if bias != nil {
		ctx.Bias, ctx.BiasStep = &bias[0], 4
	}
	ctx.Mult, ctx.Shift, ctx.LeftShift = requantParams8(rq, &multT, &shiftT, &ctx.ParamStep)
	wo := (w + stride - 1) / stride
	xEnd := 1 // interior output columns are [1, xEnd)
	if w >= 2 {
		xEnd = max(1, min(wo, (w-2)/stride+1))
	}
	for oy := y0; oy < y1; oy++ {
		dwRunX86(wide, &ctx, dst, src, h, w, c, stride, wo, oy, 0, 1)
		if xEnd > 1 {
			dwRunX86(wide, &ctx, dst, src, h, w, c, stride, wo, oy, 1, xEnd-1)
		}
		for ox := max(1, xEnd); ox < wo; ox++ {
			dwRunX86(wide, &ctx, dst, src, h, w, c, stride, wo, oy, ox, 1)
		}
	}
}

// dwRunX86 runs n output pixels of row oy from column ox, whose taps read
// padding (or not) alike.
func dwRunX86(wide bool, ctx *amd64.DepthwiseCtx, dst, src []int8, h, w, c, stride, wo, oy, ox, n int) {
	ctx.PadMask, ctx.N = depthwiseTaps(&ctx.Taps, src, h, w, c, stride, oy, ox), n
	ctx.Dst = &dst[(oy*wo+ox)*c]
	if wide {
		amd64.Depthwise3x3AVX512(ctx)
	} else {
		amd64.Depthwise3x3(ctx)
	}
}

// zpFitsInt16 reports whether an output zero point is one the AVX2
// kernels add exactly: they saturate the requantized value to int16
// before a saturating int16 add of zp, which gives sat8(x + zp) for
// |zp| <= 32767-127.
func zpFitsInt16(zp int32) bool { return zp >= -32640 && zp <= 32640 }

// requantParams8 points at rq's multipliers and shifts for a kernel that
// reads 8 channels at a time: per channel (step 4 bytes), or 8 copies of
// a per-tensor pair in multT and shiftT (step 0). left is 1 when some
// shift is negative.
func requantParams8(rq *Requant, multT, shiftT *[8]int32, step *int) (mult, shift *int32, left int) {
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
