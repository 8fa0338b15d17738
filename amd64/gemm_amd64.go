//go:build !purego

package amd64

import "unsafe"

// The micro-kernels of gemm_amd64.s (generated): ctx.RowTiles tiles of 4
// rows, each for ctx.NBlocks consecutive channel blocks of 32
// (GemmAVX512VNNI) or 16 channels. They use AVX-512 (F, BW, VL, VNNI),
// AVX-VNNI or AVX2 respectively; the caller checks the CPU.

//go:noescape
func GemmAVX512VNNI(ctx *GemmCtx)

//go:noescape
func GemmAVXVNNI(ctx *GemmCtx)

// GemmAVX2 widens each tile's rows to int16 into its frame, which holds
// rows of at most GemmAVX2MaxK values; longer ones it widens in the K
// loop (ctx.InPlace), a little slower.
//
//go:noescape
func GemmAVX2(ctx *GemmCtx)

// GemmAVX2MaxK is the longest row GemmAVX2's frame takes: 2048 groups
// of 4 k per row, the last kept for the tail group.
const GemmAVX2MaxK = 4*2048 - 1

// PeakAVX512VNNI and PeakAVXVNNI run n iterations of 16 (EVEX, Z) or 12
// (VEX, Y) independent VPDPBUSD: the core's VNNI peak, which the
// micro-kernels' benchmarks compare with.
func PeakAVX512VNNI(n int)

func PeakAVXVNNI(n int)

// GemmCtx is the argument block of the micro-kernels; gemm_amd64.s reads
// it at the offsets its #defines give (checked by a test), and never
// writes it. The vectors are 8 copies of one value (the AVX-512 kernel
// broadcasts the first).
type GemmCtx struct {
	Src       [4]*int8          // the first tile's rows
	Dst       [4]unsafe.Pointer // the first tile's output rows, int8 or int32
	W         *int8             // the first panel
	Init      *int32            // per channel: the accumulators' start (-128*sum(w) for VNNI)
	Bias      *int32
	Mult      *int32
	Shift     *int32
	InitMask  int // ANDed with the block's parameter offset: 0 (the first block's) or -1
	BiasMask  int
	ParamMask int      // for Mult and Shift
	KMain     int      // groups of 4 k read in place from the rows
	KTail     int      // nonzero: one more group at TailOff
	TailOff   int      // bytes from the end of the main groups to the tail group (-3..-1)
	PanelSkip int      // bytes from where a panel's groups end to the next panel
	NBlocks   int      // channel blocks
	RowTiles  int      // tiles of 4 rows
	SrcStep   int      // bytes from one tile's rows to the next's
	DstStep   int      // bytes from where a tile's dst pointers stop to the next tile's rows
	Out32     int      // nonzero: store int32 sums, no requantization
	LeftShift int      // nonzero: some shift is negative
	Lo, Hi    [8]int32 // clamp of the requantized value before the zero point
	Zp        [8]int32
	C2p30     [4]int64 // 2^30
	CMin      [8]int32 // -2^31
	CMax      [8]int32 // 2^31-1
	C32       [8]int32 // 32
	CByte     [8]int32 // 0x80808080 (VNNI: x+128) or the widening's word shuffle (AVX2)
	InPlace   int      // nonzero (GemmAVX2): widen in the K loop, for rows longer than GemmAVX2MaxK
	SatMult   int      // nonzero: some multiplier is -2^31, SQRDMULH's saturating case
	Zp16      int      // nonzero: Zp lies in [-32640, 32640], where a saturating int16 add of it is exact
	ZpWords   [8]int32 // Zp in both int16 halves
}
