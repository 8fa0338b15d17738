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
// -mcpu=neoverse-n1 -mattr=+dotprod, 79.0 on cortex-a72, 266.0 on
// cortex-a53; the one-pixel loop it replaces took 39.1, 40.1 and 185.0
// cycles a pixel. On the A76 the loop is bound by its one multiplying
// pipe (V0: 18 SMULL/SMLAL and 4 two-cycle SQRDMULH a pixel, 26 cycles,
// with the SADDWs it shares), not by the accumulator chain.
//
// Depthwise3x3Sdot's stride-1 loop, dws_px3 (three pixels x 16 channels,
// 432 MACs, 12 SDOTs and one new interleaved column of 8 ZIPs a pixel;
// testdata/mca/dws_px3.s, checked the same way): 64.5 cycles per iteration
// on -mcpu=neoverse-n1 -mattr=+dotprod, 21.5 a pixel against dw_px2's 39.0,
// bound by the two V pipes together: 43 pipe-cycles a pixel, 21.5 on each
// (the requantization's SQRDMULH takes 8 of V0's, SRSHL and SQXTN 10 of
// V1's).
//
// Measurements (llvm-mca cycles of the GEMM loops, instructions per MAC
// and per inference under qemu) are in the README's section "arm64 work
// per inference".
package arm64

//go:generate go run ./internal/gemmgen
//go:generate go run ./internal/neongen
