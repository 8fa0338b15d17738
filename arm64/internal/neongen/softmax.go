package main

import "github.com/coatnet-edge/coatnet-edge/arm64/internal/asmgen"

func init() { files["softmax_arm64.s"] = softmaxAsm }

// ptr is a pointer register a vector pass walks, with its element size.
type ptr struct{ reg, log2 int }

// pass writes a loop over the cnt elements of the arrays at ptrs, 8
// elements at a time (body8, cnt/8 times, counted in tmp), then 4
// (body4), and the last 4 elements again, overlapping, for a remainder
// under 4 (the pointers step back first): only for passes whose outputs
// do not feed their inputs. The bodies advance the pointers; cnt (>= 4)
// is consumed.
func (a *asm) pass(label string, cnt, tmp int, ptrs []ptr, body8, body4 func()) {
	a.i("LSR $3, R%d, R%d", cnt, tmp)
	a.i("CBZ R%d, %s_4", tmp, label)
	a.p("%s_8:", label)
	body8()
	a.i("SUBS $1, R%d, R%d", tmp, tmp)
	a.i("BNE %s_8", label)
	a.p("%s_4:", label)
	a.i("ANDS $7, R%d, R%d", cnt, cnt)
	a.i("BEQ %s_end", label)
	a.i("CMP $4, R%d", cnt)
	a.i("BLE %s_t", label)
	body4()
	a.i("SUB $4, R%d, R%d", cnt, cnt)
	a.p("%s_t:", label)
	a.i("MOVD $4, R%d", tmp)
	a.i("SUB R%d, R%d, R%d", cnt, tmp, tmp)
	for _, p := range ptrs {
		if p.log2 == 0 {
			a.i("SUB R%d, R%d, R%d", tmp, p.reg, p.reg)
		} else {
			a.i("SUB R%d<<%d, R%d, R%d", tmp, p.log2, p.reg, p.reg)
		}
	}
	body4()
	a.p("%s_end:", label)
}

