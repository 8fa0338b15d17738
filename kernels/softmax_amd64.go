//go:build !purego

package kernels

import (
	"github.com/coatnet-edge/coatnet-edge/amd64"
	"golang.org/x/sys/cpu"
)

// expTable32[z] = expTable[z&255] >> (z>>8), e for every exponent z, for
// VPGATHERDD.
var expTable32 = func() (t [4096]int32) {
	for z := range t {
		t[z] = expTable[z&255] >> (z >> 8)
	}
	return t
}()

// expTable16 is expTable as uint16, for SoftmaxAVX512's permutes.
var expTable16 = func() (t [256]uint16) {
	for i, e := range expTable {
		t[i] = uint16(e)
	}
	return t
}()

func init() {
	softmaxRowK.register("avx512", softmaxRowAVX512, cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW)
	attentionSoftmaxK.register("avx512", attentionSoftmaxAVX512, cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW)
	softmaxRowK.register("avx2", softmaxRowAVX2, cpu.X86.HasAVX2)
	attentionSoftmaxK.register("avx2", attentionSoftmaxAVX2, cpu.X86.HasAVX2)
}

// softmaxMaxRowAVX2 is the longest row softmaxRowAVX2 keeps its e_j for on
// the stack; longer rows run the reference.
const softmaxMaxRowAVX2 = 1024

// softmaxSmallRowAVX2 is the longest row that takes a small buffer.
const softmaxSmallRowAVX2 = 256

// softmaxRowAVX2 runs the assembly for rows of 8 to softmaxMaxRowAVX2
// values, except the post form with a zero point outside int8 (where the
// saturating sum would differ from the exact one).
func softmaxRowAVX2(dst []int8, logits []int32, postBiasQ8 []int32, p *SoftmaxParams) {
	n := len(logits)
	if n < 8 || n > softmaxMaxRowAVX2 || postBiasQ8 != nil && (p.ZeroPoint < -128 || p.ZeroPoint > 127) {
		softmaxRowRef(dst, logits, postBiasQ8, p)
		return
	}
	if asmHook != nil {
		asmHook(NameSoftmaxRow)
	}
	ctx := amd64.SoftmaxCtx{Logits: &logits[0], Dst: &dst[0], N: n}
	setSoftmaxParamsAVX2(&ctx, p)
	if postBiasQ8 != nil {
		ctx.Bias, ctx.Post = &postBiasQ8[0], 1
	}
	// The e_j on the stack, in a buffer no larger than needed: Go zeroes
	// it on every call (4 KiB cost a 49-value row as much as its softmax).
	if n <= softmaxSmallRowAVX2 {
		var ebuf [softmaxSmallRowAVX2]int32
		ctx.Ebuf = &ebuf[0]
		amd64.SoftmaxAVX2(&ctx)
		return
	}
	var ebuf [softmaxMaxRowAVX2]int32
	ctx.Ebuf = &ebuf[0]
	amd64.SoftmaxAVX2(&ctx)
}

func setSoftmaxParamsAVX2(c *amd64.SoftmaxCtx, p *SoftmaxParams) {
	c.Exp, c.Q, c.Zp = &expTable32[0], int(p.Q), int(p.ZeroPoint)
	amd64.Fill8(&c.Mult, p.ExpMult)
	amd64.Shifts8(&c.LeftN, &c.Right, &c.Right1, p.ExpShift)
	if p.ExpShift < 0 {
		c.Left = 1
	}
	s, k := mergedRequant(p.ExpShift)
	c.ExpS, c.ExpC = int(s), int(k)
	lo, hi := outputClamp(p.ZeroPoint)
	c.OutLo, c.OutHi = int(lo), int(hi)
}

