//go:build !purego

package kernels

import (
	"math"

	"github.com/coatnet-edge/coatnet-edge/arm64"
)

func init() { layerNormK.register("neon", layerNormNeon, true) }

// lnChunk is how many pixels layerNormNeon takes at a time.
const lnChunk = 64

// layerNormNeon runs the assembly for 16 to 32767 channels, lnChunk pixels
// at a time: their sums (the last c%16 channels in Go), each pixel's R in
// Go, then the normalization.
func layerNormNeon(dst, src []int8, c int, p *LayerNormParams) {
	rows := len(src) / c
	if c < 16 || c > math.MaxInt16 || rows == 0 {
		layerNormRef(dst, src, c, p)
		return
	}
	if asmHook != nil {
		asmHook(NameLayerNorm)
	}
	var (
		s, q   [lnChunk]int64
		s32, r [lnChunk]int32
	)
	ctx := arm64.LayerNormCtx{C: c, Zero: int(p.Zero), Nb: c / 16, S: &s[0], Q: &q[0], S32: &s32[0], R: &r[0],
		Mult: &p.Mult[0], Shift: &p.Shift[0], Bias: &p.Bias[0]}
	for _, sh := range p.Shift {
		if sh < 0 {
			ctx.Left = 1
			break
		}
	}
	z := int64(p.Zero)
	for p0 := 0; p0 < rows; p0 += lnChunk {
		n := min(lnChunk, rows-p0)
		ctx.Src, ctx.Dst, ctx.Pixels = &src[p0*c], &dst[p0*c], n
		arm64.LayerNormStats(&ctx)
		for i := range n {
			for _, v := range src[(p0+i)*c+c&^15 : (p0+i+1)*c] {
				d := int64(v) - z
				s[i] += d
				q[i] += d * d
			}
			s32[i], r[i] = int32(s[i]), int32(layerNormR(c, s[i], q[i], p.Eps))
		}
		arm64.LayerNormApply(&ctx)
	}
}
