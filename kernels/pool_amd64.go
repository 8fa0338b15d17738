//go:build !purego

package kernels

import (
	"github.com/coatnet-edge/coatnet-edge/amd64"
	"golang.org/x/sys/cpu"
)

func init() { avgPoolK.register("avx2", avgPool2x2AVX2, cpu.X86.HasAVX2) }

// avgPool2x2AVX2 runs the assembly a row segment at a time where there are
// at least 16 channels.
func avgPool2x2AVX2(dst, src []int8, h, w, c int, p0, p1 int) {
	if c < 16 || p0 == p1 {
		avgPool2x2Ref(dst, src, h, w, c, p0, p1)
		return
	}
	if asmHook != nil {
		asmHook(NameAvgPool2x2)
	}
	wo := w / 2
	ctx := amd64.PoolCtx{RowStep: w * c, C: c}
	for p := p0; p < p1; {
		oy, ox := p/wo, p%wo
		n := min(p1-p, wo-ox)
		ctx.Src, ctx.Dst, ctx.N = &src[(2*oy*w+2*ox)*c], &dst[p*c], n
		amd64.AvgPool2x2(&ctx)
		p += n
	}
}
