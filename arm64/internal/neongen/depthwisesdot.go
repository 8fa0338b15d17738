package main

import (
	"bytes"
	"fmt"

	"github.com/coatnet-edge/coatnet-edge/arm64/internal/asmgen"
)

func init() {
	files["depthwise_sdot_arm64.s"] = depthwiseSdotAsm
	files["testdata/mca/dws_px3.s"] = depthwiseSdotMCA
}

// depthwiseSdotAsm is the dot-product kernel of Depthwise3x3.
func depthwiseSdotAsm() []byte {
	var a asm
	a.header(`// The dot-product (SDOT) kernel of Depthwise3x3 (see ../kernels/depthwise_arm64.go
// for the Go driver, ../kernels/doc.go for the numerics), for CPUs with
// the dot product (FEAT_DotProd). It computes what Depthwise3x3 does, from
// the same DepthwiseCtx, except that it ignores LeftShift and adds the
// zero point to int16 values (asmgen.Narrow16ZP, the same bytes for |zp|
// <= 32640): the driver runs Depthwise3x3 where a shift is negative or
// the zero point is beyond that.
//
// One SDOT does 3 taps of 4 channels: for each input column kx of the
// window the rows ky = 0, 1, 2 of 16 channels are interleaved with ZIP1/ZIP2
// into 4 registers of [x0 x1 x2 x2] per channel, and the block's weights
// are packed the same way as [w0 w1 w2 0] (V0-V11: column kx, channels
// 4q..4q+3 in V(4kx+q)). A pixel is 12 SDOTs into accumulators that start
// from the block's biases (with the padding taps' share, kept in ctx's
// scratch with the multipliers, the negated right shifts and the zero
// point: the kernel's only writes to ctx), then the requantization of
// package asmgen. int8 x int8 products summed in int32 are exact.
//
// With stride 1 (step == c), consecutive pixels share columns: dws_px3
// does three pixels an iteration, interleaving one new column per pixel
// into the three column groups V12-V15, V16-V19, V20-V23 in turn. The
// first n mod 3 pixels of a run, and every pixel of stride 2, go through
// dws_px, which interleaves all three columns.
//
// A padding tap's weights are zeroed, so what its pointer (the center
// tap's) reads does not count; in a run of several pixels only whole
// rows are padding, so a shared column meets zero weights in every pixel
// that uses it for such a row.
//
// Registers: R0 ctx, R1-R9 tap pointers, R10 step, R11 dst, R12 c, R13
// iterations of dws_px3, R14 channel offset, R15 c-16, R16-R17 scratch
// (R17: pixels for dws_px), R20-R23 ctx's scratch: biases, multipliers,
// negated right shifts, zero point. V0-V11 packed weights, V12-V23 columns
// (and the block's raw weights while packing), V24-V27 accumulators,
// V28-V31 temporaries. R18 and R27-R30 are not touched; the function is a
// leaf.`)
	a.p("")
	a.p("// Offsets of the DepthwiseCtx fields.")
	a.ctxDefines("dw", dwCtxFields...)
	a.p("")
	a.p("// func Depthwise3x3Sdot(ctx *DepthwiseCtx)")
	a.p("TEXT ·Depthwise3x3Sdot(SB), NOSPLIT, $0-8")
	a.i("MOVD ctx+0(FP), R0")
	a.i("MOVD dw_step(R0), R10")
	a.i("MOVD dw_c(R0), R12")
	a.i("SUB $16, R12, R15")
	a.i("MOVD ZR, R14")
	a.i("ADD $dw_scratch, R0, R20")
	a.i("ADD $64, R20, R21")
	a.i("ADD $128, R20, R22")
	a.i("ADD $192, R20, R23")
	a.i("MOVD dw_zp(R0), R16")
	a.i("VDUP R16, V28.H8")
	a.i("VST1 [V28.H8], (R23)")
	a.p("")
	a.p("dws_block:")
	a.i("VEOR V21.B16, V21.B16, V21.B16")
	a.i("// The block's weights into V12-V20; biases, multipliers, shifts to scratch.")
	a.i("MOVD dw_w(R0), R16")
	a.i("ADD R14, R16, R16")
	for t := range 9 {
		a.i("VLD1.P (R16)(R12), [V%d.B16]", 12+t)
	}
	a.i("MOVD dw_bias(R0), R16")
	a.i("MOVD dw_biasStep(R0), R17")
	a.i("MADD R14, R16, R17, R16")
	a.i("VLD1 (R16), [V24.S4, V25.S4, V26.S4, V27.S4]")
	a.i("MOVD dw_paramStep(R0), R17")
	a.i("MOVD dw_mult(R0), R16")
	a.i("MADD R14, R16, R17, R16")
	a.i("VLD1 (R16), [V28.S4, V29.S4, V30.S4, V31.S4]")
	a.i("VST1 [V28.S4, V29.S4, V30.S4, V31.S4], (R21)")
	a.i("MOVD dw_shift(R0), R16")
	a.i("MADD R14, R16, R17, R16")
	a.i("VLD1 (R16), [V28.S4, V29.S4, V30.S4, V31.S4]")
	for r := 28; r <= 31; r++ {
		a.emit(asmgen.RightShift(r, r, 21))
	}
	a.i("VST1 [V28.S4, V29.S4, V30.S4, V31.S4], (R22)")
	a.i("// Padding taps: zero their weights, add pad times them to the biases.")
	a.i("MOVD dw_padMask(R0), R16")
	a.i("CBZ R16, dws_pack")
	a.i("VEOR V0.B16, V0.B16, V0.B16")
	a.i("VEOR V1.B16, V1.B16, V1.B16")
	for t := range 9 {
		a.i("TBZ $%d, R16, dws_pad%d", t, t)
		a.w("saddw v0.8h, v0.8h, v%d.8b", 12+t)
		a.w("saddw2 v1.8h, v1.8h, v%d.16b", 12+t)
		a.i("VEOR V%d.B16, V%d.B16, V%d.B16", 12+t, 12+t, 12+t)
		a.p("dws_pad%d:", t)
	}
	a.i("MOVD dw_pad(R0), R17")
	a.i("VDUP R17, V2.H8")
	a.w("smull v3.4s, v0.4h, v2.4h")
	a.w("smull2 v4.4s, v0.8h, v2.8h")
	a.w("smull v5.4s, v1.4h, v2.4h")
	a.w("smull2 v6.4s, v1.8h, v2.8h")
	for r := range 4 {
		a.i("VADD V%d.S4, V%d.S4, V%d.S4", 3+r, 24+r, 24+r)
	}
	a.p("")
	a.p("dws_pack:")
	a.i("VST1 [V24.S4, V25.S4, V26.S4, V27.S4], (R20)")
	a.i("// Column kx's weights as [w0 w1 w2 0] per channel into V(4kx)-V(4kx+3).")
	for kx := range 3 {
		for _, in := range dwsInterleave(12+kx, 15+kx, 18+kx, 21, 4*kx) {
			a.w("%s", in.gnu)
		}
	}
	a.i("// The run's tap and output pointers at this block.")
	for t := 0; t < 8; t += 2 {
		a.i("LDP dw_taps+%d(R0), (R%d, R%d)", 8*t, t+1, t+2)
	}
	a.i("MOVD dw_taps+64(R0), R9")
	for t := range 9 {
		a.i("ADD R14, R%d, R%d", t+1, t+1)
	}
	a.i("MOVD dw_dst(R0), R11")
	a.i("ADD R14, R11, R11")
	a.i("// Stride 1 and n >= 3: n mod 3 pixels by dws_px, the rest by dws_px3.")
	a.i("MOVD dw_n(R0), R17")
	a.i("MOVD ZR, R13")
	a.i("CMP R12, R10")
	a.i("BNE dws_px")
	a.i("CMP $3, R17")
	a.i("BLT dws_px")
	a.i("MOVD $3, R16")
	a.i("UDIV R16, R17, R13")
	a.i("MSUB R13, R17, R16, R17")
	a.i("CBZ R17, dws_tri")
	a.p("")
	a.p("dws_px:")
	a.i("// One pixel, its three columns interleaved.")
	for _, in := range dwsPixel1() {
		in.write(&a)
	}
	a.i("SUBS $1, R17, R17")
	a.i("BNE dws_px")
	a.p("")
	a.p("dws_tri:")
	a.i("CBZ R13, dws_next")
	a.i("// Columns 0 and 1 of the first pixel; dws_px3 reads column 2 on.")
	for _, in := range dwsColumn([3]int{1, 4, 7}, false, 12) {
		in.write(&a)
	}
	for _, in := range dwsColumn([3]int{2, 5, 8}, false, 16) {
		in.write(&a)
	}
	a.p("")
	a.p("dws_px3:")
	a.i("// Three pixels, one new column each.")
	for _, in := range dwsPixels3() {
		in.write(&a)
	}
	a.i("BNE dws_px3")
	a.p("")
	a.p("dws_next:")
	a.i("// The next block: offset min(off+16, c-16), unless this was c-16.")
	a.i("CMP R15, R14")
	a.i("BEQ dws_done")
	a.i("ADD $16, R14, R14")
	a.i("CMP R15, R14")
	a.i("CSEL GT, R15, R14, R14")
	a.i("B dws_block")
	a.p("")
	a.p("dws_done:")
	a.i("RET")
	return a.b.Bytes()
}

