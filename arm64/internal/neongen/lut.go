package main

import "fmt"

func init() { files["lut_arm64.s"] = lutAsm }

func lutAsm() []byte {
	var a asm
	a.header(`// The NEON kernels of LUT (see ../kernels/lut_arm64.go for the Go driver).
//
// The 256-entry table lives in V16-V31, four TBL tables of 64 bytes. For
// each index byte x, TBL on the first quarter gives table[x] for x < 64
// and 0 otherwise; for q = 1, 2, 3, x^(64q) < 64 exactly where x lies in
// quarter q. LUT then replaces those bytes with TBX on quarter q (TBX keeps
// out-of-range lanes); LUTTbl looks up every quarter with TBL (zero
// outside it) and ORs the four results: more instructions, but on the
// Neoverse N1 (the A76's twin) a 4-register TBX costs 5 micro-ops and a
// TBL 3, so that it takes 38 cycles per 64 bytes against LUT's 44
// (llvm-mca-19 -mcpu=neoverse-n1; the Cortex-A72 and A53 models make it
// slower: 84 and 71 against 78 and 53). 64 bytes per iteration, then 16;
// n is a multiple of 16.
//
// Registers: R0 dst, R1 src, R2 bytes left, R3 table. V0-V3 indices,
// V4-V7 results, V8-V11 flipped indices (LUTTbl: then their lookups),
// V12-V14 the constants 64, 128, 192. R18 and R27-R30 are not touched;
// the functions are leaves.`)
	for _, orr := range []bool{false, true} {
		lutFunc(&a, orr)
	}
	return a.b.Bytes()
}

// lutFunc writes LUT, or LUTTbl when orr is set.
func lutFunc(a *asm, orr bool) {
	name, l := "LUT", "lut"
	if orr {
		name, l = "LUTTbl", "luttbl"
	}
	// quarter looks quarter q (1..3) of the table up for the indices in
	// the registers from x into the results from res, through the
	// registers from tmp.
	quarter := func(q, x, res, tmp, n int) {
		tab := fmt.Sprintf("[V%d.B16, V%d.B16, V%d.B16, V%d.B16]", 16+4*q, 17+4*q, 18+4*q, 19+4*q)
		for r := range n {
			a.i("VEOR V%d.B16, V%d.B16, V%d.B16", 11+q, x+r, tmp+r)
		}
		for r := range n {
			if orr {
				a.i("VTBL V%d.B16, %s, V%d.B16", tmp+r, tab, tmp+r)
			} else {
				a.i("VTBX V%d.B16, %s, V%d.B16", tmp+r, tab, res+r)
			}
		}
		if orr {
			for r := range n {
				a.i("VORR V%d.B16, V%d.B16, V%d.B16", tmp+r, res+r, res+r)
			}
		}
	}
	a.p("")
	a.p("// func %s(dst, src *int8, n int, table *[256]int8)", name)
	a.p("TEXT ·%s(SB), NOSPLIT, $0-32", name)
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
	a.i("BLT %s_16", l)
	a.p("")
	a.p("%s_64:", l)
	a.i("VLD1.P 64(R1), [V0.B16, V1.B16, V2.B16, V3.B16]")
	for r := range 4 {
		a.i("VTBL V%d.B16, [V16.B16, V17.B16, V18.B16, V19.B16], V%d.B16", r, 4+r)
	}
	for q := 1; q < 4; q++ {
		quarter(q, 0, 4, 8, 4)
	}
	a.i("VST1.P [V4.B16, V5.B16, V6.B16, V7.B16], 64(R0)")
	a.i("SUB $64, R2, R2")
	a.i("CMP $64, R2")
	a.i("BGE %s_64", l)
	a.p("")
	a.p("%s_16:", l)
	a.i("CBZ R2, %s_done", l)
	a.i("VLD1.P 16(R1), [V0.B16]")
	a.i("VTBL V0.B16, [V16.B16, V17.B16, V18.B16, V19.B16], V4.B16")
	for q := 1; q < 4; q++ {
		quarter(q, 0, 4, 8, 1)
	}
	a.i("VST1.P [V4.B16], 16(R0)")
	a.i("SUB $16, R2, R2")
	a.i("B %s_16", l)
	a.p("")
	a.p("%s_done:", l)
	a.i("RET")
}
