package main

import (
	"bytes"
	"fmt"

	"github.com/coatnet-edge/coatnet-edge/arm64/internal/asmgen"
)

func init() {
	files["depthwise_arm64.s"] = depthwiseAsm
	files["testdata/mca/dw_px2.s"] = depthwiseMCA
}

// dwCtxFields are DepthwiseCtx's fields, for ctxDefines.
var dwCtxFields = []string{"taps[9]", "dst", "w", "bias", "mult", "shift", "biasStep", "paramStep",
	"c", "n", "step", "padMask", "pad", "zp", "leftShift", "scratch[26]"}

// depthwiseAsm is the depthwise 3x3 convolution kernel.
func depthwiseAsm() []byte {
	var a asm
	a.header(`// The NEON kernel of Depthwise3x3 (see ../kernels/depthwise_arm64.go for the Go
// driver, ../kernels/doc.go for the numerics).
//
// Depthwise3x3 computes a run of n output pixels of one output row,
// for all c channels (c >= 16), 16 channels at a time: blocks at channel
// offsets 0, 16, ..., and a last block at c-16 when c is not a multiple of
// 16 (it recomputes some channels, writing the same values). For each
// block the 9 taps' weights stay in V0-V8, the biases in V9-V12, the
// multipliers in V13-V16 and the negated right shifts in V17-V20 while the
// run's pixels stream by; tap t of the first pixel is read at taps[t]
// (plus the block's offset), and each pixel's taps step bytes further
// (stride*c). A tap whose bit is set in padMask reads padding for the
// whole run: its weights are zeroed and pad times them is added to the
// biases (its pointer, the center tap's, is read but meets zero weights).
//
// Without left shifts, pixels go two at a time (dw_px2): their
// accumulator chains are independent, so the multiplies pipeline; the
// biases come from the scratch copy in ctx (the kernel's only write
// there) and V9-V12 and V30-V31 are the second pixel's operands.
//
// Per pixel and block: products of two taps are summed in int16 (SMULL,
// SMLAL: weights in [-127, 127] keep |w*x| <= 16256, two fit), widened
// into the int32 accumulators (SADDW), and requantized as ../kernels/doc.go says:
//
//	acc = sat32(acc << max(-s, 0))  SQSHL, only in the leftShift loop
//	acc = SQRDMULH(acc, mult)
//	acc = rshr(acc, max(s, 0))      SRSHL by the negated amount (rounding)
//	acc = sat32(acc + zp)           SQADD
//	out = sat8(sat16(acc))          SQXTN, SQXTN
//
// Registers: R0 ctx, R1-R9 tap pointers, R10 step, R11 dst, R12 c (the
// step between output pixels and between weight rows), R13 pixels left,
// R14 channel offset, R15 c-16, R16-R17 and R19-R20 scratch (R19: the
// block's shifts). V0-V8 weights, V9-V12 biases, V13-V16 multipliers,
// V17-V20 negated right shifts, V21 zero point, V22-V25 accumulators,
// V26-V29 operands and products, V30 zero. R18 and R27-R30 are not
// touched; the function is a leaf.`)
	a.p("")
	a.p("// Offsets of the DepthwiseCtx fields.")
	a.ctxDefines("dw", dwCtxFields...)
	a.p("")
	a.p("// func Depthwise3x3(ctx *DepthwiseCtx)")
	a.p("TEXT ·Depthwise3x3(SB), NOSPLIT, $0-8")
	a.i("MOVD ctx+0(FP), R0")
	a.i("MOVD dw_step(R0), R10")
	a.i("MOVD dw_c(R0), R12")
	a.i("SUB $16, R12, R15")
	a.i("MOVD ZR, R14")
	a.i("MOVD dw_zp(R0), R16")
	a.i("VDUP R16, V21.S4")
	a.i("ADD $dw_scratch, R0, R20")
	a.p("")
	a.p("dw_block:")
	a.i("VEOR V30.B16, V30.B16, V30.B16")
	a.i("// The block's weights, biases, multipliers and shifts.")
	a.i("MOVD dw_w(R0), R16")
	a.i("ADD R14, R16, R16")
	for t := range 9 {
		a.i("VLD1.P (R16)(R12), [V%d.B16]", t)
	}
	a.i("MOVD dw_bias(R0), R16")
	a.i("MOVD dw_biasStep(R0), R17")
	a.i("MADD R14, R16, R17, R16")
	a.i("VLD1 (R16), [V9.S4, V10.S4, V11.S4, V12.S4]")
	a.i("MOVD dw_paramStep(R0), R17")
	a.i("MOVD dw_mult(R0), R16")
	a.i("MADD R14, R16, R17, R16")
	a.i("VLD1 (R16), [V13.S4, V14.S4, V15.S4, V16.S4]")
	a.i("MOVD dw_shift(R0), R19")
	a.i("MADD R14, R19, R17, R19")
	a.i("VLD1 (R19), [V17.S4, V18.S4, V19.S4, V20.S4]")
	for r := 17; r <= 20; r++ {
		a.emit(asmgen.RightShift(r, r, 30))
	}
	a.i("// Padding taps: zero their weights, add pad times them to the biases.")
	a.i("MOVD dw_padMask(R0), R16")
	a.i("CBZ R16, dw_ptrs")
	a.i("VEOR V26.B16, V26.B16, V26.B16")
	a.i("VEOR V27.B16, V27.B16, V27.B16")
	for t := range 9 {
		a.i("TBZ $%d, R16, dw_pad%d", t, t)
		a.w("saddw v26.8h, v26.8h, v%d.8b", t)
		a.w("saddw2 v27.8h, v27.8h, v%d.16b", t)
		a.i("VEOR V%d.B16, V%d.B16, V%d.B16", t, t, t)
		a.p("dw_pad%d:", t)
	}
	a.i("MOVD dw_pad(R0), R17")
	a.i("VDUP R17, V28.H8")
	a.w("smull v22.4s, v26.4h, v28.4h")
	a.w("smull2 v23.4s, v26.8h, v28.8h")
	a.w("smull v24.4s, v27.4h, v28.4h")
	a.w("smull2 v25.4s, v27.8h, v28.8h")
	for r := range 4 {
		a.i("VADD V%d.S4, V%d.S4, V%d.S4", 22+r, 9+r, 9+r)
	}
	a.p("")
	a.p("dw_ptrs:")
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
	a.i("MOVD dw_n(R0), R13")
	a.i("MOVD dw_leftShift(R0), R16")
	a.i("CBNZ R16, dw_pxl")
	a.i("// Pairs of pixels, then the odd one.")
	a.i("VST1 [V9.S4, V10.S4, V11.S4, V12.S4], (R20)")
	a.i("LSR $1, R13, R16")
	a.i("AND $1, R13, R13")
	a.i("CBZ R16, dw_px")
	a.p("")
	a.p("dw_px2:")
	a.i("// Two pixels of the block.")
	for _, in := range dwPixels2() {
		if in.goAsm != "" {
			a.i("%s", in.goAsm)
		} else {
			a.w("%s", in.gnu)
		}
	}
	a.i("BNE dw_px2")
	a.i("CBZ R13, dw_next")
	a.i("VLD1 (R20), [V9.S4, V10.S4, V11.S4, V12.S4]")
	for _, left := range []bool{false, true} {
		label := "dw_px"
		if left {
			label = "dw_pxl"
		}
		a.p("")
		a.p("%s:", label)
		if left {
			a.i("// One pixel of the block, with left shifts.")
		} else {
			a.i("// One pixel of the block.")
		}
		dwPixel(&a, left)
		a.i("SUBS $1, R13, R13")
		a.i("BNE %s", label)
		if !left {
			a.i("B dw_next")
		}
	}
	a.p("")
	a.p("dw_next:")
	a.i("// The next block: offset min(off+16, c-16), unless this was c-16.")
	a.i("CMP R15, R14")
	a.i("BEQ dw_done")
	a.i("ADD $16, R14, R14")
	a.i("CMP R15, R14")
	a.i("CSEL GT, R15, R14, R14")
	a.i("B dw_block")
	a.p("")
	a.p("dw_done:")
	a.i("RET")
	return a.b.Bytes()
}

