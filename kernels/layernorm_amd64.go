//go:build !purego

package kernels

import (
	"math"
	"slices"

	"github.com/coatnet-edge/coatnet-edge/amd64"
	"golang.org/x/sys/cpu"
)

func init() {
	layerNormK.register("avx512", layerNormAVX512, cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW)
	layerNormK.register("avx2", layerNormAVX2, cpu.X86.HasAVX2)
}

// layerNormAVX512 is layerNormAVX2 with the normalization in AVX-512.
func layerNormAVX512(dst, src []int8, c int, p *LayerNormParams) {
	layerNormAsm(dst, src, c, p, true)
}

// layerNormAVX2 runs the assembly for 16 to 32767 channels.
func layerNormAVX2(dst, src []int8, c int, p *LayerNormParams) {
	layerNormAsm(dst, src, c, p, false)
}

// lnChunkAVX2 is how many pixels layerNormAVX2 takes at a time.
const lnChunkAVX2 = 64

// layerNormAsm runs the assembly for 16 to 32767 channels (the sums fit
// int32), lnChunkAVX2 pixels at a time: their sums (the last c%16
// channels in Go), each pixel's R in Go (float64, as the reference), then
// the normalization (in AVX-512 with wide). A bool rather than the
// function, so that ctx does not escape.
func layerNormAsm(dst, src []int8, c int, p *LayerNormParams, wide bool) {
	rows := len(src) / c
	if c < 16 || c > math.MaxInt16 || rows == 0 {
		layerNormRef(dst, src, c, p)
		return
	}
	if asmHook != nil {
		asmHook(NameLayerNorm)
	}
	var (
		s, q [lnChunkAVX2]int32
		r    [lnChunkAVX2]int32
		sp   [lnChunkAVX2][8]int32
	)
	ctx := amd64.LayerNormCtx{C: c, Zero: int(p.Zero), Nb: c / 16, S: &s[0], Q: &q[0], SP: &sp[0], R: &r[0],
		Mult: &p.Mult[0], Shift: &p.Shift[0], Bias: &p.Bias[0]}
	for _, sh := range p.Shift {
		if sh < 0 {
			ctx.Left = 1
			break
		}
	}
	if !slices.ContainsFunc(p.Bias, func(b int32) bool { return !zpFitsInt16(b) }) {
		ctx.Bias16 = 1
	}
	z := int64(p.Zero)
	for p0 := 0; p0 < rows; p0 += lnChunkAVX2 {
		n := min(lnChunkAVX2, rows-p0)
		ctx.Src, ctx.Dst, ctx.Pixels = &src[p0*c], &dst[p0*c], n
		amd64.LayerNormStatsAVX2(&ctx)
		for i := range n {
			si, qi := int64(s[i]), int64(q[i])
			for _, v := range src[(p0+i)*c+c&^15 : (p0+i+1)*c] {
				d := int64(v) - z
				si += d
				qi += d * d
			}
			r[i] = int32(layerNormR(c, si, qi, p.Eps))
			amd64.Fill8(&sp[i], int32(si+int64(c)*z))
		}
		if wide {
			amd64.LayerNormApplyAVX512(&ctx)
		} else {
			amd64.LayerNormApplyAVX2(&ctx)
		}
	}
}
