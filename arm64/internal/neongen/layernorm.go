package main

import "github.com/coatnet-edge/coatnet-edge/arm64/internal/asmgen"

func init() { files["layernorm_arm64.s"] = layerNormAsm }

func layerNormAsm() []byte {
	var a asm
	a.header(`// The NEON kernels of LayerNorm (see ../kernels/layernorm_arm64.go for the Go
// driver, layernorm.go for the numerics). The driver takes up to 64 pixels
// at a time: LayerNormStats sums each pixel's d = x - zero and d^2 over its
// first 16*nb channels, Go adds the other channels and computes each
// pixel's R in float64, and LayerNormApply normalizes the pixels.
//
// LayerNormStats: per 16 channels, d in int16 (SSUBL), sum d pairwise into
// int32 lanes (SADALP), d^2 into int32 (SMULL) and pairwise into int64
// lanes (UADALP): both exact.
//
// LayerNormApply: 16 channels at a time (offsets 0, 16, ..., and c-16 last
// when c is not a multiple of 16; c >= 16), the block's multipliers,
// shifts and biases held in registers while the pixels stream by. Per
// pixel: d (SSUBL); t = c*d - S in int32 (SMULL by c as int16, c <=
// 32767; SUB); t*R in int64 (SMULL, SMULL2); nv = sat32((t*R + 2^11) >>
// 12) (SQRSHRN #12); then SQSHL (left-shift loop only), SQRDMULH, SRSHL,
// SQADD the bias, SQXTN twice: sat8(sat32(y + bias)) = sat8(y + bias).
//
// Registers, LayerNormApply: R0 ctx, R1 src, R2 dst, R3 c, R4 pixels left,
// R5 channel offset, R6 c-16, R7 S and R of the pixel, R8-R9 scratch.
// V0-V3 multipliers, V4-V7 negated right shifts, V8-V11 left shifts,
// V12-V15 biases, V16 c (8H), V17 zero (bytes), V18 zero, V19 x, V20-V21
// d, V22-V25 t then nv, V26-V27 t*R, V28 S, V29 R, V30 output. R18 and
// R27-R30 are not touched; the functions are leaves.`)
	a.p("")
	a.p("// Offsets of the LayerNormCtx fields.")
	a.ctxDefines("ln", "src", "dst", "c", "pixels", "zero", "nb", "s", "q", "s32", "r", "mult", "shift", "bias", "left")
	a.p("")
	a.p("// func LayerNormStats(ctx *LayerNormCtx)")
	a.p("//")
	a.p("// R1 the pixel, R2 its blocks' source, R3 c, R4 pixels left, R5 blocks")
	a.p("// left, R6 the sums of d, R7 the sums of d^2. V0 x, V1-V2 d, V3-V6 d^2,")
	a.p("// V16 and V19 sums of d, V17 and V20-V22 sums of d^2 (one per SADALP")
	a.p("// or UADALP of a block, so that no block waits for the last one's),")
	a.p("// V18 zero (bytes).")
	a.p("TEXT ·LayerNormStats(SB), NOSPLIT, $0-8")
	a.i("MOVD ctx+0(FP), R0")
	a.i("MOVD ln_src(R0), R1")
	a.i("MOVD ln_c(R0), R3")
	a.i("MOVD ln_pixels(R0), R4")
	a.i("MOVD ln_s(R0), R6")
	a.i("MOVD ln_q(R0), R7")
	a.i("MOVD ln_zero(R0), R8")
	a.i("VDUP R8, V18.B16")
	a.i("CBZ R4, lns_done")
	a.p("lns_pixel:")
	a.i("MOVD R1, R2")
	a.i("MOVD ln_nb(R0), R5")
	for _, v := range []int{16, 17, 19, 20, 21, 22} {
		a.i("VEOR V%d.B16, V%d.B16, V%d.B16", v, v, v)
	}
	a.p("lns_block:")
	a.i("VLD1.P 16(R2), [V0.B16]")
	a.w("ssubl v1.8h, v0.8b, v18.8b")
	a.w("ssubl2 v2.8h, v0.16b, v18.16b")
	a.w("sadalp v16.4s, v1.8h")
	a.w("sadalp v19.4s, v2.8h")
	a.w("smull v3.4s, v1.4h, v1.4h")
	a.w("smull2 v4.4s, v1.8h, v1.8h")
	a.w("smull v5.4s, v2.4h, v2.4h")
	a.w("smull2 v6.4s, v2.8h, v2.8h")
	for i, r := range []int{3, 4, 5, 6} {
		a.w("uadalp v%d.2d, v%d.4s", []int{17, 20, 21, 22}[i], r)
	}
	a.i("SUBS $1, R5, R5")
	a.i("BNE lns_block")
	a.i("VADD V19.S4, V16.S4, V16.S4")
	a.i("VADD V20.D2, V17.D2, V17.D2")
	a.i("VADD V22.D2, V21.D2, V21.D2")
	a.i("VADD V21.D2, V17.D2, V17.D2")
	a.w("saddlv d16, v16.4s")
	a.w("addp d17, v17.2d")
	a.i("FMOVD F16, (R6)")
	a.i("FMOVD F17, (R7)")
	a.i("ADD $8, R6, R6")
	a.i("ADD $8, R7, R7")
	a.i("ADD R3, R1, R1")
	a.i("SUBS $1, R4, R4")
	a.i("BNE lns_pixel")
	a.p("lns_done:")
	a.i("RET")

	a.p("")
	a.p("// func LayerNormApply(ctx *LayerNormCtx)")
	a.p("TEXT ·LayerNormApply(SB), NOSPLIT, $0-8")
	a.i("MOVD ctx+0(FP), R0")
	a.i("MOVD ln_c(R0), R3")
	a.i("SUB $16, R3, R6")
	a.i("MOVD ZR, R5")
	a.i("VDUP R3, V16.H8")
	a.i("MOVD ln_zero(R0), R8")
	a.i("VDUP R8, V17.B16")
	a.i("VEOR V18.B16, V18.B16, V18.B16")
	a.p("")
	a.p("lna_block:")
	a.i("MOVD ln_mult(R0), R8")
	a.i("ADD R5<<2, R8, R8")
	a.i("VLD1 (R8), [V0.S4, V1.S4, V2.S4, V3.S4]")
	a.i("MOVD ln_shift(R0), R8")
	a.i("ADD R5<<2, R8, R8")
	a.i("VLD1 (R8), [V4.S4, V5.S4, V6.S4, V7.S4]")
	a.shifts(4, 8, 18)
	a.i("MOVD ln_bias(R0), R8")
	a.i("ADD R5<<2, R8, R8")
	a.i("VLD1 (R8), [V12.S4, V13.S4, V14.S4, V15.S4]")
	a.i("MOVD ln_src(R0), R1")
	a.i("ADD R5, R1, R1")
	a.i("MOVD ln_dst(R0), R2")
	a.i("ADD R5, R2, R2")
	a.i("MOVD ln_s32(R0), R7")
	a.i("MOVD ln_r(R0), R9")
	a.i("MOVD ln_pixels(R0), R4")
	a.i("MOVD ln_left(R0), R8")
	a.i("CBNZ R8, lna_pxl")
	for _, left := range []bool{false, true} {
		l := "lna_px"
		if left {
			l = "lna_pxl"
		}
		a.p("")
		a.p("%s:", l)
		a.i("VLD1.P (R1)(R3), [V19.B16]")
		a.i("VLD1R.P 4(R7), [V28.S4]")
		a.i("VLD1R.P 4(R9), [V29.S4]")
		a.w("ssubl v20.8h, v19.8b, v17.8b")
		a.w("ssubl2 v21.8h, v19.16b, v17.16b")
		a.w("smull v22.4s, v20.4h, v16.4h")
		a.w("smull2 v23.4s, v20.8h, v16.8h")
		a.w("smull v24.4s, v21.4h, v16.4h")
		a.w("smull2 v25.4s, v21.8h, v16.8h")
		for q := range 4 {
			a.i("VSUB V28.S4, V%d.S4, V%d.S4", 22+q, 22+q)
		}
		for q := range 4 {
			a.w("smull v26.2d, v%d.2s, v29.2s", 22+q)
			a.w("smull2 v27.2d, v%d.4s, v29.4s", 22+q)
			a.w("sqrshrn v%d.2s, v26.2d, #12", 22+q)
			a.w("sqrshrn2 v%d.4s, v27.2d, #12", 22+q)
		}
		// The bias is the zero point: sat8(sat32(y + bias)).
		a.emit(asmgen.Requant16(asmgen.Quarters(22, asmgen.Regs(0), asmgen.Regs(4), asmgen.Regs(8), asmgen.Regs(12)), 30, left))
		a.i("VST1.P [V30.B16], (R2)(R3)")
		a.i("SUBS $1, R4, R4")
		a.i("BNE %s", l)
		a.i("B lna_next")
	}
	a.p("")
	a.blockNext("lna", 5, 6)
	a.p("")
	a.p("lna_done:")
	a.i("RET")
	return a.b.Bytes()
}
