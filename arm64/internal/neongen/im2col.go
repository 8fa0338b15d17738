package main

import "fmt"

func init() { files["im2col_arm64.s"] = im2colAsm }

func im2colAsm() []byte {
	var a asm
	a.header(`// The NEON kernel of Im2col3x3 (see ../kernels/im2col_arm64.go for the Go driver).
//
// n consecutive output pixels of one output row whose three kernel
// columns lie inside the image. For each pixel and kernel row ky, the
// three taps are 3*c consecutive input bytes (seg), copied to the patch
// row at ky*seg, or, for a kernel row outside the image (its pointer nil),
// seg bytes of padding. A copy or fill moves 64, 32 and 16 bytes at a
// time, then the last seg%16 bytes: as the segment's last 16 bytes again
// when seg >= 16, else 8, 4, 2 and 1 bytes. Each pixel's rows start step
// (stride*c) bytes after the previous pixel's, its patch ld (9*c) bytes.
//
// Registers: R0 ctx, R1-R3 the kernel rows' input, R4 the patch row, R5
// pixels left, R6 seg, R7 step, R8 ld, R9 seg >= 16, R10 bytes left, R11
// source, R12 destination, R13 scratch, R14 the padding byte eight times.
// V0-V3 data, V4-V7 padding. R18 and R27-R30 are not touched; the function
// is a leaf.`)
	a.p("")
	a.p("// Offsets of the Im2colCtx fields.")
	a.ctxDefines("ic", "rows[3]", "dst", "n", "seg", "step", "ld", "pad")
	a.p("")
	a.p("// func Im2col3x3(ctx *Im2colCtx)")
	a.p("TEXT ·Im2col3x3(SB), NOSPLIT, $0-8")
	a.i("MOVD ctx+0(FP), R0")
	a.i("MOVD ic_rows+0(R0), R1")
	a.i("MOVD ic_rows+8(R0), R2")
	a.i("MOVD ic_rows+16(R0), R3")
	a.i("MOVD ic_dst(R0), R4")
	a.i("MOVD ic_n(R0), R5")
	a.i("MOVD ic_seg(R0), R6")
	a.i("MOVD ic_step(R0), R7")
	a.i("MOVD ic_ld(R0), R8")
	a.i("CMP $16, R6")
	a.i("CSET GE, R9")
	a.i("MOVD ic_pad(R0), R14")
	for r := 4; r < 8; r++ {
		a.i("VDUP R14, V%d.B16", r)
	}
	a.i("VMOV V4.D[0], R14")
	a.i("CBZ R5, ic_done")
	a.p("")
	a.p("ic_pixel:")
	for ky := range 3 {
		l := func(s string) string { return fmt.Sprintf("ic_%s%d", s, ky) }
		r := 1 + ky
		a.i("// Kernel row %d.", ky)
		a.i("MOVD R6, R10")
		switch ky {
		case 0:
			a.i("MOVD R4, R12")
		case 1:
			a.i("ADD R6, R4, R12")
		case 2:
			a.i("ADD R6<<1, R4, R12")
		}
		a.i("CBZ R%d, %s", r, l("fill"))
		a.i("MOVD R%d, R11", r)
		a.p("%s:", l("c64"))
		a.i("CMP $64, R10")
		a.i("BLT %s", l("c32"))
		a.i("VLD1.P 64(R11), [V0.B16, V1.B16, V2.B16, V3.B16]")
		a.i("VST1.P [V0.B16, V1.B16, V2.B16, V3.B16], 64(R12)")
		a.i("SUB $64, R10, R10")
		a.i("B %s", l("c64"))
		a.p("%s:", l("c32"))
		a.i("TBZ $5, R10, %s", l("c16"))
		a.i("VLD1.P 32(R11), [V0.B16, V1.B16]")
		a.i("VST1.P [V0.B16, V1.B16], 32(R12)")
		a.p("%s:", l("c16"))
		a.i("TBZ $4, R10, %s", l("ct"))
		a.i("VLD1.P 16(R11), [V0.B16]")
		a.i("VST1.P [V0.B16], 16(R12)")
		a.p("%s:", l("ct"))
		a.i("ANDS $15, R10, R10")
		a.i("BEQ %s", l("end"))
		a.i("CBZ R9, %s", l("c8"))
		a.i("SUB $16, R10, R13")
		a.i("ADD R13, R11, R11")
		a.i("ADD R13, R12, R12")
		a.i("VLD1 (R11), [V0.B16]")
		a.i("VST1 [V0.B16], (R12)")
		a.i("B %s", l("end"))
		a.p("%s:", l("c8"))
		a.i("TBZ $3, R10, %s", l("c4"))
		a.i("MOVD.P 8(R11), R13")
		a.i("MOVD.P R13, 8(R12)")
		a.p("%s:", l("c4"))
		a.i("TBZ $2, R10, %s", l("c2"))
		a.i("MOVWU.P 4(R11), R13")
		a.i("MOVW.P R13, 4(R12)")
		a.p("%s:", l("c2"))
		a.i("TBZ $1, R10, %s", l("c1"))
		a.i("MOVHU.P 2(R11), R13")
		a.i("MOVH.P R13, 2(R12)")
		a.p("%s:", l("c1"))
		a.i("TBZ $0, R10, %s", l("end"))
		a.i("MOVBU (R11), R13")
		a.i("MOVB R13, (R12)")
		a.i("B %s", l("end"))
		a.p("%s:", l("fill"))
		a.p("%s:", l("f64"))
		a.i("CMP $64, R10")
		a.i("BLT %s", l("f32"))
		a.i("VST1.P [V4.B16, V5.B16, V6.B16, V7.B16], 64(R12)")
		a.i("SUB $64, R10, R10")
		a.i("B %s", l("f64"))
		a.p("%s:", l("f32"))
		a.i("TBZ $5, R10, %s", l("f16"))
		a.i("VST1.P [V4.B16, V5.B16], 32(R12)")
		a.p("%s:", l("f16"))
		a.i("TBZ $4, R10, %s", l("ft"))
		a.i("VST1.P [V4.B16], 16(R12)")
		a.p("%s:", l("ft"))
		a.i("ANDS $15, R10, R10")
		a.i("BEQ %s", l("end"))
		a.i("CBZ R9, %s", l("f8"))
		a.i("SUB $16, R10, R13")
		a.i("ADD R13, R12, R12")
		a.i("VST1 [V4.B16], (R12)")
		a.i("B %s", l("end"))
		a.p("%s:", l("f8"))
		a.i("TBZ $3, R10, %s", l("f4"))
		a.i("MOVD.P R14, 8(R12)")
		a.p("%s:", l("f4"))
		a.i("TBZ $2, R10, %s", l("f2"))
		a.i("MOVW.P R14, 4(R12)")
		a.p("%s:", l("f2"))
		a.i("TBZ $1, R10, %s", l("f1"))
		a.i("MOVH.P R14, 2(R12)")
		a.p("%s:", l("f1"))
		a.i("TBZ $0, R10, %s", l("end"))
		a.i("MOVB R14, (R12)")
		a.p("%s:", l("end"))
	}
	a.i("// The next pixel.")
	a.i("CBZ R1, ic_adv1")
	a.i("ADD R7, R1, R1")
	a.p("ic_adv1:")
	a.i("CBZ R2, ic_adv2")
	a.i("ADD R7, R2, R2")
	a.p("ic_adv2:")
	a.i("CBZ R3, ic_adv3")
	a.i("ADD R7, R3, R3")
	a.p("ic_adv3:")
	a.i("ADD R8, R4, R4")
	a.i("SUBS $1, R5, R5")
	a.i("BNE ic_pixel")
	a.p("")
	a.p("ic_done:")
	a.i("RET")
	return a.b.Bytes()
}
