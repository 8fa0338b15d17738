//go:build !purego

package kernels

import (
	"github.com/coatnet-edge/coatnet-edge/amd64"
	"golang.org/x/sys/cpu"
)

func init() {
	meanK.register("avx512", meanChannelsAVX512, cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW)
	meanK.register("avx2", meanChannelsAVX2, cpu.X86.HasAVX2)
}

// meanChannelsAVX512 runs the AVX-512 kernel for ranges of at least 16
// channels, the AVX2 one for 8 to 15.
func meanChannelsAVX512(dst, src []int8, n, c int, zero int32, rq *Requant, c0, c1 int) {
	meanChannelsX86(c1-c0 >= 16, dst, src, n, c, zero, rq, c0, c1)
}

// meanChannelsAVX2 runs the assembly for ranges of at least 8 channels
// whose zero point it adds exactly.
func meanChannelsAVX2(dst, src []int8, n, c int, zero int32, rq *Requant, c0, c1 int) {
	meanChannelsX86(false, dst, src, n, c, zero, rq, c0, c1)
}

// meanChannelsX86 drives the AVX-512 kernel (wide) or the AVX2 one.
func meanChannelsX86(wide bool, dst, src []int8, n, c int, zero int32, rq *Requant, c0, c1 int) {
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
	if wide {
		amd64.MeanChannelsAVX512(&ctx)
	} else {
		amd64.MeanChannels(&ctx)
	}
}
