package main

func init() { files["pool_arm64.s"] = poolAsm }

func poolAsm() []byte {
	var a asm
	a.header(`// The NEON kernel of AvgPool2x2 (see ../kernels/pool_arm64.go for the Go driver).
//
// n output pixels of one output row. For each, 16 channels at a time: the
// 2x2 window's values are summed in int16 (SADDL, SADDW) and narrowed with
// RSHRN #2, which is (sum + 2) >> 2 on the low 16 bits, exact since the
// average of int8 values fits int8. nb blocks of 16 channels, then, when
// c is not a multiple of 16, the last 16 channels again (the pointers
// step back by tailBack; those channels are written twice, alike).
//
// Registers: R0 ctx, R1-R4 the window's four pixels, R5 dst, R6 blocks
// left, R7 pixels left, R8 the first pixel, R9 dst of the pixel, R10 c,
// R11 rowStep, R12 tailBack, R13 nb. V0-V3 the window, V4-V5 sums, V6
// output. R18 and R27-R30 are not touched; the function is a leaf.`)
	a.p("")
	a.p("// Offsets of the PoolCtx fields.")
	a.ctxDefines("pl", "src", "dst", "rowStep", "n", "c", "nb", "tailBack")
	a.p("")
	a.p("// func AvgPool2x2(ctx *PoolCtx)")
	a.p("TEXT ·AvgPool2x2(SB), NOSPLIT, $0-8")
	a.i("MOVD ctx+0(FP), R0")
	a.i("MOVD pl_src(R0), R8")
	a.i("MOVD pl_dst(R0), R9")
	a.i("MOVD pl_rowStep(R0), R11")
	a.i("MOVD pl_n(R0), R7")
	a.i("MOVD pl_c(R0), R10")
	a.i("MOVD pl_nb(R0), R13")
	a.i("MOVD pl_tailBack(R0), R12")
	a.i("CBZ R7, pl_done")
	a.p("")
	a.p("pl_pixel:")
	a.i("MOVD R8, R1")
	a.i("ADD R10, R8, R2")
	a.i("ADD R11, R8, R3")
	a.i("ADD R10, R3, R4")
	a.i("MOVD R9, R5")
	a.i("MOVD R13, R6")
	block := func() {
		for r := range 4 {
			a.i("VLD1.P 16(R%d), [V%d.B16]", 1+r, r)
		}
		a.w("saddl v4.8h, v0.8b, v1.8b")
		a.w("saddl2 v5.8h, v0.16b, v1.16b")
		a.w("saddw v4.8h, v4.8h, v2.8b")
		a.w("saddw2 v5.8h, v5.8h, v2.16b")
		a.w("saddw v4.8h, v4.8h, v3.8b")
		a.w("saddw2 v5.8h, v5.8h, v3.16b")
		a.w("rshrn v6.8b, v4.8h, #2")
		a.w("rshrn2 v6.16b, v5.8h, #2")
		a.i("VST1.P [V6.B16], 16(R5)")
	}
	a.p("pl_block:")
	block()
	a.i("SUBS $1, R6, R6")
	a.i("BNE pl_block")
	a.i("CBZ R12, pl_nexpixel")
	for r := 1; r <= 5; r++ {
		a.i("SUB R12, R%d, R%d", r, r)
	}
	block()
	a.p("pl_nexpixel:")
	a.i("ADD R10<<1, R8, R8")
	a.i("ADD R10, R9, R9")
	a.i("SUBS $1, R7, R7")
	a.i("BNE pl_pixel")
	a.p("")
	a.p("pl_done:")
	a.i("RET")
	return a.b.Bytes()
}
