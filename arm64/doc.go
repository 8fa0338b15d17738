// Package arm64 holds the NEON assembly of the int8 kernels: for each
// kernel of package kernels that has one, its entry point (a //go:noescape
// function with no Go body) and the argument struct it takes. It is a
// leaf: it imports nothing of the project, holds no logic and does no
// checks. Callers are package kernels' x_arm64.go files, which check the
// arguments, run what the assembly takes (whole tiles and blocks) and the
// edges in the reference, and register themselves from the CPU's
// features; the numerics, the layouts and the preconditions are those of
// package kernels' documentation. The package builds on every GOARCH
// (this file), with entry points only on arm64 without -tags purego.
//
// # Layout
//
//   - x_arm64.s: one kernel family's assembly, generated (never edit it):
//     gemm_arm64.s (GemmSdot, GemmNeon) by internal/gemmgen, which also
//     writes the GEMM inner loops in GNU syntax to testdata/mca for
//     llvm-mca; every other .s file by internal/neongen. Each file's
//     header gives its algorithm, register roles, tile shape and
//     preconditions. Run go generate here after changing a generator; a
//     test in each generator fails when a checked-in file differs from
//     what it writes.
//   - x_arm64.go: the entry points' declarations and their context
//     structs. A kernel takes its arguments in one struct; its .s file
//     reads the fields at the offsets of its #defines (the field name in
//     lower camel case), which kernels_arm64_test.go compares with the
//     struct (with internal/testing/kerneltest, amd64's check too), so a
//     field cannot move without the test failing.
//   - words_test.go: instructions the Go assembler lacks are WORDs whose
//     encodings LLVM's assembler supplies (llvm-mc-19), each with its GNU
//     mnemonic as comment; the test decodes every WORD of every .s file
//     with golang.org/x/arch and with GNU objdump and compares it with the
//     comment.
//
// Requantization is the same everywhere: per 16 outputs, SQSHL (only in a
// separate loop, taken when some shift is negative), SQRDMULH, SRSHL by
// the negated right shift, SQADD the zero point, SQXTN twice. Kernels
// that walk channels do 16 at a time and finish a ragged channel count
// with the last 16 channels again (writing the same values twice), which
// is why their outputs must not overlap their inputs.
//
// # Adding a kernel
//
// Write its generator in internal/neongen (a file per kernel: the #defines
// of its context struct, the TEXT symbol named after the kernel, ABI0,
// NOSPLIT, leaf, R18 and R27-R30 untouched), declare the entry point and
// the struct in x_arm64.go (//go:build !purego), add the struct to
// TestKernelCtxOffsets, run go generate, and call it from package kernels
// (see "Adding a kernel" there). The differential tests, which prove the
// assembly ran, live with the kernel in package kernels.
//
// Depthwise3x3's interior loop, dw_px2 (two pixels x 16 channels, 288
// MACs; testdata/mca/dw_px2.s, written by neongen, which checks it is up to
// date), per iteration with llvm-mca-19 -iterations=1000: 78.0 cycles on
// -mcpu=neoverse-n1 -mattr=+dotprod, 79.0 on cortex-a72, 214.0 on
// cortex-a53 (266.0 when its taps were post-indexed loads, which hold up
// the in-order A53's issue: pixel 1 now reads at pointer+step and the
// pointers advance after the stores); the one-pixel loop it replaces took
// 39.1, 40.1 and 185.0 cycles a pixel. On the A76 the loop is bound by its one multiplying
// pipe (V0: 18 SMULL/SMLAL and 4 two-cycle SQRDMULH a pixel, 26 cycles,
// with the SADDWs it shares), not by the accumulator chain.
//
// Depthwise3x3Sdot's stride-1 loop, dws_px3 (three pixels x 16 channels,
// 432 MACs, 12 SDOTs and one new interleaved column of 8 ZIPs a pixel;
// testdata/mca/dws_px3.s, checked the same way): 61.5 cycles per iteration
// on -mcpu=neoverse-n1 -mattr=+dotprod, 20.5 a pixel against dw_px2's
// 39.0, bound by the two V pipes together (the requantization's SQRDMULH
// takes 8 of V0's cycles a pixel, SRSHL and SQXTN 10 of V1's); it was
// 64.5 before the zero point went onto int16 (asmgen.Narrow16ZP: 2
// SQADDs a pixel instead of 4).
//
// The requantizing epilogue of GemmSdot, per 4 x 16 tile on
// -mcpu=neoverse-n1 (llvm-mca-19, the common path): 44 cycles, bound by
// its 88 vector micro-ops (16 SQRDMULHs of 2 on V0 alone, 16 SRSHLs and
// 12 SQXTNs on V1), against 50 with the zero point added on int32 and the
// shift amounts made per quarter; setting the accumulators to the biases
// (two loads and 8 copies) 4.5 cycles against 8 (16 copies). A whole
// channel block at k = 256 (testdata/mca/sdot_block_k256.s,
// -iterations=100): 560 cycles for 16384 MACs, 29.3 MAC/cycle, against
// 571; at k = 64 about 181 cycles against 192.
//
// GemmNeon's epilogue requantizes its 4 rows step by step side by side
// and narrows them into one register (zero point on int16, as GemmSdot),
// and reduces the accumulators one ADDP level for every row before the
// next: on cortex-a53, in order, 58 cycles a tile against 131 for one row
// after another, and the reduction 18 against 36 (cortex-a72: 15.1
// against 16.1). Its K loop loads without write-back (LDR Q, LDP Q) and
// advances the five pointers after the SADALPs: 63.0 cycles an iteration
// on cortex-a53 against 77.0 with post-indexed LD1s (cortex-a72 32.0
// both). Its first K block sets the accumulators (SADDLP where the others
// have SADALP) instead of 16 EORs zeroing them first. The channel block at
// k = 256 (testdata/mca/neon_block_k256.s): 528 cycles on cortex-a72,
// 1057 on cortex-a53 (536 and 1074 with the EORs, 1314 on cortex-a53 with
// post-indexed loads, 1404 before the epilogue ran its rows side by side).
//
// Affine's and Add's loops (16 values) with the zero point on int16:
// 14.1 and 33.2 cycles on neoverse-n1 against 16.1 and 34.2 (cortex-a72
// and cortex-a53 unchanged or within a cycle). QuantizeInput's loop, qi_8
// (8 values in float64): 24.1 cycles on neoverse-n1, 40.2 on cortex-a72,
// 112.0 on cortex-a53; the Go reference it replaces took about 8.5 a
// value on the A76 model.
//
// The softmax's inner loops, per 8 values, llvm-mca-19 -iterations=200 on
// the disassembly of the loop (neoverse-n1, cortex-a72, cortex-a53): the
// exponent lookup sm_lk8 (pairs of z loaded and of e stored as 32-bit
// words at fixed offsets, one pointer step) 8.05, 15.1, 27.0 against
// 13.0, 23.0, 30.0 for one load and store per value with a post-indexed
// last store, on which the next iteration's loads wait; the exponents
// sm_z_8 (SQXTUN and UMIN for the clamp) 6.1, 8.1, 54.0 against 8.1, 9.1,
// 72.0; the pre form's outputs sm_o_8 (UZP1, SQADD on int16) 4.2, 6.1,
// 40.0 against 5.1, 5.2, 47.0; the sum, four UADALP chains, 4 cycles per
// 32 values on neoverse-n1 against 4 per 8 with one chain.
//
// LUTTbl's loop (64 bytes, four TBLs per 16 and three ORRs): 38.1 cycles
// on neoverse-n1 against LUT's 44.1 (a TBL and three TBXs per 16), but
// 84.1 on cortex-a72 and 71.0 on cortex-a53 against 78.1 and 53.0, which
// is why the neon level keeps LUT. LayerNormStats's block loop (16
// channels) with one accumulator per SADALP and UADALP: 6.1 cycles on
// neoverse-n1 and 28.0 on cortex-a53 against 16.1 and 48.0 with the
// UADALPs chained on one (cortex-a72: 6.1 both).
//
// Measurements (llvm-mca cycles of the GEMM loops, instructions per MAC
// and per inference under qemu) are in the README's section "arm64 work
// per inference", the modeled cycles in its "Modeled cycles".
package arm64

//go:generate go run ./internal/gemmgen
//go:generate go run ./internal/neongen