// attentionSoftmaxAVX2 runs the assembly for grids of side >= 3, except
// the post form with a zero point outside int8: each row's bias (gathered
// by the assembly from relBias, one run of side values per key row) into
// scratch[:n], the e_j into scratch[n:2n].
func attentionSoftmaxAVX2(dst []int8, logits []int32, side int, relBias []int32, post bool, p *SoftmaxParams, i0, i1 int, scratch []int32) {
	n, span := side*side, 2*side-1
	if side < 3 || i0 == i1 || post && (p.ZeroPoint < -128 || p.ZeroPoint > 127) {
		attentionSoftmaxRef(dst, logits, side, relBias, post, p, i0, i1, scratch)
		return
	}
	if asmHook != nil {
		asmHook(NameAttentionSoftmax)
	}
	row := scratch[:n]
	ctx := amd64.SoftmaxCtx{N: n, Bias: &row[0], Ebuf: &scratch[n]}
	setSoftmaxParamsAVX2(&ctx, p)
	if post {
		ctx.Post = 1
	} else {
		ctx.Pre = 1
	}
	ctx.Side, ctx.TStride = side, 4*span
	for i := i0; i < i1; i++ {
		iy, ix := i/side, i%side
		ctx.Table = &relBias[(side-1-iy)*span+side-1-ix]
		ctx.Logits, ctx.Dst = &logits[i*n], &dst[i*n]
		amd64.SoftmaxAVX2(&ctx)
	}
}

// softmaxRowAVX512 is softmaxRowAVX2 on 16 lanes, which takes rows of any
// length from 1 to softmaxMaxRowAVX2 (the tail is masked).
func softmaxRowAVX512(dst []int8, logits []int32, postBiasQ8 []int32, p *SoftmaxParams) {
	n := len(logits)
	if n < 1 || n > softmaxMaxRowAVX2 || postBiasQ8 != nil && (p.ZeroPoint < -128 || p.ZeroPoint > 127) {
		softmaxRowRef(dst, logits, postBiasQ8, p)
		return
	}
	if asmHook != nil {
		asmHook(NameSoftmaxRow)
	}
	ctx := amd64.SoftmaxCtx{Logits: &logits[0], Dst: &dst[0], N: n}
	setSoftmaxParamsAVX2(&ctx, p)
	ctx.Exp16 = &expTable16[0]
	if postBiasQ8 != nil {
		ctx.Bias, ctx.Post = &postBiasQ8[0], 1
	}
	if n <= softmaxSmallRowAVX2 {
		var ebuf [softmaxSmallRowAVX2]int32
		ctx.Ebuf = &ebuf[0]
		amd64.SoftmaxAVX512(&ctx)
		return
	}
	var ebuf [softmaxMaxRowAVX2]int32
	ctx.Ebuf = &ebuf[0]
	amd64.SoftmaxAVX512(&ctx)
}

// attentionSoftmaxAVX512 is attentionSoftmaxAVX2 on 16 lanes, for grids
// of any side >= 1.
func attentionSoftmaxAVX512(dst []int8, logits []int32, side int, relBias []int32, post bool, p *SoftmaxParams, i0, i1 int, scratch []int32) {
	n, span := side*side, 2*side-1
	if side < 1 || i0 == i1 || post && (p.ZeroPoint < -128 || p.ZeroPoint > 127) {
		attentionSoftmaxRef(dst, logits, side, relBias, post, p, i0, i1, scratch)
		return
	}
	if asmHook != nil {
		asmHook(NameAttentionSoftmax)
	}
	row := scratch[:n]
	ctx := amd64.SoftmaxCtx{N: n, Bias: &row[0], Ebuf: &scratch[n]}
	setSoftmaxParamsAVX2(&ctx, p)
	ctx.Exp16 = &expTable16[0]
	if post {
		ctx.Post = 1
	} else {
		ctx.Pre = 1
	}
	ctx.Side, ctx.TStride = side, 4*span
	for i := i0; i < i1; i++ {
		iy, ix := i/side, i%side
		ctx.Table = &relBias[(side-1-iy)*span+side-1-ix]
		ctx.Logits, ctx.Dst = &logits[i*n], &dst[i*n]
		amd64.SoftmaxAVX512(&ctx)
	}
}
