package main

import "github.com/coatnet-edge/coatnet-edge/arm64/internal/asmgen"

func init() { files["affine_arm64.s"] = affineAsm }

// blockNext writes the step to the next channel block of the kernels
// that walk 16 channels at a time over c channels (c >= 16): offsets 0,
// 16, ..., and c-16 last when c is not a multiple of 16. Registers off
// and last hold the offset and c-16; it branches to prefix_block for the
// next block, to prefix_done after the last.
func (a *asm) blockNext(prefix string, off, last int) {
	a.p("%s_next:", prefix)
	a.i("// The next block: offset min(off+16, c-16), unless this was c-16.")
	a.i("CMP R%d, R%d", last, off)
	a.i("BEQ %s_done", prefix)
	a.i("ADD $16, R%d, R%d", off, off)
	a.i("CMP R%d, R%d", last, off)
	a.i("CSEL GT, R%d, R%d, R%d", last, off, off)
	a.i("B %s_block", prefix)
}

func affineAsm() []byte {
	var a asm
	a.header(`// The NEON kernel of Affine (see ../kernels/affine_arm64.go for the Go driver,
// affine.go for the numerics).
//
// 16 channels at a time (offsets 0, 16, ..., and c-16 last when c is not a
// multiple of 16: those channels are computed twice, alike), the block's
// weights (int16), biases, multipliers and shifts held in registers while
// the rows stream by. Per row: x - zero in int16 (SSUBL), times the
// weights into int32 (SMULL), plus the biases, requantized as ../kernels/doc.go says
// (SQSHL only in the left-shift loops, SQRDMULH, SRSHL, SQADD, SQXTN; the
// other loops add the zero point to int16 values, asmgen.Narrow16ZP, so
// the driver takes the left-shift loops where |zp| > 32640 too).
//
// Registers: R0 ctx, R1 src, R2 dst, R3 c (the row step), R4 rows left,
// R5 channel offset, R6 c-16, R7-R8 scratch. V0-V1 weights, V2-V5 biases,
// V6-V9 multipliers, V10-V13 negated right shifts, V14-V17 left shifts,
// V18 output zero point, V19 input zero point (bytes), V20 zero, V21 the
// row's values, V22-V23 minus the zero point, V24-V27 accumulators,
// V28-V29 output, V30 the output zero point in 8 int16 lanes. R18 and R27-R30 are not touched; the function is a
// leaf.`)
	a.p("")
	a.p("// Offsets of the AffineCtx fields.")
	a.ctxDefines("af", "dst", "src", "c", "rows", "zero", "w", "bias", "mult", "shift", "paramStep", "zp", "left")
	a.p("")
	a.p("// func Affine(ctx *AffineCtx)")
	a.p("TEXT ·Affine(SB), NOSPLIT, $0-8")
	a.i("MOVD ctx+0(FP), R0")
	a.i("MOVD af_c(R0), R3")
	a.i("SUB $16, R3, R6")
	a.i("MOVD ZR, R5")
	a.i("MOVD af_zp(R0), R7")
	a.i("VDUP R7, V18.S4")
	a.i("VDUP R7, V30.H8")
	a.i("MOVD af_zero(R0), R7")
	a.i("VDUP R7, V19.B16")
	a.i("VEOR V20.B16, V20.B16, V20.B16")
	a.p("")
	a.p("af_block:")
	a.i("MOVD af_w(R0), R7")
	a.i("ADD R5<<1, R7, R7")
	a.i("VLD1 (R7), [V0.H8, V1.H8]")
	a.i("MOVD af_bias(R0), R7")
	a.i("CBZ R7, af_params")
	a.i("ADD R5<<2, R7, R7")
	a.i("VLD1 (R7), [V2.S4, V3.S4, V4.S4, V5.S4]")
	a.p("af_params:")
	a.i("MOVD af_paramStep(R0), R8")
	a.i("MOVD af_mult(R0), R7")
	a.i("MADD R5, R7, R8, R7")
	a.i("VLD1 (R7), [V6.S4, V7.S4, V8.S4, V9.S4]")
	a.i("MOVD af_shift(R0), R7")
	a.i("MADD R5, R7, R8, R7")
	a.i("VLD1 (R7), [V10.S4, V11.S4, V12.S4, V13.S4]")
	a.shifts(10, 14, 20)
	a.i("MOVD af_src(R0), R1")
	a.i("ADD R5, R1, R1")
	a.i("MOVD af_dst(R0), R2")
	a.i("ADD R5, R2, R2")
	a.i("MOVD af_rows(R0), R4")
	a.i("MOVD af_left(R0), R7")
	a.i("MOVD af_bias(R0), R8")
	a.i("CBNZ R7, af_lsh")
	a.i("CBNZ R8, af_rowb")
	a.i("B af_row")
	a.p("af_lsh:")
	a.i("CBNZ R8, af_rowbl")
	a.i("B af_rowl")
	for _, v := range []struct {
		label      string
		bias, left bool
	}{{"af_row", false, false}, {"af_rowb", true, false}, {"af_rowl", false, true}, {"af_rowbl", true, true}} {
		a.p("")
		a.p("%s:", v.label)
		a.i("VLD1.P (R1)(R3), [V21.B16]")
		a.w("ssubl v22.8h, v21.8b, v19.8b")
		a.w("ssubl2 v23.8h, v21.16b, v19.16b")
		a.w("smull v24.4s, v22.4h, v0.4h")
		a.w("smull2 v25.4s, v22.8h, v0.8h")
		a.w("smull v26.4s, v23.4h, v1.4h")
		a.w("smull2 v27.4s, v23.8h, v1.8h")
		if v.bias {
			for q := range 4 {
				a.i("VADD V%d.S4, V%d.S4, V%d.S4", 2+q, 24+q, 24+q)
			}
		}
		if v.left {
			a.emit(asmgen.Requant16(asmgen.Quarters(24, asmgen.Regs(6), asmgen.Regs(10), asmgen.Regs(14), asmgen.Bcast(18)), 28, true))
		} else {
			a.emit(asmgen.Scale(asmgen.Quarters(24, asmgen.Regs(6), asmgen.Regs(10), asmgen.Regs(14), asmgen.Bcast(asmgen.NoZP)), asmgen.ByStep))
			a.emit(asmgen.Narrow16ZP(28, 24, 30))
		}
		a.i("VST1.P [V28.B16], (R2)(R3)")
		a.i("SUBS $1, R4, R4")
		a.i("BNE %s", v.label)
		a.i("B af_next")
	}
	a.p("")
	a.blockNext("af", 5, 6)
	a.p("")
	a.p("af_done:")
	a.i("RET")
	return a.b.Bytes()
}
