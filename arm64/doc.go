// Package arm64 holds the int8 kernels of the quantized engine: GEMM with
// fused requantization (the 1x1 and, on gathered patches, 3x3
// convolutions, linear layers, attention's Q.K^T and P.V), the depthwise
// 3x3 convolution, table lookup (activations), residual addition, the
// per-channel affine map (folded BatchNorm, the squeeze-excite gate), the
// channel mean, the 2x2 average pool, LayerNorm, the 3x3 patch gather,
// the integer softmax of one row and of a whole attention head with its
// relative position bias, and the packing of attention's keys and values
// as GEMM weights.
//
// Every kernel has a portable Go reference (the x_ref.go files, no build
// tag), which is the documented source of truth and what runs on every
// GOARCH without assembly. The directory name is not a build constraint:
// the package builds and passes its tests everywhere. On arm64 (unless
// built with -tags purego) every kernel runs NEON assembly that computes
// the same results bit for bit; [Implementation] says which
// implementation each operation uses (see Implementations).
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
// [GemmRequant] and [GemmInt32] have three implementations, chosen once at
// start-up from golang.org/x/sys/cpu: "sdot" where the CPU has the dot
// product (cpu.ARM64.HasASIMDDP: Cortex-A55, the A76 of the Raspberry Pi 5,
// the A78AE of the Jetson Orin), "neon" on other arm64 cores (the A53 of
// the Pi 3 and Zero 2, the A72 of the Pi 4), "go" elsewhere or with -tags
// purego. [PackWeights] lays the weights out for the chosen one:
//
//   - go: plain [m][k].
//   - sdot: micro-kernel tile of 4 rows x 16 channels. Panels of 16
//     channels, each kp/4 x 16 x 4 bytes: for every 4 k, the 16 channels'
//     4 bytes (one SDOT by element per 4 channels, row and 4 k).
//   - neon: micro-kernel tile of 4 rows x 4 channels. Panels of 4 channels,
//     each kp/16 x 4 x 16 bytes: for every 16 k, the 4 channels' 16 bytes
//     (SMULL and SMLAL2 sum pairs of products in int16, SADALP adds those
//     into int32).
//
// kp is k rounded up to 16 and m is rounded up to the panel width, both
// zero-padded. Both kernels read src in blocks of 16 k straight from its
// rows; the last, partial block reads on into the next row (whatever that
// holds meets zero weights), or from a copy where it would pass the end of
// src. The assembly does whole tiles: the driver in gemm_arm64.go repeats
// the last row of a short tile and runs a ragged last channel block into a
// scratch tile. gemm_arm64.s is generated by internal/gemmgen (go
// generate), which also writes the kernels' inner loops in GNU syntax to
// testdata/mca.
//
// # GEMM efficiency
//
// Cycles of the inner loop (one block of 16 k: sdot 1024 MACs, neon 256)
// from llvm-mca (Debian's llvm-19), on the files in testdata/mca, which a
// test (internal/gemmgen) checks assemble to the machine code the Go
// assembler makes of the kernels' loops:
//
//	llvm-mca-19 -mtriple=aarch64 -mcpu=neoverse-n1 -mattr=+dotprod -iterations=1000 testdata/mca/sdot_kloop.s
//	    32.0 cycles: 32.0 MAC/cycle, the peak (-mcpu=cortex-a76: 33.0 cycles, 31.0 MAC/cycle)
//	llvm-mca-19 -mtriple=aarch64 -mcpu=cortex-a72 -iterations=1000 testdata/mca/neon_kloop.s
//	    32.0 cycles: 8.0 MAC/cycle, the peak (SMULL and SMLAL2 issue on F0 only)
//	llvm-mca-19 -mtriple=aarch64 -mcpu=cortex-a53 -iterations=1000 testdata/mca/neon_kloop.s
//	    77.0 cycles: 3.3 MAC/cycle (peak about 4)
//
// A whole channel block at k = 256 with its requantization
// (testdata/mca/*_block_k256.s, -iterations=100, same flags): sdot 571
// cycles for 16384 MACs, 28.7 MAC/cycle on neoverse-n1; neon 537 cycles
// for 4096 MACs, 7.6 MAC/cycle on cortex-a72.
//
// Instructions executed per MAC, exactly, under qemu-aarch64 7.2 with the
// plugin of shared/tools/qemu-insncount: one call of each benchmark shape
// (the counts of package arm64's symbols and runtime.memmove with
// -benchtime 2x minus those with 1x). neon and go count the same on -cpu
// cortex-a76 and cortex-a72.
//
//	gcc -shared -fPIC -O2 -o /tmp/insncount.so ../shared/tools/qemu-insncount/insncount.c
//	CGO_ENABLED=0 GOARCH=arm64 go test -c -o /tmp/k.test ./arm64
//	GOMAXPROCS=1 qemu-aarch64 -cpu cortex-a76 -plugin /tmp/insncount.so,out=/tmp/c1.txt \
//	    /tmp/k.test -test.run '^$' -test.bench 'BenchmarkGemmRequant/impl=sdot/M=256,N=3136,K=64$' -test.benchtime 1x
//
//	shape (M out, N rows, K)             sdot (a76)  neon (a72)   go
//	stem.conv2     M=64,   N=12544, K=288   0.079       0.232      3.81
//	stage0.conv1   M=256,  N=3136,  K=64    0.102       0.293      4.88
//	stage0.conv3   M=64,   N=3136,  K=256   0.080       0.235      3.85
//	stage1.conv1   M=512,  N=784,   K=128   0.087       0.254      4.19
//	stage2.qkv     M=768,  N=196,   K=256   0.080       0.235      3.85
//	stage2.fc1     M=1024, N=196,   K=256   0.080       0.235      3.85
//	stage2.fc2     M=256,  N=196,   K=1024  0.074       0.220      3.59
//	stage3.fc1     M=2048, N=49,    K=512   0.082       0.239      3.67
//	attention PV   M=32,   N=196,   K=196   0.089       0.255      3.96
//	QK^T (int32)   M=196,  N=196,   K=32    0.107       0.306      4.58
//
// The inner loops alone take 74/1024 = 0.072 (sdot) and 55/256 = 0.215
// (neon) instructions per MAC; the rest is the epilogue (about 120
// instructions per 64 outputs for sdot, 60 per 16 for neon) and the edges
// of ragged shapes.
//
// # Implementations
//
// Each kernel's implementation is chosen once, at start-up, from
// golang.org/x/sys/cpu: the GEMMs as described above ("sdot" where the CPU
// has the dot product, else "neon"); the other kernels need only the
// ARMv8.0 NEON every arm64 core has, so they are "neon" on every arm64
// build without purego, and "go" elsewhere. Shapes a NEON kernel does not
// take run its reference, with the same results: fewer than 16 channels
// (Depthwise3x3, Affine, AvgPool2x2, LayerNorm, ranges of MeanChannels),
// more than 32767 channels (LayerNorm), softmax rows under 4 values or
// over 1024 (SoftmaxRow), attention grids under 4x4 (AttentionSoftmax),
// and the post-softmax form with a zero point outside int8. The last
// len%16 values of LUT and Add, and the edges of packed attention
// operands, are done in Go. Tests switch implementations per kernel (see
// export_test.go), and internal/kernelimpl lets tests elsewhere run a
// whole model on the references, on neon and on sdot.
//
// The NEON kernels other than the GEMMs are generated by
// internal/neongen (go generate) into depthwise_arm64.s, lut_arm64.s,
// add_arm64.s, affine_arm64.s, mean_arm64.s, pool_arm64.s,
// layernorm_arm64.s, im2col_arm64.s, pack_arm64.s and softmax_arm64.s;
// each file's header gives its algorithm, register roles and
// preconditions. Instructions the Go assembler lacks are WORDs whose
// encodings LLVM's assembler supplies (llvm-mc-19); words_test.go decodes
// every WORD of every .s file with golang.org/x/arch and GNU objdump and
// compares it with the GNU mnemonic in its comment. Each kernel takes its
// arguments in one context struct whose field offsets a test compares
// with the #defines of the .s file.
//
// Requantization is the same everywhere: per 16 outputs, SQSHL (only in a
// separate loop, taken when some shift is negative), SQRDMULH, SRSHL by
// the negated right shift, SQADD the zero point, SQXTN twice. Kernels
// that walk channels do 16 at a time and finish a ragged channel count
// with the last 16 channels again (writing the same values twice), which
// is why their outputs must not overlap their inputs.
//
// # Work per inference
//
// Instructions executed by one inference of the int8 coatnet_nano_rw_224
// at 224x224 (2.38 GMACs), exactly, under qemu-aarch64 7.2 with the
// plugin of shared/tools/qemu-insncount, on one thread, in millions:
//
//	make bench-arm64     (from the repository root; tools/armbench)
//
// which builds the plugin, writes the model (timm's conformance case
// coatnet_nano_rw_224_224_s1 quantized by package quant on 4 inputs of the
// case formula), cross-builds cmd/coatnet with and without -tags purego,
// and runs, per CPU and build, for K = 1 and 3,
//
//	GOMAXPROCS=1 qemu-aarch64 -cpu CPU -plugin insncount.so,out=F \
//	    coatnet-arm64 bench MODEL --iterations K --warmup 0 --threads 1
//
// taking (count(K=3) - count(K=1))/2, so that loading and packing cancel
// out; symbols are summed per operation.
//
//	operation (kernels)                      cortex-a76   cortex-a72   purego
//	GEMM: 1x1 and 3x3 conv, QK^T, PV           195.7        569.6      9144.1
//	AttentionSoftmax                            18.9         18.9       333.3
//	Depthwise3x3                                17.6         17.6       697.1
//	Affine (squeeze-excite gate)                 6.7          6.7       213.8
//	Add                                          6.5          6.5       159.9
//	LUT                                          4.9          4.9        76.3
//	LayerNorm                                    3.8          3.8        60.8
//	input quantization (Go)                      2.9          2.9         2.9
//	Im2col3x3                                    2.2          2.2        16.6
//	MeanChannels                                 0.9          0.9        34.7
//	PackStrided, PackTransposed                  0.7          0.9        14.1
//	AvgPool2x2                                   0.6          0.6        12.0
//	Go runtime, memmove, the rest                1.0          2.2        14.6
//	total                                      262.4        637.7     10780.1
//	NEON / purego on the same CPU              0.024        0.059
//
// (purego counts the same on both CPUs; its GEMM is 3.8 instructions per
// MAC.) With only the GEMMs in NEON the same inference took 1977.1 M
// (cortex-a76) and 2353.3 M (cortex-a72), of which the depthwise
// convolutions 697 M, the softmax 292 M and the engine's Go loops (the
// squeeze-excite gate and mean, LayerNorm, the residual additions, the
// activations) most of the rest. The GEMMs are now 75% (cortex-a76) and
// 89% (cortex-a72) of the work.
//
// Shape errors (negative sizes, short slices, wrong parameter lengths,
// out-of-range shifts) are programmer errors and panic with a constant
// message; data-dependent conditions (overflow beyond the documented
// preconditions) are not checked.
package arm64
