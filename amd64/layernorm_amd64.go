//go:build !purego

package amd64

// LayerNormStatsAVX2 sums d = x - Zero and d^2 over the first 16*Nb
// channels of each of ctx.Pixels pixels into S and Q (layernorm_amd64.s).
//
//go:noescape
func LayerNormStatsAVX2(ctx *LayerNormCtx)

// LayerNormApplyAVX2 normalizes and requantizes ctx.Pixels pixels of C >= 8
// channels from each pixel's SP and R (layernorm_amd64.s).
//
//go:noescape
func LayerNormApplyAVX2(ctx *LayerNormCtx)

// LayerNormCtx is the argument block of the LayerNorm kernels (offsets
// checked by a test).
type LayerNormCtx struct {
	Src, Dst  *int8
	C, Pixels int
	Nb        int // blocks of 16 channels the statistics take
	Zero      int
	S, Q      *int32    // per pixel: the sums of d and d^2 (outputs)
	SP        *[8]int32 // per pixel: S + C*Zero, in 8 copies
	R         *int32    // per pixel
	Mult      *int32    // C values
	Shift     *int32    // C values
	Bias      *int32    // C values
	Left      int       // nonzero: some shift is negative
	Bias16    int       // nonzero: every bias lies in [-32640, 32640] (LayerNormApplyAVX512 adds them in int16)
}

// LayerNormApplyAVX512 is LayerNormApplyAVX2 16 channels a block, the
// last partial block masked, each block down every pixel
// (layernorm_amd64.s; AVX-512 F and BW).
//
//go:noescape
func LayerNormApplyAVX512(ctx *LayerNormCtx)
