//go:build !purego

package kernels

import (
	"github.com/coatnet-edge/coatnet-edge/amd64"
	"golang.org/x/sys/cpu"
)

func init() { meanK.register("avx2", meanChannelsAVX2, cpu.X86.HasAVX2) }

// meanChannelsAVX2 runs the assembly for ranges of at least 8 channels
// whose zero point it adds exactly.
func meanChannelsAVX2(dst, src []int8, n, c int, zero int32, rq *Requant, c0, c1 int) {
	if c1-c0 < 8 || !zpFitsInt16(rq.ZeroPoint) {
		meanChannelsRef(dst, src, n, c, zero, rq, c0, c1)
		return
	}
	if asmHook != nil {
		asmHook(NameMeanChannels)
	}
	var multT, shiftT [8]int32
	ctx := amd64.MeanCtx{Dst: &dst[0], N: n, C: c, C0: c0, C1: c1,
		Base: int(-int32(n) * zero), Zp: int(rq.ZeroPoint)}
	if n > 0 {
		ctx.Src = &src[0]
	}
	ctx.Mult, ctx.Shift, ctx.Left = requantParams8(rq, &multT, &shiftT, &ctx.ParamStep)
	amd64.MeanChannels(&ctx)
}
