package main

func init() { files["lut_arm64.s"] = lutAsm }

func lutAsm() []byte {
	var a asm
	a.header(`// The NEON kernel of LUT (see ../kernels/lut_arm64.go for the Go driver).
//
// The 256-entry table lives in V16-V31, four TBL tables of 64 bytes. For
// each index byte x, TBL on the first quarter gives table[x] for x < 64
// and 0 otherwise; then for q = 1, 2, 3, TBX on quarter q with x^(64q)
// replaces the byte where x lies in that quarter (x^(64q) < 64 exactly
// there) and leaves it alone elsewhere (TBX keeps out-of-range lanes).
// 64 bytes per iteration, then 16; n is a multiple of 16.
//
// Registers: R0 dst, R1 src, R2 bytes left, R3 table. V0-V3 indices,
// V4-V7 results, V8-V11 flipped indices, V12-V14 the constants 64, 128,
// 192. R18 and R27-R30 are not touched; the function is a leaf.`)
	a.p("")
	a.p("// func LUT(dst, src *int8, n int, table *[256]int8)")
	a.p("TEXT ·LUT(SB), NOSPLIT, $0-32")
	a.i("MOVD dst+0(FP), R0")
	a.i("MOVD src+8(FP), R1")
	a.i("MOVD n+16(FP), R2")
	a.i("MOVD table+24(FP), R3")
	for q := range 4 {
		post := "VLD1.P 64(R3),"
		if q == 3 {
			post = "VLD1 (R3),"
		}
		a.i("%s [V%d.B16, V%d.B16, V%d.B16, V%d.B16]", post, 16+4*q, 17+4*q, 18+4*q, 19+4*q)
	}
	a.i("VMOVI $64, V12.B16")
	a.i("VMOVI $128, V13.B16")
	a.i("VMOVI $192, V14.B16")
	a.i("CMP $64, R2")
	a.i("BLT lut_16")
	a.p("")
	a.p("lut_64:")
	a.i("VLD1.P 64(R1), [V0.B16, V1.B16, V2.B16, V3.B16]")
	for r := range 4 {
		a.i("VTBL V%d.B16, [V16.B16, V17.B16, V18.B16, V19.B16], V%d.B16", r, 4+r)
	}
	for q := 1; q < 4; q++ {
		for r := range 4 {
			a.i("VEOR V%d.B16, V%d.B16, V%d.B16", 11+q, r, 8+r)
		}
		for r := range 4 {
			a.i("VTBX V%d.B16, [V%d.B16, V%d.B16, V%d.B16, V%d.B16], V%d.B16", 8+r, 16+4*q, 17+4*q, 18+4*q, 19+4*q, 4+r)
		}
	}
	a.i("VST1.P [V4.B16, V5.B16, V6.B16, V7.B16], 64(R0)")
	a.i("SUB $64, R2, R2")
	a.i("CMP $64, R2")
	a.i("BGE lut_64")
	a.p("")
	a.p("lut_16:")
	a.i("CBZ R2, lut_done")
	a.i("VLD1.P 16(R1), [V0.B16]")
	a.i("VTBL V0.B16, [V16.B16, V17.B16, V18.B16, V19.B16], V4.B16")
	for q := 1; q < 4; q++ {
		a.i("VEOR V%d.B16, V0.B16, V8.B16", 11+q)
		a.i("VTBX V8.B16, [V%d.B16, V%d.B16, V%d.B16, V%d.B16], V4.B16", 16+4*q, 17+4*q, 18+4*q, 19+4*q)
	}
	a.i("VST1.P [V4.B16], 16(R0)")
	a.i("SUB $16, R2, R2")
	a.i("B lut_16")
	a.p("")
	a.p("lut_done:")
	a.i("RET")
	return a.b.Bytes()
}
