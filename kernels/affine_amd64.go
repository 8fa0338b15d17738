//go:build !purego

package kernels

import (
	"github.com/coatnet-edge/coatnet-edge/amd64"
	"golang.org/x/sys/cpu"
)

func init() { affineK.register("avx2", affineAVX2, cpu.X86.HasAVX2) }

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
	var multT, shiftT, biasT [8]int32
	ctx := amd64.AffineCtx{Dst: &dst[0], Src: &src[0], C: c, Rows: rows, Zero: int(zero), W: &w[0],
		Zp: int(rq.ZeroPoint), Bias: &biasT[0]}
	if bias != nil {
		ctx.Bias, ctx.BiasMask = &bias[0], -1
	}
	for _, s := range rq.Shift {
		if s < 0 {
			ctx.Left = 1
			break
		}
	}
	if len(rq.Mult) == 1 {
		amd64.Fill8(&multT, rq.Mult[0])
		amd64.Fill8(&shiftT, rq.Shift[0])
		ctx.Mult, ctx.Shift = &multT[0], &shiftT[0]
	} else {
		ctx.Mult, ctx.Shift, ctx.ParamMask = &rq.Mult[0], &rq.Shift[0], -1
	}
	amd64.AffineAVX2(&ctx)
}
