//go:build !purego

package kernels

import (
	"unsafe"

	"github.com/coatnet-edge/coatnet-edge/arm64"
)

// expTable4096[z] = expTable[z&255] >> (z>>8), e for every exponent z.
var expTable4096 = func() (t [4096]uint16) {
	for z := range t {
		t[z] = uint16(expTable[z&255] >> (z >> 8))
	}
	return t
}()

func init() {
	softmaxRowK.register("neon", softmaxRowNeon, true)
	attentionSoftmaxK.register("neon", attentionSoftmaxNeon, true)
}

// softmaxMaxRow is the longest row softmaxRowNeon keeps its exponents for
// on the stack; longer rows run the reference.
const softmaxMaxRow = 1024

// softmaxRowNeon runs the assembly for rows of 4 to softmaxMaxRow values,
// except the post form with a zero point outside int8 (where the
// saturating sum would differ from the exact one).
func softmaxRowNeon(dst []int8, logits []int32, postBiasQ8 []int32, p *SoftmaxParams) {
	n := len(logits)
	if n < 4 || n > softmaxMaxRow || postBiasQ8 != nil && (p.ZeroPoint < -128 || p.ZeroPoint > 127) {
		softmaxRowRef(dst, logits, postBiasQ8, p)
		return
	}
	if asmHook != nil {
		asmHook(NameSoftmaxRow)
	}
	var zbuf [softmaxMaxRow]uint16
	ctx := arm64.SoftmaxCtx{Logits: &logits[0], Dst: &dst[0], N: n, Rows: 1, Zbuf: &zbuf[0], Exp: &expTable4096[0]}
	setSoftmaxParams(&ctx, p)
	if postBiasQ8 != nil {
		ctx.Bias = &postBiasQ8[0]
	}
	arm64.Softmax(&ctx)
}

// setSoftmaxParams clamps the zero point to [-512, 512], which the
// assembly adds to int16 values: the pre form adds it to quotients in [0,
// 256], where any zero point beyond gives the same saturated bytes; the
// post form runs the assembly only with zero points in int8.
func setSoftmaxParams(c *arm64.SoftmaxCtx, p *SoftmaxParams) {
	c.Mult, c.Shift, c.Q, c.Zp = int(p.ExpMult), int(p.ExpShift), int(p.Q), int(min(max(p.ZeroPoint, -512), 512))
}

// attentionSoftmaxNeon runs the assembly for grids of side >= 4, except
// the post form with a zero point outside int8. scratch holds the bias or
// l row in its first n values and the exponents in the next n.
func attentionSoftmaxNeon(dst []int8, logits []int32, side int, relBias []int32, post bool, p *SoftmaxParams, i0, i1 int, scratch []int32) {
	n := side * side
	if side < 4 || i0 == i1 || post && (p.ZeroPoint < -128 || p.ZeroPoint > 127) {
		attentionSoftmaxRef(dst, logits, side, relBias, post, p, i0, i1, scratch)
		return
	}
	if asmHook != nil {
		asmHook(NameAttentionSoftmax)
	}
	ctx := arm64.SoftmaxCtx{Logits: &logits[i0*n], LdL: 4 * n, Dst: &dst[i0*n], LdD: n, N: n, Rows: i1 - i0,
		Table: &relBias[0], Side: side, Span: 2*side - 1, Iy: i0 / side, Ix: i0 % side,
		Scratch: &scratch[0], Zbuf: (*uint16)(unsafe.Pointer(&scratch[n])), Exp: &expTable4096[0]}
	setSoftmaxParams(&ctx, p)
	if post {
		ctx.Post = 1
	}
	arm64.Softmax(&ctx)
}
