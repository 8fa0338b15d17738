// Package arm64 holds the int8 kernels of the quantized engine: GEMM with
// fused requantization, depthwise 3x3 convolution, table lookup, residual
// addition and the integer softmax of one attention row.
//
// Every kernel has a portable Go reference (the x_ref.go files, no build
// tag), which is the documented source of truth and what runs on every
// GOARCH today. The directory name is not a build constraint: the package
// builds and passes its tests everywhere. NEON assembly will implement the
// same functions bit for bit; [Implementation] says which implementation
// each operation uses.
//
// # Layouts
//
// Activations are NHWC with batch 1: a [pixels][channels] row-major int8
// matrix, pixel p = y*width + x. Weights of a 1x1 convolution or a linear
// layer are [M out][K in] row-major int8, quantized per output channel,
// symmetrically, to [-127, 127]. Depthwise 3x3 weights are [9][C]: tap
// t = ky*3 + kx is the outer index so that channels are contiguous.
// Biases are int32, one per output channel, with the input zero point
// already folded in by the quantizer (the kernels have no input zero point,
// except the padding value of the depthwise convolution and the inputs of
// [Add]).
//
// # Requantization
//
// An int32 accumulator acc becomes int8 with a Q31 multiplier mult, a shift
// in [-31, 31] and a zero point zp, in exactly the steps of the NEON
// sequence SQSHL, SQRDMULH, SRSHL, SQADD/SQXTN:
//
//  1. if shift < 0: acc = sat32(acc << -shift)                 (saturating left shift)
//  2. x = sat32((2*acc*mult + 2^31) >> 32)                      (SQRDMULH; only acc = mult = -2^31 saturates)
//  3. if shift > 0: x = (x + 2^(shift-1)) >> shift              (rounding right shift, half toward +inf, no overflow)
//  4. result = sat8(x + zp)
//
// where >> is the arithmetic (flooring) shift and every intermediate is
// exact (int64). The result approximates acc*real + zp for
// real = mult * 2^-31 * 2^-shift; [QuantizeMultiplier] encodes a real as
// (mult, shift). [RequantizeNoZP] is steps 1-3. Step 4 done as a
// saturating int32 add (SQADD) and a saturating narrow (SQXTN) gives the
// same int8 as the exact sum.
//
// # Accumulators
//
// GEMM and depthwise accumulators are bias + sum of products, computed
// modulo 2^32 (two's complement wrap-around, as ADD, SDOT and SADALP do),
// so the order of summation cannot change a result. They are exact when
// |bias| + 128*127*K <= 2^31-1: K <= 131072 (2^17) with |bias| < 2^24,
// K <= 66052 with |bias| = 2^30; a depthwise sum (9 products) always is.
// Nothing checks this at run time.
//
// Weights (the w operand of [GemmRequant] and [GemmInt32], depthwise
// weights) must lie in [-127, 127]: the pre-dot-product path sums two
// int8 products in int16, which overflows only for -128*-128 twice. The Go
// reference computes exactly for any int8, optimized paths need not. For
// the attention logits Q.K^T, K (the w operand) must be clamped to
// [-127, 127] by the quantizer.
//
// # Threading and memory
//
// Kernels are single-threaded, allocate nothing, keep no state and may run
// concurrently on disjoint outputs. The engine splits work by rows: every
// kernel takes explicit row counts or row ranges and leading dimensions,
// and each output element is computed by the same arithmetic whichever
// range it falls in, so results do not depend on how the work is split or
// on the thread count. Outputs must not overlap inputs, except where a
// function says dst may alias an input (then dst must be that input
// itself, not a shifted view of it). Kernels write exactly the output
// elements they document and nothing else (not the padding between rows
// when a leading dimension exceeds the row width).
//
// Shape errors (negative sizes, short slices, wrong parameter lengths,
// out-of-range shifts) are programmer errors and panic with a constant
// message; data-dependent conditions (overflow beyond the documented
// preconditions) are not checked.
package arm64