func softmaxAsm() []byte {
	var a asm
	a.header(`// The NEON kernel of SoftmaxRow and AttentionSoftmax (see
// ../kernels/softmax_arm64.go for the Go drivers, softmax.go for the numerics).
//
// Softmax computes rows softmax rows of n >= 4 logits. Per row:
//
//  1. AttentionSoftmax (table not nil): the row's relative position bias,
//     side runs of side values of the table (side >= 4, each copied 4 at a
//     time, the last 4 again, overlapping), goes into scratch: added to
//     the logits (pre form; then scratch holds the logits l and their
//     maximum is taken on the way) or alone (post form, the bias added
//     after the softmax). SoftmaxRow reads the logits and its bias row.
//  2. mx = max l (SMAX, then SMAXV).
//  3. z = clamp(RequantizeNoZP(sat(mx - l), ExpMult, ExpShift), 0, 4095):
//     SQSUB, SQSHL (only when ExpShift < 0), SQRDMULH, SRSHL, then SQXTUN
//     (to uint16, clamping at 0 and 65535) and UMIN 4095, into zbuf.
//  4. e = exp[z], the 4096-entry table expTable[z&255] >> (z>>8) (scalar
//     loads, 8 at a time: 32-bit loads and stores of two z or two e, with
//     no write-back, so that no load waits for a store's address), in
//     place in zbuf; sum = sum e (UADALP into four sums, 32 at a time,
//     then 16, 8, and scalar).
//  5. R = (Q<<22 + sum/2) / sum (UDIV; sum >= 2^15).
//  6. pre: out = sat8(((e*R + 2^21) >> 22) + zp) (UMULL, SRSHR, then UZP1
//     to int16, exact since the quotient is at most 256, SQADD on int16
//     and SQXTN; the driver clamps zp to [-512, 512], which gives the
//     same bytes); post: v = sat32(((e*R) >> 14) + bias); out = sat8(((v + 128)
//     >> 8) + zp) (UMULL, USHR, SQADD, SRSHR, SQADD, SQXTN).
//
// Vector passes go 8 values at a time, then 4, then the last 4 again
// (overlapping) for the remainder; they never write what they read. Every
// value fits its lanes: e <= 2^15 and R <= 255*2^7 in uint16, e*R < 2^30.
//
// Registers: R0 ctx, R1 rows left, R2 the row's logits, R3 its output,
// R4 n, R5 scratch, R6 zbuf, R7 exp, R8 the row of l, R9 the bias row of
// the post form (or 0), R10 count, R11-R13 pointers, R14-R17, R19-R20
// scratch, R21 side, R22 span, R23 iy, R24 ix, R25 the runs' whole chunks
// before the last, R26 the bytes the last chunk steps back. V0-V5
// temporaries, V17-V18 and V20-V21 sums, V19 zp (8H), V22 maxima, V23
// MinInt32, V24 R (8H), V25 zp, V26 4095 (8H), V27 zero, V28 left shift,
// V29 negated right shift, V30 ExpMult, V31 mx. R18 and R27-R30 are not
// touched; the function is a leaf.`)
	a.p("")
	a.p("// Offsets of the SoftmaxCtx fields.")
	a.ctxDefines("sm", "logits", "ldL", "dst", "ldD", "n", "rows", "post", "bias", "table",
		"side", "span", "iy", "ix", "scratch", "zbuf", "exp", "mult", "shift", "q", "zp")
	a.p("")
	a.p("// func Softmax(ctx *SoftmaxCtx)")
	a.p("TEXT ·Softmax(SB), NOSPLIT, $0-8")
	a.i("MOVD ctx+0(FP), R0")
	a.i("MOVD sm_rows(R0), R1")
	a.i("CBZ R1, sm_done")
	a.i("MOVD sm_logits(R0), R2")
	a.i("MOVD sm_dst(R0), R3")
	a.i("MOVD sm_n(R0), R4")
	a.i("MOVD sm_scratch(R0), R5")
	a.i("MOVD sm_zbuf(R0), R6")
	a.i("MOVD sm_exp(R0), R7")
	a.i("MOVD sm_side(R0), R21")
	a.i("MOVD sm_span(R0), R22")
	a.i("MOVD sm_iy(R0), R23")
	a.i("MOVD sm_ix(R0), R24")
	a.i("// A run of side values: (side-1)/4 chunks of 4, then the last 4")
	a.i("// values, stepping back 4*(4 - (side - 4*chunks)) bytes.")
	a.i("SUB $1, R21, R25")
	a.i("LSR $2, R25, R25")
	a.i("SUB R25<<2, R21, R26")
	a.i("MOVD $4, R14")
	a.i("SUB R26, R14, R26")
	a.i("LSL $2, R26, R26")
	a.i("VEOR V27.B16, V27.B16, V27.B16")
	a.i("MOVD sm_mult(R0), R14")
	a.i("VDUP R14, V30.S4")
	a.i("MOVD sm_shift(R0), R14")
	a.i("VDUP R14, V29.S4")
	a.shift1(29, 28, 27)
	a.i("MOVD $4095, R14")
	a.i("VDUP R14, V26.H8")
	a.i("MOVD sm_zp(R0), R14")
	a.i("VDUP R14, V25.S4")
	a.i("VDUP R14, V19.H8")
	a.i("MOVW $0x80000000, R14")
	a.i("VDUP R14, V23.S4")
	a.p("")
	a.p("sm_row:")
	a.i("VORR V23.B16, V23.B16, V22.B16")
	a.i("MOVD R2, R8")
	a.i("MOVD sm_bias(R0), R9")
	a.i("MOVD sm_table(R0), R14")
	a.i("CBZ R14, sm_max")
	a.i("// 1. The bias row from the table: run jy starts at table[(jy-iy+side-1)*span + side-1-ix].")
	a.i("SUB $1, R21, R15")
	a.i("SUB R23, R15, R16")
	a.i("MUL R22, R16, R16")
	a.i("ADD R15, R16, R16")
	a.i("SUB R24, R16, R16")
	a.i("ADD R16<<2, R14, R19")
	a.i("MOVD R2, R12")
	a.i("MOVD R5, R13")
	a.i("MOVD R21, R17")
	a.i("MOVD R5, R9")
	a.i("MOVD sm_post(R0), R14")
	a.i("CBNZ R14, sm_seg")
	a.i("MOVD R5, R8")
	a.i("MOVD ZR, R9")
	for _, post := range []bool{false, true} {
		l := "sm_segpre"
		if post {
			l = "sm_seg"
		}
		chunk := func() {
			a.i("VLD1.P 16(R11), [V0.S4]")
			if post {
				a.i("VST1.P [V0.S4], 16(R13)")
				return
			}
			a.i("VLD1.P 16(R12), [V1.S4]")
			a.i("VADD V0.S4, V1.S4, V1.S4")
			a.i("VST1.P [V1.S4], 16(R13)")
			a.w("smax v22.4s, v22.4s, v1.4s")
		}
		a.p("%s:", l)
		a.i("MOVD R19, R11")
		a.i("MOVD R25, R10")
		a.i("CBZ R10, %s_t", l)
		a.p("%s_c:", l)
		chunk()
		a.i("SUBS $1, R10, R10")
		a.i("BNE %s_c", l)
		a.p("%s_t:", l)
		a.i("SUB R26, R11, R11")
		if !post {
			a.i("SUB R26, R12, R12")
		}
		a.i("SUB R26, R13, R13")
		chunk()
		a.i("ADD R22<<2, R19, R19")
		a.i("SUBS $1, R17, R17")
		a.i("BNE %s", l)
		if post {
			a.i("B sm_max")
		} else {
			a.i("B sm_reduce")
		}
	}
	a.p("")
	a.p("sm_max:")
	a.i("// 2. The maximum.")
	a.i("MOVD R8, R11")
	a.i("MOVD R4, R10")
	a.pass("sm_mx", 10, 14, []ptr{{11, 2}}, func() {
		a.i("VLD1.P 32(R11), [V0.S4, V1.S4]")
		a.w("smax v22.4s, v22.4s, v0.4s")
		a.w("smax v22.4s, v22.4s, v1.4s")
	}, func() {
		a.i("VLD1.P 16(R11), [V0.S4]")
		a.w("smax v22.4s, v22.4s, v0.4s")
	})
	a.p("sm_reduce:")
	a.w("smaxv s22, v22.4s")
	a.i("VDUP V22.S[0], V31.S4")
	a.i("// 3. The exponents z into zbuf.")
	a.i("MOVD R8, R11")
	a.i("MOVD R6, R12")
	a.i("MOVD R4, R10")
	a.i("MOVD sm_shift(R0), R14")
	a.i("TBNZ $63, R14, sm_zl")
	for _, left := range []bool{false, true} {
		l := "sm_z"
		if left {
			l = "sm_zl"
		}
		z := func(r int) {
			a.w("sqsub v%d.4s, v31.4s, v%d.4s", r, r)
			lane := []asmgen.Lane{{Acc: r, Mult: 30, RShift: 29, LShift: 28, ZP: asmgen.NoZP}}
			if left {
				a.emit(asmgen.LeftShifts(lane))
			}
			a.emit(asmgen.Scale(lane, asmgen.ByLane))
		}
		a.p("%s:", l)
		a.pass(l, 10, 14, []ptr{{11, 2}, {12, 1}}, func() {
			a.i("VLD1.P 32(R11), [V0.S4, V1.S4]")
			z(0)
			z(1)
			a.w("sqxtun v2.4h, v0.4s")
			a.w("sqxtun2 v2.8h, v1.4s")
			a.w("umin v2.8h, v2.8h, v26.8h")
			a.i("VST1.P [V2.H8], 16(R12)")
		}, func() {
			a.i("VLD1.P 16(R11), [V0.S4]")
			z(0)
			a.w("sqxtun v2.4h, v0.4s")
			a.w("umin v2.4h, v2.4h, v26.4h")
			a.i("VST1.P [V2.H4], 8(R12)")
		})
		if !left {
			a.i("B sm_lookup")
		}
	}
	a.p("")
	a.p("sm_lookup:")
	a.i("// 4. e = exp[z] in place, 8 at a time, then the rest.")
	a.i("MOVD R6, R11")
	a.i("LSR $3, R4, R10")
	a.i("AND $7, R4, R13")
	a.i("CBZ R10, sm_lk1")
	a.p("sm_lk8:")
	pairs := [][2]int{{14, 15}, {16, 17}, {19, 20}, {8, 12}}
	for i, r := range pairs {
		a.i("MOVWU %d(R11), R%d", 4*i, r[0])
	}
	for _, r := range pairs {
		a.i("LSRW $16, R%d, R%d", r[0], r[1])
		a.i("ANDW $0xffff, R%d, R%d", r[0], r[0])
	}
	for _, r := range pairs {
		a.i("MOVHU (R7)(R%d<<1), R%d", r[0], r[0])
		a.i("MOVHU (R7)(R%d<<1), R%d", r[1], r[1])
	}
	for _, r := range pairs {
		a.i("ORRW R%d<<16, R%d, R%d", r[1], r[0], r[0])
	}
	for i, r := range pairs {
		a.i("MOVW R%d, %d(R11)", r[0], 4*i)
	}
	a.i("ADD $16, R11, R11")
	a.i("SUBS $1, R10, R10")
	a.i("BNE sm_lk8")
	a.p("sm_lk1:")
	a.i("CBZ R13, sm_sum")
	a.i("MOVHU (R11), R14")
	a.i("MOVHU (R7)(R14<<1), R14")
	a.i("MOVH.P R14, 2(R11)")
	a.i("SUB $1, R13, R13")
	a.i("B sm_lk1")
	a.p("")
	a.p("sm_sum:")
	a.i("// The sum of e, 32 at a time into four sums, then 16, then 8, then the rest.")
	a.i("MOVD R6, R11")
	a.i("AND $7, R4, R10")
	for _, v := range []int{20, 21, 17, 18} {
		a.i("VEOR V%d.B16, V%d.B16, V%d.B16", v, v, v)
	}
	a.i("LSR $5, R4, R15")
	a.i("CBZ R15, sm_sum16")
	a.p("sm_sum32:")
	a.i("VLD1.P 64(R11), [V0.H8, V1.H8, V2.H8, V3.H8]")
	a.w("uadalp v20.4s, v0.8h")
	a.w("uadalp v21.4s, v1.8h")
	a.w("uadalp v17.4s, v2.8h")
	a.w("uadalp v18.4s, v3.8h")
	a.i("SUBS $1, R15, R15")
	a.i("BNE sm_sum32")
	a.p("sm_sum16:")
	a.i("TBZ $4, R4, sm_sum8")
	a.i("VLD1.P 32(R11), [V0.H8, V1.H8]")
	a.w("uadalp v20.4s, v0.8h")
	a.w("uadalp v21.4s, v1.8h")
	a.p("sm_sum8:")
	a.i("TBZ $3, R4, sm_sum1")
	a.i("VLD1.P 16(R11), [V0.H8]")
	a.w("uadalp v17.4s, v0.8h")
	a.p("sm_sum1:")
	a.i("VADD V21.S4, V20.S4, V20.S4")
	a.i("VADD V18.S4, V17.S4, V17.S4")
	a.i("VADD V17.S4, V20.S4, V20.S4")
	a.i("VADDV V20.S4, V20")
	a.i("VMOV V20.S[0], R14")
	a.p("sm_sum1l:")
	a.i("CBZ R10, sm_r")
	a.i("MOVHU.P 2(R11), R15")
	a.i("ADD R15, R14, R14")
	a.i("SUB $1, R10, R10")
	a.i("B sm_sum1l")
	a.p("")
	a.p("sm_r:")
	a.i("// 5. R = (Q<<22 + sum/2) / sum.")
	a.i("MOVD sm_q(R0), R15")
	a.i("LSL $22, R15, R15")
	a.i("ADD R14>>1, R15, R15")
	a.i("UDIV R14, R15, R15")
	a.i("VDUP R15, V24.H8")
	a.i("// 6. The outputs.")
	a.i("MOVD R6, R11")
	a.i("MOVD R3, R12")
	a.i("MOVD R9, R13")
	a.i("MOVD R4, R10")
	a.i("CBNZ R9, sm_op")
	for _, post := range []bool{false, true} {
		l := "sm_o"
		ptrs := []ptr{{11, 1}, {12, 0}}
		if post {
			l = "sm_op"
			ptrs = append(ptrs, ptr{13, 2})
		}
		// out is the post form's v and its zero point.
		out := func(r, b int) {
			a.i("VUSHR $14, V%d.S4, V%d.S4", r, r)
			a.w("sqadd v%d.4s, v%d.4s, v%d.4s", r, r, b)
			a.w("srshr v%d.4s, v%d.4s, #8", r, r)
			a.w("sqadd v%d.4s, v%d.4s, v25.4s", r, r)
		}
		a.p("%s:", l)
		a.pass(l, 10, 14, ptrs, func() {
			a.i("VLD1.P 16(R11), [V0.H8]")
			if post {
				a.i("VLD1.P 32(R13), [V4.S4, V5.S4]")
			}
			a.w("umull v1.4s, v0.4h, v24.4h")
			a.w("umull2 v2.4s, v0.8h, v24.8h")
			if post {
				out(1, 4)
				out(2, 5)
				a.w("sqxtn v3.4h, v1.4s")
				a.w("sqxtn2 v3.8h, v2.4s")
			} else {
				a.w("srshr v1.4s, v1.4s, #22")
				a.w("srshr v2.4s, v2.4s, #22")
				a.w("uzp1 v3.8h, v1.8h, v2.8h")
				a.w("sqadd v3.8h, v3.8h, v19.8h")
			}
			a.w("sqxtn v3.8b, v3.8h")
			a.i("VST1.P [V3.B8], 8(R12)")
		}, func() {
			a.i("VLD1.P 8(R11), [V0.H4]")
			if post {
				a.i("VLD1.P 16(R13), [V4.S4]")
			}
			a.w("umull v1.4s, v0.4h, v24.4h")
			if post {
				out(1, 4)
				a.w("sqxtn v3.4h, v1.4s")
			} else {
				a.w("srshr v1.4s, v1.4s, #22")
				a.w("xtn v3.4h, v1.4s")
				a.w("sqadd v3.4h, v3.4h, v19.4h")
			}
			a.w("sqxtn v3.8b, v3.8h")
			a.i("VST1.P V3.S[0], 4(R12)")
		})
		if !post {
			a.i("B sm_next")
		}
	}
	a.p("")
	a.p("sm_next:")
	a.i("MOVD sm_ldL(R0), R14")
	a.i("ADD R14, R2, R2")
	a.i("MOVD sm_ldD(R0), R14")
	a.i("ADD R14, R3, R3")
	a.i("ADD $1, R24, R24")
	a.i("CMP R21, R24")
	a.i("BLT sm_nextrow")
	a.i("MOVD ZR, R24")
	a.i("ADD $1, R23, R23")
	a.p("sm_nextrow:")
	a.i("SUBS $1, R1, R1")
	a.i("BNE sm_row")
	a.p("")
	a.p("sm_done:")
	a.i("RET")
	return a.b.Bytes()
}