// dwPixel is one output pixel of a block: 9 taps, requantized, stored.
func dwPixel(a *asm, left bool) {
	first := true
	for t := 0; t < 9; t += 2 {
		a.i("VLD1.P (R%d)(R10), [V26.B16]", t+1)
		a.w("smull v28.8h, v26.8b, v%d.8b", t)
		a.w("smull2 v29.8h, v26.16b, v%d.16b", t)
		if t < 8 {
			a.i("VLD1.P (R%d)(R10), [V27.B16]", t+2)
			a.w("smlal v28.8h, v27.8b, v%d.8b", t+1)
			a.w("smlal2 v29.8h, v27.16b, v%d.16b", t+1)
		}
		for q := range 4 {
			src := 22 + q
			if first {
				src = 9 + q // the biases
			}
			half, arr := "", "4h"
			if q%2 == 1 {
				half, arr = "2", "8h"
			}
			a.w("saddw%s v%d.4s, v%d.4s, v%d.%s", half, 22+q, src, 28+q/2, arr)
		}
		first = false
	}
	lanes := asmgen.Quarters(22, asmgen.Regs(13), asmgen.Regs(17), asmgen.Regs(26), asmgen.Bcast(21))
	if left {
		// The left shifts from the raw shifts, into V26-V29.
		a.i("VLD1 (R19), [V26.S4, V27.S4, V28.S4, V29.S4]")
		for q := range 4 {
			a.emit(asmgen.LeftShift(26+q, 26+q, 30))
			a.emit(asmgen.LeftShifts(lanes[q : q+1]))
		}
	}
	a.emit(asmgen.Requant16(lanes, 26, false))
	a.i("VST1.P [V26.B16], (R11)(R12)")
}

