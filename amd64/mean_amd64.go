//go:build !purego

package amd64

// MeanChannels runs MeanChannels for channels [c0, c1), c1-c0 >= 8, AVX2
// (mean_amd64.s).
//
//go:noescape
func MeanChannels(ctx *MeanCtx)

// MeanCtx is the argument block of MeanChannels (offsets checked by a
// test); the kernel writes only the scratch fields after Left.
type MeanCtx struct {
	Dst, Src  *int8
	N, C      int
	C0, C1    int
	Base      int // -n*zero, wrapped to int32
	Mult      *int32
	Shift     *int32
	ParamStep int // bytes per channel between multipliers and shifts (4, or 0: the same 8)
	Zp        int // output zero point, in [-32640, 32640]
	Left      int // nonzero: some shift is negative

	// Scratch: the sums of a block of up to 32 channels and the
	// requantization parameters of 8 of them.
	Sums     [32]int32
	BMult    [8]int32
	BMultOdd [8]int32
	BRs      [8]int32
	BRm1     [8]int32
	BLs      [8]int32
	BZp      [16]int16
}

// MeanChannelsAVX512 is MeanChannels for c1-c0 >= 16, AVX-512F/BW
// (mean_amd64.s). It writes none of the scratch fields.
//
//go:noescape
func MeanChannelsAVX512(ctx *MeanCtx)
