//go:build !purego

package kernels

import "github.com/coatnet-edge/coatnet-edge/arm64"

func init() { depthwise3x3K.register("neon", depthwise3x3Neon, true) }

// depthwise3x3Neon is Depthwise3x3 on the NEON kernel, which needs at
// least 16 channels (fewer run the reference). Each output row is three
// runs: the left edge pixel, the interior pixels (whose columns are all
// inside the image) and the right edge pixels, each with the taps that
// read padding marked.
func depthwise3x3Neon(dst []int8, src []int8, h, w, c, stride int, weights []int8, bias []int32, pad int8, rq *Requant, y0, y1 int) {
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
	for _, s := range rq.Shift {
		if s < 0 {
			ctx.LeftShift = 1
			break
		}
	}
	wo := (w + stride - 1) / stride
	xEnd := 1 // interior output columns are [1, xEnd)
	if w >= 2 {
		xEnd = max(1, min(wo, (w-2)/stride+1))
	}
	for oy := y0; oy < y1; oy++ {
		dwRun(&ctx, dst, src, h, w, c, stride, wo, oy, 0, 1)
		if xEnd > 1 {
			dwRun(&ctx, dst, src, h, w, c, stride, wo, oy, 1, xEnd-1)
		}
		for ox := max(1, xEnd); ox < wo; ox++ {
			dwRun(&ctx, dst, src, h, w, c, stride, wo, oy, ox, 1)
		}
	}
}

// dwRun runs n output pixels of row oy from column ox, whose taps read
// padding (or not) alike.
func dwRun(ctx *arm64.DepthwiseCtx, dst, src []int8, h, w, c, stride, wo, oy, ox, n int) {
	iy0, ix0 := oy*stride-1, ox*stride-1
	center := &src[((iy0+1)*w+ix0+1)*c]
	mask := 0
	for t := range 9 {
		iy, ix := iy0+t/3, ix0+t%3
		if iy < 0 || iy >= h || ix < 0 || ix >= w {
			mask |= 1 << t
			ctx.Taps[t] = center
		} else {
			ctx.Taps[t] = &src[(iy*w+ix)*c]
		}
	}
	ctx.PadMask, ctx.N = mask, n
	ctx.Dst = &dst[(oy*wo+ox)*c]
	arm64.Depthwise3x3(ctx)
}
