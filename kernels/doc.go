// Package kernels holds the int8 kernels of the quantized engine: GEMM
// with fused requantization (the 1x1 and, on gathered patches, 3x3
// convolutions, linear layers, attention's Q.K^T and P.V), the depthwise
// 3x3 convolution, table lookup (activations), residual addition, the
// per-channel affine map (folded BatchNorm, the squeeze-excite gate), the
// channel mean, the 2x2 average pool, LayerNorm, the 3x3 patch gather,
// the integer softmax of one row and of a whole attention head with its
// relative position bias, and the packing of attention's keys and values
// as GEMM weights.
//
// It is the kernels' contract, their references and their dispatch, for
// every instruction set. Each exported kernel checks its arguments and
// documents what it computes; its portable Go reference (the x_ref.go
// files, no build tag) is the source of truth and what runs on every
// GOARCH without assembly. Assembly lives in a package per architecture
// (../arm64: NEON; ../amd64: AVX2, AVX-VNNI, AVX-512), which holds only
// the entry points and their argument structs; the Go around it (whole
// blocks in assembly, the edges in the reference) and its registration
// live here, in files for that architecture (x_arm64.go, x_amd64.go,
// built unless -tags purego). Every
// implementation computes the same results bit for bit. [Implementation]
// says which implementation each kernel runs (see Implementations).
//
// # Layouts
//
// Activations are NHWC with batch 1: a [pixels][channels] row-major int8
// matrix, pixel p = y*width + x. Weights of a 1x1 convolution or a linear
// layer are [M out][K in] row-major int8, quantized per output channel,
// symmetrically, to [-127, 127]; the GEMMs take them packed once into
// [Weights] (see GEMM implementations). Depthwise 3x3 weights are [9][C]: tap
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
// # GEMM implementations
//
// [GemmRequant] and [GemmInt32] have these implementations, the best this
// CPU runs chosen once at start-up from golang.org/x/sys/cpu: on arm64
// "sdot" where the CPU has the dot product (cpu.ARM64.HasASIMDDP:
// Cortex-A55, the A76 of the Raspberry Pi 5, the A78AE of the Jetson
// Orin), else "neon" (the A53 of the Pi 3 and Zero 2, the A72 of the Pi
// 4); on amd64 "avx512vnni" (AVX-512 F and VNNI: Zen 4 and 5, Xeons since
// Ice Lake), "avxvnni" (AVX-VNNI: Alder Lake, the N100), "avx2"; "go"
// elsewhere or with -tags purego. [PackWeights] lays the weights out for
// the chosen one:
//
//   - go: plain [m][k].
//   - sdot: micro-kernel tile of 4 rows x 16 channels. Panels of 16
//     channels, each kp/4 x 16 x 4 bytes: for every 4 k, the 16 channels'
//     4 bytes (one SDOT by element per 4 channels, row and 4 k).
//   - neon: micro-kernel tile of 4 rows x 4 channels. Panels of 4 channels,
//     each kp/16 x 4 x 16 bytes: for every 16 k, the 4 channels' 16 bytes
//     (SMULL and SMLAL2 sum pairs of products in int16, SADALP adds those
//     into int32).
//   - avx512vnni, avxvnni, avx2: micro-kernel tile of 4 rows x 32
//     (avx512vnni) or 16 channels. Panels of that many channels, for every
//     4 k the channels' 4 bytes, as sdot; but a ragged last group (k%4 = t
//     values) holds 4-t zeros, then its t values, because the kernels read
//     it at the last 4 bytes of the row: they never read outside src
//     (rows with k < 4 are copied). VPDPBUSD multiplies unsigned by signed
//     bytes: the VNNI kernels take x+128 (x XOR 0x80) as the unsigned
//     operand and start each accumulator at -128*sum(w), which every
//     packer stores beside the weights; the AVX2 kernel multiplies |x| by
//     sign(x)*w with VPMADDUBSW, whose pair sums stay within 2*128*127 (no
//     saturation), and widens them with VPMADDWD.
//
// kp is k rounded up to 16 and m is rounded up to the panel width, both
// zero-padded. The NEON kernels read src in blocks of 16 k straight from its
// rows; the last, partial block reads on into the next row (whatever that
// holds meets zero weights), or from a copy where it would pass the end of
// src. The assembly does whole tiles: the drivers in gemm_arm64.go and
// gemm_amd64.go repeat the last row of a short tile and run a ragged last
// channel block into a scratch tile. The requantization epilogue of the
// x86 kernels computes the NEON steps exactly (SQRDMULH from VPMULDQ's
// 64-bit products, the saturations by compare and blend).
//
// # Implementations
//
// Each kernel's implementation is chosen once, at start-up, from
// golang.org/x/sys/cpu: the GEMMs as described above; on arm64 the other
// kernels need only the ARMv8.0 NEON every arm64 core has, so they are
// "neon" on every arm64 build without purego; on amd64 they are named
// after the instruction set they need ("avx2", "avx512"); "go" elsewhere.
// Shapes a NEON kernel does not take run its reference, with the same results: fewer than 16 channels
// (Depthwise3x3, Affine, AvgPool2x2, LayerNorm, ranges of MeanChannels),
// more than 32767 channels (LayerNorm), softmax rows under 4 values or
// over 1024 (SoftmaxRow), attention grids under 4x4 (AttentionSoftmax),
// and the post-softmax form with a zero point outside int8. The last
// len%16 values of LUT and Add, and the edges of packed attention
// operands, are done in Go.
//
// The choice is a registry, in the style of the Go standard library's
// crypto/internal/impl: each kernel is made with its reference (newKernel
// in its file), and each architecture's files register their
// implementations from init functions, best first, saying whether this
// CPU can run them. The kernels' names are the Name constants. Tests
// switch implementations with [Select] and [Reset] per kernel ([List]
// names the candidates), or a whole model's with [SelectLevel] and
// [ResetAll] (internal/testing/implcheck runs a model on every level this
// CPU has: sdot, neon, go on arm64; avx512vnni, avxvnni, avx2, go on
// amd64; a level's non-GEMM kernels follow its chain, see [SelectLevel]);
// production code never switches.
//
// # Adding a kernel
//
// One file per layer, after crypto/internal/fips140/sha256:
//
//   - x.go: the exported function, which checks its arguments (panicking
//     with a constant message) and documents what it computes, a Name
//     constant in impl.go, and its registry entry, newKernel(xRef, NameX).
//   - x_ref.go: the reference, plain Go, no build tag.
//   - x_test.go: the differential test of every registered implementation
//     against a naive restatement of the doc comment, with canary guard
//     bands around outputs, sizes around every tile boundary, and
//     forEachImplChecked proving that the assembly ran; a fuzz target.
//   - for an architecture with assembly: the entry point, its argument
//     struct and its generator in that architecture's package (see
//     package arm64), and here x_arm64.go (//go:build !purego), which runs
//     what the assembly takes, the rest in the reference, and registers
//     itself from init.
//
// Shape errors (negative sizes, short slices, wrong parameter lengths,
// out-of-range shifts) are programmer errors and panic with a constant
// message; data-dependent conditions (overflow beyond the documented
// preconditions) are not checked.
package kernels