// write writes in into a: in Go syntax, or as a WORD.
func (in insn) write(a *asm) {
	if in.goAsm != "" {
		a.i("%s", in.goAsm)
	} else {
		a.w("%s", in.gnu)
	}
}

// dwsInterleave interleaves the 16 bytes of rows r0, r1, r2 and a fourth
// row r3 into 4 registers from dst: 4 bytes a channel, channels 4q..4q+3
// in dst+q. It uses V28-V31 (r3 may be r2).
func dwsInterleave(r0, r1, r2, r3, dst int) []insn {
	var is []insn
	g := func(f string, args ...any) { is = append(is, insn{"", fmt.Sprintf(f, args...)}) }
	g("zip1 v31.16b, v%d.16b, v%d.16b", r0, r1) // channels 0-7 of rows 0, 1
	g("zip2 v28.16b, v%d.16b, v%d.16b", r0, r1) // channels 8-15
	g("zip1 v29.16b, v%d.16b, v%d.16b", r2, r3)
	g("zip2 v30.16b, v%d.16b, v%d.16b", r2, r3)
	g("zip1 v%d.8h, v31.8h, v29.8h", dst)
	g("zip2 v%d.8h, v31.8h, v29.8h", dst+1)
	g("zip1 v%d.8h, v28.8h, v30.8h", dst+2)
	g("zip2 v%d.8h, v28.8h, v30.8h", dst+3)
	return is
}

