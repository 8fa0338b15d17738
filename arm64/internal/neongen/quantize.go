package main

func init() { files["quantize_arm64.s"] = quantizeAsm }

func quantizeAsm() []byte {
	var a asm
	a.header(`// The NEON kernel of QuantizeInput (see ../kernels/quantize_arm64.go for the
// Go driver, quantize.go for the numerics).
//
// n values (a multiple of 8), 8 at a time, in float64 as QuantizeInputValue
// computes them: FCVTL widens (exactly), FMUL by inv = 1/scale (the
// driver's float64, the reference's), FRINTA rounds to the nearest with
// halves away from zero (math.Round), FADD the zero point (exact: an
// integer plus a small integer), FMAX -128 and FMIN 127 (a NaN stays a
// NaN), FCVTZS to int64 (NaN to 0, what the reference gives; the rest are
// integers in [-128, 127], exact) and XTN down to bytes, each stored
// stride bytes after the last (ST1 of one lane, post-indexed).
//
// Registers: R0 dst, R1 stride, R2 src, R3 blocks of 8 left, R4 scratch.
// V0-V1 the floats, V2-V5 float64 lanes, V6-V7 narrowing, V27 127, V28
// -128, V29 the zero point, V30 inv (float64, both lanes). R18 and
// R27-R30 are not touched; the function is a leaf.`)
	a.p("")
	a.p("// func QuantizeInput(dst *int8, stride int, src *float32, n int, inv, zp float64)")
	a.p("TEXT ·QuantizeInput(SB), NOSPLIT, $0-48")
	a.i("MOVD dst+0(FP), R0")
	a.i("MOVD stride+8(FP), R1")
	a.i("MOVD src+16(FP), R2")
	a.i("MOVD n+24(FP), R3")
	a.i("LSR $3, R3, R3")
	a.i("CBZ R3, qi_done")
	a.i("FMOVD inv+32(FP), F30")
	a.w("dup v30.2d, v30.d[0]")
	a.i("FMOVD zp+40(FP), F29")
	a.w("dup v29.2d, v29.d[0]")
	a.i("MOVD $0x405FC00000000000, R4 // 127.0")
	a.i("VDUP R4, V27.D2")
	a.i("MOVD $0xC060000000000000, R4 // -128.0")
	a.i("VDUP R4, V28.D2")
	a.p("")
	a.p("qi_8:")
	a.i("VLD1.P 32(R2), [V0.S4, V1.S4]")
	a.w("fcvtl v2.2d, v0.2s")
	a.w("fcvtl2 v3.2d, v0.4s")
	a.w("fcvtl v4.2d, v1.2s")
	a.w("fcvtl2 v5.2d, v1.4s")
	for _, op := range []string{"fmul v%d.2d, v%d.2d, v30.2d", "frinta v%d.2d, v%d.2d", "fadd v%d.2d, v%d.2d, v29.2d",
		"fmax v%d.2d, v%d.2d, v28.2d", "fmin v%d.2d, v%d.2d, v27.2d", "fcvtzs v%d.2d, v%d.2d"} {
		for r := 2; r <= 5; r++ {
			a.w(op, r, r)
		}
	}
	a.w("xtn v6.2s, v2.2d")
	a.w("xtn2 v6.4s, v3.2d")
	a.w("xtn v7.2s, v4.2d")
	a.w("xtn2 v7.4s, v5.2d")
	a.w("xtn v6.4h, v6.4s")
	a.w("xtn2 v6.8h, v7.4s")
	a.w("xtn v6.8b, v6.8h")
	for i := range 8 {
		a.i("VST1.P V6.B[%d], (R0)(R1)", i)
	}
	a.i("SUBS $1, R3, R3")
	a.i("BNE qi_8")
	a.p("")
	a.p("qi_done:")
	a.i("RET")
	return a.b.Bytes()
}
