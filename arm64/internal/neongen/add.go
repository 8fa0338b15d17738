package main

import "github.com/coatnet-edge/coatnet-edge/arm64/internal/asmgen"

func init() { files["add_arm64.s"] = addAsm }

func addAsm() []byte {
	var a asm
	a.header(`// The NEON kernel of Add (see ../kernels/add_arm64.go for the Go driver, add.go for
// the numerics).
//
// 16 values per iteration; n is a multiple of 16. Each input is widened
// with its zero point subtracted and shifted left by 7 in int16 (|a-z| <=
// 255 keeps it below 2^15), then by 13 into int32: (a-z) << 20. Both are
// requantized without zero point (SQSHL only in the left-shift loop,
// SQRDMULH, SRSHL), summed with SQADD, and the sum requantized to int8
// (zero point by SQADD, SQXTN twice; outside the left-shift loop the zero
// point is added to int16 values, asmgen.Narrow16ZP, so the driver takes
// that loop where |zp| > 32640 too).
//
// Registers: R0 ctx, R1 dst, R2 a, R3 b, R4 values left. V0 a, V1 b,
// V2-V5 and V6-V9 the inputs' int32 values, V10-V11 int16 temporaries,
// V16-V17 the input zero points (bytes), V18-V23 the multipliers and
// negated right shifts of a, b and the sum, V24 the output zero point,
// V25-V27 the left shifts, V28 zero, V29 the output zero point (8H). R18 and R27-R30 are not touched;
// the function is a leaf.`)
	a.p("")
	a.p("// Offsets of the AddCtx fields.")
	a.ctxDefines("add", "dst", "a", "b", "n", "zeroA", "zeroB", "zeroOut", "multA", "shiftA", "multB", "shiftB", "multOut", "shiftOut", "left")
	a.p("")
	a.p("// func Add(ctx *AddCtx)")
	a.p("TEXT ·Add(SB), NOSPLIT, $0-8")
	a.i("MOVD ctx+0(FP), R0")
	a.i("MOVD add_dst(R0), R1")
	a.i("MOVD add_a(R0), R2")
	a.i("MOVD add_b(R0), R3")
	a.i("MOVD add_n(R0), R4")
	a.i("MOVD add_zeroA(R0), R5")
	a.i("VDUP R5, V16.B16")
	a.i("MOVD add_zeroB(R0), R5")
	a.i("VDUP R5, V17.B16")
	a.i("VEOR V28.B16, V28.B16, V28.B16")
	for i, f := range []string{"A", "B", "Out"} {
		a.i("MOVD add_mult%s(R0), R5", f)
		a.i("VDUP R5, V%d.S4", 18+2*i)
		a.i("MOVD add_shift%s(R0), R5", f)
		a.i("VDUP R5, V%d.S4", 19+2*i)
		a.shift1(19+2*i, 25+i, 28)
	}
	a.i("MOVD add_zeroOut(R0), R5")
	a.i("VDUP R5, V24.S4")
	a.i("VDUP R5, V29.H8")
	a.i("CBZ R4, add_done")
	a.i("MOVD add_left(R0), R5")
	a.i("CBNZ R5, add_loopl")
	for _, left := range []bool{false, true} {
		label := "add_loop"
		if left {
			label = "add_loopl"
		}
		a.p("")
		a.p("%s:", label)
		a.i("VLD1.P 16(R2), [V0.B16]")
		a.i("VLD1.P 16(R3), [V1.B16]")
		for in := range 2 {
			v, z, acc := in, 16+in, 2+4*in
			a.w("ssubl v10.8h, v%d.8b, v%d.8b", v, z)
			a.w("ssubl2 v11.8h, v%d.16b, v%d.16b", v, z)
			a.i("VSHL $7, V10.H8, V10.H8")
			a.i("VSHL $7, V11.H8, V11.H8")
			a.w("sshll v%d.4s, v10.4h, #13", acc)
			a.w("sshll2 v%d.4s, v10.8h, #13", acc+1)
			a.w("sshll v%d.4s, v11.4h, #13", acc+2)
			a.w("sshll2 v%d.4s, v11.8h, #13", acc+3)
			lanes := asmgen.Quarters(acc, asmgen.Bcast(18+2*in), asmgen.Bcast(19+2*in), asmgen.Bcast(25+in), asmgen.Bcast(asmgen.NoZP))
			if left {
				a.emit(asmgen.LeftShifts(lanes))
			}
			a.emit(asmgen.Scale(lanes, asmgen.ByStep))
		}
		for q := range 4 {
			a.w("sqadd v%d.4s, v%d.4s, v%d.4s", 2+q, 2+q, 6+q)
		}
		if left {
			a.emit(asmgen.Requant16(asmgen.Quarters(2, asmgen.Bcast(22), asmgen.Bcast(23), asmgen.Bcast(27), asmgen.Bcast(24)), 10, true))
		} else {
			a.emit(asmgen.Scale(asmgen.Quarters(2, asmgen.Bcast(22), asmgen.Bcast(23), asmgen.Bcast(27), asmgen.Bcast(asmgen.NoZP)), asmgen.ByStep))
			a.emit(asmgen.Narrow16ZP(10, 2, 29))
		}
		a.i("VST1.P [V10.B16], 16(R1)")
		a.i("SUBS $16, R4, R4")
		a.i("BNE %s", label)
		if !left {
			a.i("RET")
		}
	}
	a.p("")
	a.p("add_done:")
	a.i("RET")
	return a.b.Bytes()
}