// dwsColumn loads the rows of one input column from the tap pointers
// ptrs (post-incremented by the step when post) and interleaves them
// into the column group at dst as [x0 x1 x2 x2] per channel.
func dwsColumn(ptrs [3]int, post bool, dst int) []insn {
	var is []insn
	for r, p := range ptrs {
		if post {
			is = append(is, insn{fmt.Sprintf("VLD1.P (R%d)(R10), [V%d.B16]", p, 28+r), fmt.Sprintf("ld1 {v%d.16b}, [x%d], x10", 28+r, p)})
		} else {
			is = append(is, insn{fmt.Sprintf("VLD1 (R%d), [V%d.B16]", p, 28+r), fmt.Sprintf("ld1 {v%d.16b}, [x%d]", 28+r, p)})
		}
	}
	return append(is, dwsInterleave(28, 29, 30, 30, dst)...)
}

// dwsOut is one pixel from its interleaved columns cols (kx = 0, 1, 2):
// 12 SDOTs from the biases, requantized, stored.
func dwsOut(cols [3]int) []insn {
	var is []insn
	g := func(f string, args ...any) { is = append(is, insn{"", fmt.Sprintf(f, args...)}) }
	both := func(goAsm, gnu string) { is = append(is, insn{goAsm, gnu}) }
	ld4 := func(ptr int) {
		both(fmt.Sprintf("VLD1 (R%d), [V28.S4, V29.S4, V30.S4, V31.S4]", ptr), fmt.Sprintf("ld1 {v28.4s, v29.4s, v30.4s, v31.4s}, [x%d]", ptr))
	}
	both("VLD1 (R20), [V24.S4, V25.S4, V26.S4, V27.S4]", "ld1 {v24.4s, v25.4s, v26.4s, v27.4s}, [x20]")
	for kx, col := range cols {
		for q := range 4 {
			g("sdot v%d.4s, v%d.16b, v%d.16b", 24+q, col+q, 4*kx+q)
		}
	}
	sc := asmgen.Scale(asmgen.Quarters(24, asmgen.Regs(28), asmgen.Regs(28), asmgen.Regs(28), asmgen.Bcast(asmgen.NoZP)), asmgen.ByStep)
	add := func(ins []asmgen.Ins) {
		for _, in := range ins {
			g("%s", in.GNU)
		}
	}
	ld4(21) // multipliers
	add(sc[0:4])
	ld4(22) // negated right shifts
	add(sc[4:8])
	both("VLD1 (R23), [V30.H8]", "ld1 {v30.8h}, [x23]") // zero point
	add(asmgen.Narrow16ZP(28, 24, 30))
	both("VST1.P [V28.B16], (R11)(R12)", "st1 {v28.16b}, [x11], x12")
	return is
}

