package main

func init() { files["pack_arm64.s"] = packAsm }

func packAsm() []byte {
	var a asm
	a.header(`// The NEON kernels of Weights.PackStrided and Weights.PackTransposed for
// the panel layouts of the GEMM micro-kernels (see ../kernels/pack_arm64.go for the
// Go drivers, gemm_arm64.go and doc.go there for the layouts: sdot has panels of
// nr = 16 rows in chunks of kc = 4 bytes, neon panels of 4 rows in chunks
// of 16). Every value is clamped to [-127, 127] (SMAX with -127).
//
// PackStrided copies the first 16*kb values of each of m rows, 16 at a
// time: the 16 values of a row are 16/kc chunks, each 64 bytes after the
// previous one in the panel (sdot: four 4-byte lane stores; neon: one
// 16-byte store).
//
// PackTransposed packs W[i][j] = src[j*ld+i] for whole panels (nr rows
// i) and whole chunks (kc values j). sdot: the 4 source rows j..j+3 hold
// the panel's 16 rows' values contiguously; ST4 interleaves them into the
// chunk's [16][4] bytes. neon: the 16 source rows j..j+15 hold the panel's
// 4 rows' values as 4 bytes each, loaded into lanes (16 rows x 4 bytes)
// and de-interleaved by two rounds of UZP1/UZP2 into the chunk's [4][16]
// bytes. Row sums accumulate in int32 lanes when sums is not nil.
//
// Registers: R0 ctx; see each function. R18 and R27-R30 are not touched;
// the functions are leaves.`)
	a.p("")
	a.p("// Offsets of the PackCtx fields.")
	a.ctxDefines("pk", "src", "ld", "data", "m", "kb", "panelBytes", "sdot", "sums")
	a.p("")
	a.p("// func PackStrided(ctx *PackCtx)")
	a.p("//")
	a.p("// R1 the row's source, R2 its destination, R3 ld, R4 rows left, R5")
	a.p("// blocks left, R6 64, R7 the panel's destination, R8 rows left in the")
	a.p("// panel, R9 the row's first source byte, R10 kc, R11 panelBytes, R12 nr.")
	a.p("TEXT ·PackStrided(SB), NOSPLIT, $0-8")
	a.i("MOVD ctx+0(FP), R0")
	a.i("MOVD pk_src(R0), R9")
	a.i("MOVD pk_ld(R0), R3")
	a.i("MOVD pk_data(R0), R7")
	a.i("MOVD pk_m(R0), R4")
	a.i("MOVD pk_panelBytes(R0), R11")
	a.i("CBZ R4, ps_done")
	a.i("MOVD $64, R6")
	a.i("MOVD $-127, R13")
	a.i("VDUP R13, V31.B16")
	a.i("MOVD $4, R10")
	a.i("MOVD $16, R12")
	a.i("MOVD pk_sdot(R0), R13")
	a.i("CBNZ R13, ps_panel")
	a.i("MOVD $16, R10")
	a.i("MOVD $4, R12")
	a.p("")
	a.p("ps_panel:")
	a.i("MOVD R7, R2")
	a.i("MOVD R12, R8")
	a.p("ps_row:")
	a.i("MOVD R9, R1")
	a.i("MOVD R2, R14")
	a.i("MOVD pk_kb(R0), R5")
	a.i("CBZ R5, ps_nextrow")
	a.i("MOVD pk_sdot(R0), R13")
	a.i("CBZ R13, ps_neon")
	a.p("ps_sdot:")
	a.i("VLD1.P 16(R1), [V0.B16]")
	a.w("smax v0.16b, v0.16b, v31.16b")
	for l := range 4 {
		a.i("VST1.P V0.S[%d], (R14)(R6)", l)
	}
	a.i("SUBS $1, R5, R5")
	a.i("BNE ps_sdot")
	a.i("B ps_nextrow")
	a.p("ps_neon:")
	a.i("VLD1.P 16(R1), [V0.B16]")
	a.w("smax v0.16b, v0.16b, v31.16b")
	a.i("VST1.P [V0.B16], (R14)(R6)")
	a.i("SUBS $1, R5, R5")
	a.i("BNE ps_neon")
	a.p("ps_nextrow:")
	a.i("ADD R3, R9, R9")
	a.i("ADD R10, R2, R2")
	a.i("SUBS $1, R4, R4")
	a.i("BEQ ps_done")
	a.i("SUBS $1, R8, R8")
	a.i("BNE ps_row")
	a.i("ADD R11, R7, R7")
	a.i("B ps_panel")
	a.p("")
	a.p("ps_done:")
	a.i("RET")

	a.p("")
	a.p("// func PackTransposed(ctx *PackCtx)")
	a.p("//")
	a.p("// m is the number of whole panels, kb of whole chunks. R1 the chunk's")
	a.p("// first source row, R2 the chunk's destination, R3 ld, R4 panels left,")
	a.p("// R5 chunks left, R6-R9 source rows (sdot), R10 the panel's source,")
	a.p("// R11 the panel's destination, R12 sums, R13 4*ld. V0-V3 source, V4-V11")
	a.p("// temporaries, V12-V15 sums, V31 -127.")
	a.p("TEXT ·PackTransposed(SB), NOSPLIT, $0-8")
	a.i("MOVD ctx+0(FP), R0")
	a.i("MOVD pk_src(R0), R10")
	a.i("MOVD pk_ld(R0), R3")
	a.i("MOVD pk_data(R0), R11")
	a.i("MOVD pk_m(R0), R4")
	a.i("MOVD pk_sums(R0), R12")
	a.i("LSL $2, R3, R13")
	a.i("MOVD $-127, R14")
	a.i("VDUP R14, V31.B16")
	a.i("CBZ R4, pt_done")
	a.i("MOVD pk_sdot(R0), R14")
	a.i("CBZ R14, pt_npanel")
	a.p("")
	a.p("pt_spanel:")
	a.i("// sdot: a panel of 16 rows, 4 values j at a time.")
	a.i("MOVD R10, R6")
	a.i("ADD R3, R6, R7")
	a.i("ADD R3, R7, R8")
	a.i("ADD R3, R8, R9")
	a.i("MOVD R11, R2")
	a.i("MOVD pk_kb(R0), R5")
	for r := 12; r < 16; r++ {
		a.i("VEOR V%d.B16, V%d.B16, V%d.B16", r, r, r)
	}
	a.p("pt_schunk:")
	for r := range 4 {
		a.i("VLD1 (R%d), [V%d.B16]", 6+r, r)
		a.i("ADD R13, R%d, R%d", 6+r, 6+r)
	}
	for r := range 4 {
		a.w("smax v%d.16b, v%d.16b, v31.16b", r, r)
	}
	a.i("VST4.P [V0.B16, V1.B16, V2.B16, V3.B16], 64(R2)")
	a.w("saddl v4.8h, v0.8b, v1.8b")
	a.w("saddl2 v5.8h, v0.16b, v1.16b")
	a.w("saddl v6.8h, v2.8b, v3.8b")
	a.w("saddl2 v7.8h, v2.16b, v3.16b")
	a.i("VADD V6.H8, V4.H8, V4.H8")
	a.i("VADD V7.H8, V5.H8, V5.H8")
	a.w("saddw v12.4s, v12.4s, v4.4h")
	a.w("saddw2 v13.4s, v13.4s, v4.8h")
	a.w("saddw v14.4s, v14.4s, v5.4h")
	a.w("saddw2 v15.4s, v15.4s, v5.8h")
	a.i("SUBS $1, R5, R5")
	a.i("BNE pt_schunk")
	a.i("CBZ R12, pt_snext")
	a.i("VST1.P [V12.S4, V13.S4, V14.S4, V15.S4], 64(R12)")
	a.p("pt_snext:")
	a.i("ADD $16, R10, R10")
	a.i("MOVD pk_panelBytes(R0), R14")
	a.i("ADD R14, R11, R11")
	a.i("SUBS $1, R4, R4")
	a.i("BNE pt_spanel")
	a.i("RET")
	a.p("")
	a.p("pt_npanel:")
	a.i("// neon: a panel of 4 rows, 16 values j at a time.")
	a.i("MOVD R10, R1")
	a.i("MOVD R11, R2")
	a.i("MOVD pk_kb(R0), R5")
	for r := 12; r < 16; r++ {
		a.i("VEOR V%d.B16, V%d.B16, V%d.B16", r, r, r)
	}
	a.p("pt_nchunk:")
	for t := range 16 {
		a.i("VLD1.P (R1)(R3), V%d.S[%d]", t/4, t%4)
	}
	for r := range 4 {
		a.w("smax v%d.16b, v%d.16b, v31.16b", r, r)
	}
	// A, B, C, D in V4-V7; E0-E3 in V8-V11.
	a.i("VUZP1 V1.B16, V0.B16, V4.B16")
	a.i("VUZP2 V1.B16, V0.B16, V5.B16")
	a.i("VUZP1 V3.B16, V2.B16, V6.B16")
	a.i("VUZP2 V3.B16, V2.B16, V7.B16")
	a.i("VUZP1 V6.B16, V4.B16, V8.B16")
	a.i("VUZP1 V7.B16, V5.B16, V9.B16")
	a.i("VUZP2 V6.B16, V4.B16, V10.B16")
	a.i("VUZP2 V7.B16, V5.B16, V11.B16")
	a.i("VST1.P [V8.B16, V9.B16, V10.B16, V11.B16], 64(R2)")
	for e := range 4 {
		a.w("saddlp v%d.8h, v%d.16b", 4+e, 8+e)
		a.w("sadalp v%d.4s, v%d.8h", 12+e, 4+e)
	}
	a.i("SUBS $1, R5, R5")
	a.i("BNE pt_nchunk")
	a.i("CBZ R12, pt_nnext")
	for e := range 4 {
		a.i("VADDV V%d.S4, V%d", 12+e, 12+e)
	}
	for e := range 4 {
		a.i("VMOV V%d.S[0], R14", 12+e)
		a.i("MOVW.P R14, 4(R12)")
	}
	a.p("pt_nnext:")
	a.i("ADD $4, R10, R10")
	a.i("MOVD pk_panelBytes(R0), R14")
	a.i("ADD R14, R11, R11")
	a.i("SUBS $1, R4, R4")
	a.i("BNE pt_npanel")
	a.p("")
	a.p("pt_done:")
	a.i("RET")
	return a.b.Bytes()
}
