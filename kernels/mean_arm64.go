//go:build !purego

package kernels

import "github.com/coatnet-edge/coatnet-edge/arm64"

func init() { meanK.register("neon", meanChannelsNeon, true) }

// meanChannelsNeon runs the assembly for ranges of at least 16 channels.
func meanChannelsNeon(dst, src []int8, n, c int, zero int32, rq *Requant, c0, c1 int) {
	if c1-c0 < 16 {
		meanChannelsRef(dst, src, n, c, zero, rq, c0, c1)
		return
	}
	if asmHook != nil {
		asmHook(NameMeanChannels)
	}
	var multT, shiftT [16]int32
	ctx := arm64.MeanCtx{Dst: &dst[0], N: n, C: c, C0: c0, C1: c1,
		Base: int(-int32(n) * zero), Zp: int(rq.ZeroPoint)}
	if n > 0 {
		ctx.Src = &src[0]
	}
	ctx.Mult, ctx.Shift, ctx.Left = requantParams(rq, &multT, &shiftT, &ctx.ParamStep)
	arm64.MeanChannels(&ctx)
}