// insn is one instruction in Go syntax (empty for a WORD) and GNU syntax.
type insn struct{ goAsm, gnu string }

// dwPixels2 is the body of dw_px2 up to its closing branch: two pixels of
// a block (accumulators V22-V25 and V26-V29, operands V9-V11 and V12,
// V30, V31), their instructions interleaved, requantized, stored, and the
// pair count (R16) decremented.
func dwPixels2() []insn {
	var is []insn
	gnu := func(f string, args ...any) { is = append(is, insn{"", fmt.Sprintf(f, args...)}) }
	both := func(goAsm, g string) { is = append(is, insn{goAsm, g}) }
	acc := [2]int{22, 26}
	x1, x2, hi := [2]int{9, 12}, [2]int{10, 30}, [2]int{11, 31}
	for p := range 2 {
		both(fmt.Sprintf("VLD1 (R20), [V%d.S4, V%d.S4, V%d.S4, V%d.S4]", acc[p], acc[p]+1, acc[p]+2, acc[p]+3),
			fmt.Sprintf("ld1 {v%d.4s, v%d.4s, v%d.4s, v%d.4s}, [x20]", acc[p], acc[p]+1, acc[p]+2, acc[p]+3))
	}
	// Pixel 0 reads at each tap pointer, pixel 1 a step further; the
	// pointers advance by two steps after the stores. No load writes its
	// base back: on the in-order A53 that holds up issue (llvm-mca: 266
	// cycles an iteration with post-indexed loads, 214 so).
	ld := func(r, ptr, p int) {
		if p == 0 {
			both(fmt.Sprintf("FMOVQ (R%d), F%d", ptr, r), fmt.Sprintf("ldr q%d, [x%d]", r, ptr))
		} else {
			gnu("ldr q%d, [x%d, x10]", r, ptr)
		}
	}
	for t := 0; t < 9; t += 2 {
		pair := t < 8
		for p := range 2 {
			ld(x1[p], t+1, p)
			if pair {
				ld(x2[p], t+2, p)
			}
		}
		for p := range 2 {
			gnu("smull2 v%d.8h, v%d.16b, v%d.16b", hi[p], x1[p], t)
			gnu("smull v%d.8h, v%d.8b, v%d.8b", x1[p], x1[p], t)
		}
		if pair {
			for p := range 2 {
				gnu("smlal2 v%d.8h, v%d.16b, v%d.16b", hi[p], x2[p], t+1)
				gnu("smlal v%d.8h, v%d.8b, v%d.8b", x1[p], x2[p], t+1)
			}
		}
		for p := range 2 {
			a := acc[p]
			gnu("saddw v%d.4s, v%d.4s, v%d.4h", a, a, x1[p])
			gnu("saddw2 v%d.4s, v%d.4s, v%d.8h", a+1, a+1, x1[p])
			gnu("saddw v%d.4s, v%d.4s, v%d.4h", a+2, a+2, hi[p])
			gnu("saddw2 v%d.4s, v%d.4s, v%d.8h", a+3, a+3, hi[p])
		}
	}
	var lanes []asmgen.Lane
	for p := range 2 {
		lanes = append(lanes, asmgen.Quarters(acc[p], asmgen.Regs(13), asmgen.Regs(17), asmgen.Regs(0), asmgen.Bcast(21))...)
	}
	for _, in := range asmgen.Scale(lanes, asmgen.ByStep) {
		gnu("%s", in.GNU)
	}
	out := [2]int{9, 30}
	for p := range 2 {
		for _, in := range asmgen.Narrow16(out[p], acc[p]) {
			gnu("%s", in.GNU)
		}
	}
	for p := range 2 {
		both(fmt.Sprintf("VST1.P [V%d.B16], (R11)(R12)", out[p]), fmt.Sprintf("st1 {v%d.16b}, [x11], x12", out[p]))
	}
	for t := range 9 {
		both(fmt.Sprintf("ADD R10<<1, R%d, R%d", t+1, t+1), fmt.Sprintf("add x%d, x%d, x10, lsl #1", t+1, t+1))
	}
	both("SUBS $1, R16, R16", "subs x16, x16, #1")
	return is
}

// depthwiseMCA is dw_px2 in GNU syntax, as llvm-mca reads it.
func depthwiseMCA() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by %s (internal/neongen); DO NOT EDIT.\n", version)
	b.WriteString("// The loop dw_px2 of Depthwise3x3 (depthwise_arm64.s): two output pixels\n")
	b.WriteString("// x 16 channels = 288 int8 multiply-accumulates per iteration, requantized.\n")
	b.WriteString("// llvm-mca-19 -mtriple=aarch64 -mcpu=neoverse-n1 -mattr=+dotprod -iterations=1000 dw_px2.s\n")
	b.WriteString("dw_px2:\n")
	for _, in := range dwPixels2() {
		fmt.Fprintf(&b, "\t%s\n", in.gnu)
	}
	b.WriteString("\tb.ne dw_px2\n")
	return b.Bytes()
}
