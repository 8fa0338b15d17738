package main

import "github.com/coatnet-edge/coatnet-edge/arm64/internal/asmgen"

func init() { files["mean_arm64.s"] = meanAsm }

func meanAsm() []byte {
	var a asm
	a.header(`// The NEON kernel of MeanChannels (see ../kernels/mean_arm64.go for the Go driver,
// mean.go for the numerics).
//
// 16 channels at a time, from c0 (offsets c0, c0+16, ..., and c1-16 last
// when c1-c0 is not a multiple of 16; c1-c0 >= 16). For a block, the
// pixels' values are summed into int16 lanes (SADDW) for at most 256
// pixels at a time (|sum| <= 256*128 fits), then into int32 lanes that
// start at base = -n*zero (mod 2^32): sum (x - zero) = sum x - n*zero.
// The sums are requantized as ../kernels/doc.go says and stored.
//
// Registers: R0 ctx, R1 src, R3 c (the pixel step), R4 pixels left, R5
// channel offset, R6 c1-16, R7 pixels in this chunk, R8-R9 scratch. V0-V3
// int32 sums, V4-V5 int16 sums, V8-V11 loads, V12-V15 multipliers, V16-V19
// negated right shifts, V20-V23 left shifts, V24 output zero point, V25
// zero, V26-V27 output. R18 and R27-R30 are not touched; the function is
// a leaf.`)
	a.p("")
	a.p("// Offsets of the MeanCtx fields.")
	a.ctxDefines("mn", "dst", "src", "n", "c", "c0", "c1", "base", "mult", "shift", "paramStep", "zp", "left")
	a.p("")
	a.p("// func MeanChannels(ctx *MeanCtx)")
	a.p("TEXT ·MeanChannels(SB), NOSPLIT, $0-8")
	a.i("MOVD ctx+0(FP), R0")
	a.i("MOVD mn_c(R0), R3")
	a.i("MOVD mn_c0(R0), R5")
	a.i("MOVD mn_c1(R0), R6")
	a.i("SUB $16, R6, R6")
	a.i("MOVD mn_zp(R0), R8")
	a.i("VDUP R8, V24.S4")
	a.i("VEOR V25.B16, V25.B16, V25.B16")
	a.p("")
	a.p("mn_block:")
	a.i("MOVD mn_base(R0), R8")
	for q := range 4 {
		a.i("VDUP R8, V%d.S4", q)
	}
	a.i("MOVD mn_src(R0), R1")
	a.i("ADD R5, R1, R1")
	a.i("MOVD mn_n(R0), R4")
	a.i("CBZ R4, mn_sums")
	a.p("")
	a.p("mn_chunk:")
	a.i("// At most 256 pixels into int16 sums.")
	a.i("MOVD $256, R7")
	a.i("CMP R7, R4")
	a.i("CSEL LT, R4, R7, R7")
	a.i("SUB R7, R4, R4")
	a.i("VEOR V4.B16, V4.B16, V4.B16")
	a.i("VEOR V5.B16, V5.B16, V5.B16")
	a.i("CMP $4, R7")
	a.i("BLT mn_one")
	a.p("mn_four:")
	for r := range 4 {
		a.i("VLD1.P (R1)(R3), [V%d.B16]", 8+r)
	}
	for r := range 4 {
		a.w("saddw v4.8h, v4.8h, v%d.8b", 8+r)
		a.w("saddw2 v5.8h, v5.8h, v%d.16b", 8+r)
	}
	a.i("SUB $4, R7, R7")
	a.i("CMP $4, R7")
	a.i("BGE mn_four")
	a.p("mn_one:")
	a.i("CBZ R7, mn_flush")
	a.i("VLD1.P (R1)(R3), [V8.B16]")
	a.w("saddw v4.8h, v4.8h, v8.8b")
	a.w("saddw2 v5.8h, v5.8h, v8.16b")
	a.i("SUB $1, R7, R7")
	a.i("B mn_one")
	a.p("mn_flush:")
	a.w("saddw v0.4s, v0.4s, v4.4h")
	a.w("saddw2 v1.4s, v1.4s, v4.8h")
	a.w("saddw v2.4s, v2.4s, v5.4h")
	a.w("saddw2 v3.4s, v3.4s, v5.8h")
	a.i("CBNZ R4, mn_chunk")
	a.p("")
	a.p("mn_sums:")
	a.i("// Requantize the block's sums and store them.")
	a.i("MOVD mn_paramStep(R0), R9")
	a.i("MOVD mn_mult(R0), R8")
	a.i("MADD R5, R8, R9, R8")
	a.i("VLD1 (R8), [V12.S4, V13.S4, V14.S4, V15.S4]")
	a.i("MOVD mn_shift(R0), R8")
	a.i("MADD R5, R8, R9, R8")
	a.i("VLD1 (R8), [V16.S4, V17.S4, V18.S4, V19.S4]")
	a.shifts(16, 20, 25)
	a.i("MOVD mn_left(R0), R8")
	a.i("CBZ R8, mn_noleft")
	lanes := asmgen.Quarters(0, asmgen.Regs(12), asmgen.Regs(16), asmgen.Regs(20), asmgen.Bcast(24))
	a.emit(asmgen.LeftShifts(lanes))
	a.p("mn_noleft:")
	a.emit(asmgen.Requant16(lanes, 26, false))
	a.i("MOVD mn_dst(R0), R8")
	a.i("ADD R5, R8, R8")
	a.i("VST1 [V26.B16], (R8)")
	a.p("")
	a.blockNext("mn", 5, 6)
	a.p("")
	a.p("mn_done:")
	a.i("RET")
	return a.b.Bytes()
}