// dwsPixel1 is one pixel of dws_px: its three columns, all pointers
// stepped.
func dwsPixel1() []insn {
	var is []insn
	for kx := range 3 {
		is = append(is, dwsColumn([3]int{kx + 1, kx + 4, kx + 7}, true, 12+4*kx)...)
	}
	return append(is, dwsOut([3]int{12, 16, 20})...)
}

// dwsPixels3 is the body of dws_px3 up to its closing branch: three
// pixels, each reading column 2 of its window (taps 2, 5, 8) into the
// group that held the previous pixel's column 0, and the iteration count
// (R13) decremented.
func dwsPixels3() []insn {
	var is []insn
	g := [3]int{12, 16, 20}
	for j := range 3 {
		is = append(is, dwsColumn([3]int{3, 6, 9}, true, g[(j+2)%3])...)
		is = append(is, dwsOut([3]int{g[j], g[(j+1)%3], g[(j+2)%3]})...)
	}
	return append(is, insn{"SUBS $1, R13, R13", "subs x13, x13, #1"})
}

// depthwiseSdotMCA is dws_px3 in GNU syntax, as llvm-mca reads it.
func depthwiseSdotMCA() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by %s (internal/neongen); DO NOT EDIT.\n", version)
	b.WriteString("// The loop dws_px3 of Depthwise3x3Sdot (depthwise_sdot_arm64.s): three output\n")
	b.WriteString("// pixels x 16 channels = 432 int8 multiply-accumulates per iteration, requantized.\n")
	b.WriteString("// llvm-mca-19 -mtriple=aarch64 -mcpu=neoverse-n1 -mattr=+dotprod -iterations=1000 dws_px3.s\n")
	b.WriteString("dws_px3:\n")
	for _, in := range dwsPixels3() {
		fmt.Fprintf(&b, "\t%s\n", in.gnu)
	}
	b.WriteString("\tb.ne dws_px3\n")
	return b.Bytes()
}
