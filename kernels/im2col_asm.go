//go:build (amd64 || arm64) && !purego

package kernels

// im2col3x3Asm gathers each output row's interior pixels (whose three
// kernel columns are inside the image) with the architecture's assembly
// (im2colRun, in im2col_<arch>.go) and its edge pixels in Go.
func im2col3x3Asm(dst, src []int8, h, w, c, stride int, pad int8, p0, p1 int) {
	if c == 0 || p0 == p1 {
		return
	}
	if asmHook != nil {
		asmHook(NameIm2col3x3)
	}
	wo := (w + stride - 1) / stride
	xEnd := 1 // interior output columns are [1, xEnd)
	if w >= 2 {
		xEnd = max(1, min(wo, (w-2)/stride+1))
	}
	k := 9 * c
	ctx := im2colCtx{Seg: 3 * c, Step: stride * c, Ld: k, Pad: int(pad)}
	for p := p0; p < p1; {
		oy, ox := p/wo, p%wo
		end := min(p1, p-ox+wo) // the end of this output row in the range
		for ; p < end && (ox < 1 || ox >= xEnd); p, ox = p+1, ox+1 {
			im2col3x3Ref(dst[(p-p0)*k:], src, h, w, c, stride, pad, p, p+1)
		}
		if n := min(end, p-ox+xEnd) - p; n > 0 {
			for ky := range 3 {
				ctx.Rows[ky] = nil
				if iy := oy*stride + ky - 1; iy >= 0 && iy < h {
					ctx.Rows[ky] = &src[(iy*w+ox*stride-1)*c]
				}
			}
			ctx.Dst, ctx.N = &dst[(p-p0)*k], n
			im2colRun(&ctx)
			p, ox = p+n, ox+n
		}
		for ; p < end; p++ {
			im2col3x3Ref(dst[(p-p0)*k:], src, h, w, c, stride, pad, p, p+1)
		}
	}
}
