//go:build !purego

package kernels

import (
	"github.com/coatnet-edge/coatnet-edge/arm64"
	"golang.org/x/sys/cpu"
)

// The dot-product kernel where the CPU has it (cpu.ARM64.HasASIMDDP: the
// A76, not the A72 or A53), then NEON.
func init() {
	depthwise3x3K.register("sdot", depthwise3x3Sdot, cpu.ARM64.HasASIMDDP)
	depthwise3x3K.register("neon", depthwise3x3Neon, true)
}

// nameDepthwise3x3Sdot is what asmHook hears where the SDOT kernel runs.
const nameDepthwise3x3Sdot = NameDepthwise3x3 + "Sdot"

// depthwise3x3Sdot is Depthwise3x3 on arm64.Depthwise3x3Sdot, or on the
// NEON kernel where a shift is negative (which the SDOT kernel leaves out)
// or the zero point lies beyond +-zpInt16Max.
func depthwise3x3Sdot(dst []int8, src []int8, h, w, c, stride int, weights []int8, bias []int32, pad int8, rq *Requant, y0, y1 int) {
	depthwise3x3Asm(true, dst, src, h, w, c, stride, weights, bias, pad, rq, y0, y1)
}

// depthwise3x3Neon is Depthwise3x3 on the NEON kernel, which needs at
// least 16 channels (fewer run the reference). Each output row is three
// runs: the left edge pixel, the interior pixels (whose columns are all
// inside the image) and the right edge pixels, each with the taps that
// read padding marked.
func depthwise3x3Neon(dst []int8, src []int8, h, w, c, stride int, weights []int8, bias []int32, pad int8, rq *Requant, y0, y1 int) {
	depthwise3x3Asm(false, dst, src, h, w, c, stride, weights, bias, pad, rq, y0, y1)
}

// depthwise3x3Asm drives the NEON kernel, or the SDOT kernel when sdot.
func depthwise3x3Asm(sdot bool, dst []int8, src []int8, h, w, c, stride int, weights []int8, bias []int32, pad int8, rq *Requant, y0, y1 int) {
	if c < 16 || w == 0 || y0 == y1 {
		depthwise3x3Ref(dst, src, h, w, c, stride, weights, bias, pad, rq, y0, y1)
		return
	}
	if asmHook != nil {
		asmHook(NameDepthwise3x3)
	}
	var (
		ctx                  arm64.DepthwiseCtx
		zeros, multT, shiftT [16]int32
	)
	ctx.W, ctx.C, ctx.Step, ctx.Pad, ctx.Zp = &weights[0], c, stride*c, int(pad), int(rq.ZeroPoint)
	ctx.Bias = &zeros[0]
	if bias != nil {
		ctx.Bias, ctx.BiasStep = &bias[0], 4
	}
	if len(rq.Mult) == 1 {
		for i := range multT {
			multT[i], shiftT[i] = rq.Mult[0], rq.Shift[0]
		}
		ctx.Mult, ctx.Shift = &multT[0], &shiftT[0]
	} else {
		ctx.Mult, ctx.Shift, ctx.ParamStep = &rq.Mult[0], &rq.Shift[0], 4
	}
	if rq.leftShifts() {
		ctx.LeftShift = 1
	}
	sdot = sdot && ctx.LeftShift == 0 && rq.ZeroPoint >= -zpInt16Max && rq.ZeroPoint <= zpInt16Max
	if sdot && asmHook != nil {
		asmHook(nameDepthwise3x3Sdot)
	}
	wo := (w + stride - 1) / stride
	xEnd := 1 // interior output columns are [1, xEnd)
	if w >= 2 {
		xEnd = max(1, min(wo, (w-2)/stride+1))
	}
	for oy := y0; oy < y1; oy++ {
		dwRun(&ctx, sdot, dst, src, h, w, c, stride, wo, oy, 0, 1)
		if xEnd > 1 {
			dwRun(&ctx, sdot, dst, src, h, w, c, stride, wo, oy, 1, xEnd-1)
		}
		for ox := max(1, xEnd); ox < wo; ox++ {
			dwRun(&ctx, sdot, dst, src, h, w, c, stride, wo, oy, ox, 1)
		}
	}
}

// dwRun runs n output pixels of row oy from column ox, whose taps read
// padding (or not) alike, on the SDOT kernel when sdot.
func dwRun(ctx *arm64.DepthwiseCtx, sdot bool, dst, src []int8, h, w, c, stride, wo, oy, ox, n int) {
	ctx.PadMask, ctx.N = depthwiseTaps(&ctx.Taps, src, h, w, c, stride, oy, ox), n
	ctx.Dst = &dst[(oy*wo+ox)*c]
	if sdot {
		arm64.Depthwise3x3Sdot(ctx)
	} else {
		arm64.Depthwise3x3(ctx)
	}
}
