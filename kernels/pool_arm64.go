//go:build !purego

package kernels

import "github.com/coatnet-edge/coatnet-edge/arm64"

func init() { avgPoolK.register("neon", avgPool2x2Neon, true) }

// avgPool2x2Neon runs the assembly a row segment at a time where there are
// at least 16 channels.
func avgPool2x2Neon(dst, src []int8, h, w, c int, p0, p1 int) {
	if c < 16 || p0 == p1 {
		avgPool2x2Ref(dst, src, h, w, c, p0, p1)
		return
	}
	if asmHook != nil {
		asmHook(NameAvgPool2x2)
	}
	wo := w / 2
	ctx := arm64.PoolCtx{RowStep: w * c, C: c, Nb: c / 16}
	if c%16 != 0 {
		ctx.TailBack = 16 - c%16
	}
	for p := p0; p < p1; {
		oy, ox := p/wo, p%wo
		n := min(p1-p, wo-ox)
		ctx.Src, ctx.Dst, ctx.N = &src[(2*oy*w+2*ox)*c], &dst[p*c], n
		arm64.AvgPool2x2(&ctx)
		p += n
	}
}
