//go:build !purego

package amd64

// Depthwise3x3 computes a run of output pixels of one output row of
// Depthwise3x3, 8 channels at a time, AVX2 (depthwise_amd64.s).
//
//go:noescape
func Depthwise3x3(ctx *DepthwiseCtx)

// DepthwiseCtx is the argument block of Depthwise3x3, which reads it at the
// offsets its #defines give (checked by a test) and writes only the
// scratch fields after LeftShift.
type DepthwiseCtx struct {
	Taps      [9]*int8 // input pixel of each tap for the run's first output, channel 0; padding taps: the center tap's
	Dst       *int8    // the run's first output pixel, channel 0
	W         *int8    // weights [9][c]
	Bias      *int32
	Mult      *int32
	Shift     *int32
	BiasStep  int // bytes per channel between biases (4, or 0: the same 8)
	ParamStep int // the same for multipliers and shifts
	C         int // channels, at least 8
	N         int // output pixels in the run, at least 1
	Step      int // bytes between the input pixels of consecutive outputs: stride*c
	PadMask   int // bit t: tap t (ky*3+kx) reads padding in the whole run
	Pad       int // the padding value
	Zp        int // output zero point, in [-32640, 32640]
	LeftShift int // nonzero: some shift is negative

	// Scratch: the current block's channel offset and parameters.
	Off      int
	BBias    [8]int32 // bias plus pad times the padding taps' weights
	BMult    [8]int32
	BMultOdd [8]int32 // the odd lanes' multipliers, in the even lanes
	BRs      [8]int32 // max(shift, 0)
	BRm1     [8]int32 // BRs - 1
	BLs      [8]int32 // max(-shift, 0)
	BZp      [16]int16
}

// Depthwise3x3AVX512 is Depthwise3x3 for at least 16 channels, 16 at a
// time, AVX-512F/BW (depthwise_amd64.s). It writes only Off of the
// scratch fields.
//
//go:noescape
func Depthwise3x3AVX512(ctx *DepthwiseCtx)
