//go:build !purego

package amd64

// SoftmaxAVX2 computes the softmax of one row of ctx.N >= 8 logits
// (softmax_amd64.s). With Side > 0 it first writes the attention bias row
// into Bias: Side runs of Side values, run jy from Table + jy*TStride
// bytes, plus the logits with Pre, when that sum is the row. With Post,
// Bias (built or given) is the post-softmax bias.
//
//go:noescape
func SoftmaxAVX2(ctx *SoftmaxCtx)

// SoftmaxCtx is the argument block of SoftmaxAVX2 (offsets checked by a
// test).
type SoftmaxCtx struct {
	Logits  *int32
	Bias    *int32 // N values, or nil
	Dst     *int8
	Ebuf    *int32 // N values: the row's e_j
	Exp     *int32 // 4096 values: e for every exponent z
	N       int
	Pre     int // nonzero, with Side > 0: the bias row plus Logits is the row
	Post    int // nonzero: Bias is the post-softmax bias
	Q, Zp   int
	Left    int // nonzero: the exponent's shift is negative
	Table   *int32
	TStride int
	Side    int
	Mult    [8]int32
	LeftN   [8]int32 // the left, right and right-minus-one shift counts
	Right   [8]int32
	Right1  [8]int32
	Exp16   *uint16 // SoftmaxAVX512's: the 256 values of e for z < 256
	// SoftmaxAVX512's: the merged requantization's shift and rounding
	// constant (requant_amd64.h), and the output clamp before Zp.
	ExpS, ExpC   int
	OutLo, OutHi int
}

// SoftmaxAVX512 is SoftmaxAVX2 for ctx.N >= 1 on 16 lanes, the last
// partial block masked, e from Exp16 by word permutes rather than a
// gather (softmax_amd64.s; AVX-512 F and BW). It reads the first element
// of each parameter array.
//
//go:noescape
func SoftmaxAVX512(ctx *SoftmaxCtx)
