//go:build !purego

package arm64

import "unsafe"

// The micro-kernels of gemm_arm64.s (generated): ctx.RowTiles tiles of 4
// rows, each for ctx.NBlocks consecutive channel blocks of 16 (sdot) or 4
// (neon) channels.

//go:noescape
func GemmSdot(ctx *GemmCtx)

//go:noescape
func GemmNeon(ctx *GemmCtx)

// GemmCtx is the argument block of the micro-kernels; gemm_arm64.s reads
// it at the offsets its #defines give (checked by a test), and never
// writes it.
type GemmCtx struct {
	Src         [4]*int8          // the first tile's rows
	Tail        [4]*int8          // kTail 2: 16 readable bytes per row, the last k%16 first
	Dst         [4]unsafe.Pointer // the first tile's output rows, int8 or int32
	W           *int8             // the first panel
	Bias        *int32
	Mult        *int32
	Shift       *int32
	BiasStride  int // bytes between the biases of two channel blocks (0: the same)
	ParamStride int // bytes between the multipliers (and shifts) of two channel blocks
	KBlocks     int // blocks of 16 k read from the rows
	KTail       int // 0: none; 1: one more block read where the rows go on; 2: from tail
	NBlocks     int // channel blocks
	RowTiles    int // tiles of 4 rows
	SrcStep     int // bytes from one tile's rows to the next's
	DstStep     int // bytes from where a tile's dst pointers stop to the next tile's rows
	Zp          int // zero point (low 32 bits)
	Out32       int // nonzero: store int32 sums, no requantization
	General     int // nonzero: some shift is negative, or |Zp| > 32640 (the epilogue's general path)
}
