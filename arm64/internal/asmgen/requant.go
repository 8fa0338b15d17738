// Package asmgen holds what the generators of package arm64's assembly
// (gemmgen, neongen) share: the requantization epilogue of package kernels,
//
//	acc = sat32(acc << max(-s, 0))  SQSHL, only where a shift is negative
//	acc = SQRDMULH(acc, mult)
//	acc = rshr(acc, max(s, 0))      SRSHL by the negated amount (rounding)
//	acc = sat32(acc + zp)           SQADD
//	out = sat8(sat16(acc))          SQXTN, SQXTN
//
// (or, the same bytes in fewer instructions, Narrow16ZP: SQXTN, SQADD on
// int16, SQXTN), written once as sequences of NEON instructions over registers the
// caller names, so that every kernel rounds and saturates alike. Each
// generator decides how the instructions are written out (gemmgen encodes
// them itself, neongen asks llvm-mc).
package asmgen

import "fmt"

// Ins is one NEON instruction the Go assembler rejects: its GNU syntax
// (lower case) and its encoding.
type Ins struct {
	GNU string
	Enc uint32
}

func ins(enc uint32, format string, a ...any) Ins { return Ins{fmt.Sprintf(format, a...), enc} }

func rdn(d, n int) uint32     { return uint32(n)<<5 | uint32(d) }
func rdnm(d, n, m int) uint32 { return uint32(m)<<16 | rdn(d, n) }

// The instructions of the epilogue, on 4S (or, narrowing, 4H/8H/8B/16B)
// arrangements.

func Sqshl(d, n, m int) Ins {
	return ins(0x4EA04C00|rdnm(d, n, m), "sqshl v%d.4s, v%d.4s, v%d.4s", d, n, m)
}

func Sqrdmulh(d, n, m int) Ins {
	return ins(0x6EA0B400|rdnm(d, n, m), "sqrdmulh v%d.4s, v%d.4s, v%d.4s", d, n, m)
}

func Srshl(d, n, m int) Ins {
	return ins(0x4EA05400|rdnm(d, n, m), "srshl v%d.4s, v%d.4s, v%d.4s", d, n, m)
}

func Sqadd(d, n, m int) Ins {
	return ins(0x4EA00C00|rdnm(d, n, m), "sqadd v%d.4s, v%d.4s, v%d.4s", d, n, m)
}

// SqaddH is SQADD on 8H: Narrow16ZP's zero point.
func SqaddH(d, n, m int) Ins {
	return ins(0x4E600C00|rdnm(d, n, m), "sqadd v%d.8h, v%d.8h, v%d.8h", d, n, m)
}

func Smax(d, n, m int) Ins {
	return ins(0x4EA06400|rdnm(d, n, m), "smax v%d.4s, v%d.4s, v%d.4s", d, n, m)
}

func Neg(d, n int) Ins { return ins(0x6EA0B800|rdn(d, n), "neg v%d.4s, v%d.4s", d, n) }

// SqxtnH is SQXTN Vd.4H, Vn.4S (clears the upper half of d); Sqxtn2H is
// SQXTN2 Vd.8H, Vn.4S (fills the upper half); SqxtnB and Sqxtn2B narrow
// 8H to bytes the same way.
func SqxtnH(d, n int) Ins  { return ins(0x0E614800|rdn(d, n), "sqxtn v%d.4h, v%d.4s", d, n) }
func Sqxtn2H(d, n int) Ins { return ins(0x4E614800|rdn(d, n), "sqxtn2 v%d.8h, v%d.4s", d, n) }
func SqxtnB(d, n int) Ins  { return ins(0x0E214800|rdn(d, n), "sqxtn v%d.8b, v%d.8h", d, n) }
func Sqxtn2B(d, n int) Ins { return ins(0x4E214800|rdn(d, n), "sqxtn2 v%d.16b, v%d.8h", d, n) }

// LeftShift sets d to the left-shift amounts max(-s, 0) of the shifts in
// register s; zero holds zeros.
func LeftShift(d, s, zero int) []Ins { return []Ins{Neg(d, s), Smax(d, d, zero)} }

// RightShift sets d to the negated right-shift amounts -max(s, 0) of the
// shifts in register s (SRSHL shifts right by a negative amount); d may
// be s.
func RightShift(d, s, zero int) []Ins { return []Ins{Smax(d, s, zero), Neg(d, d)} }

// NoZP as a Lane's ZP leaves out the zero point (SQADD).
const NoZP = -1

// Lane is one accumulator register of 4 int32 values and the registers
// that hold its operands: multipliers, negated right shifts (RightShift),
// left shifts (LeftShift) and zero point.
type Lane struct{ Acc, Mult, RShift, LShift, ZP int }

// Order is the order of the instructions of several lanes.
type Order int

const (
	// ByStep does one step for every lane before the next step: the
	// instructions of a step are independent.
	ByStep Order = iota
	// ByLane does every step of one lane before the next lane.
	ByLane
)

// LeftShifts shifts each lane left by its LShift, saturating (SQSHL):
// the part of the epilogue that runs only when some shift is negative.
func LeftShifts(lanes []Lane) []Ins {
	var out []Ins
	for _, l := range lanes {
		out = append(out, Sqshl(l.Acc, l.Acc, l.LShift))
	}
	return out
}

// Scale multiplies each lane by its multiplier (SQRDMULH), shifts it right
// with rounding (SRSHL) and adds its zero point (SQADD) unless ZP is NoZP.
func Scale(lanes []Lane, order Order) []Ins {
	var out []Ins
	if order == ByLane {
		for _, l := range lanes {
			for s := range scaleSteps {
				out = scaleStep(out, s, l)
			}
		}
		return out
	}
	for s := range scaleSteps {
		for _, l := range lanes {
			out = scaleStep(out, s, l)
		}
	}
	return out
}

const scaleSteps = 3

// scaleStep appends step s of Scale for lane l.
func scaleStep(out []Ins, s int, l Lane) []Ins {
	switch {
	case s == 0:
		return append(out, Sqrdmulh(l.Acc, l.Acc, l.Mult))
	case s == 1:
		return append(out, Srshl(l.Acc, l.Acc, l.RShift))
	case l.ZP != NoZP:
		return append(out, Sqadd(l.Acc, l.Acc, l.ZP))
	}
	return out
}

// Narrow16 narrows the 16 int32 values in acc..acc+3 with saturation into
// the 16 bytes of out; out+1 is a temporary.
func Narrow16(out, acc int) []Ins {
	return []Ins{
		SqxtnH(out, acc), Sqxtn2H(out, acc+1), SqxtnH(out+1, acc+2), Sqxtn2H(out+1, acc+3),
		SqxtnB(out, out), Sqxtn2B(out, out+1),
	}
}

// Narrow16ZP narrows the 16 int32 values in acc..acc+3 into the 16 bytes
// of out, adding the zero point on the way (out+1 is a temporary; zp
// holds it in all 8 int16 lanes): the int32 values saturate to int16, the
// zero point is added there with saturation, and the sums saturate to
// int8. For |zp| <= 32640 that is Scale's SQADD and Narrow16 exactly, in
// half the SQADDs: sat8(sat16(sat16(a) + zp)) = sat8(a + zp) for every
// int32 a, because where a saturates to int16 (|a| > 32767), a + zp and
// sat16(a) + zp both lie beyond 127 in a's direction.
func Narrow16ZP(out, acc, zp int) []Ins {
	return []Ins{
		SqxtnH(out, acc), Sqxtn2H(out, acc+1), SqxtnH(out+1, acc+2), Sqxtn2H(out+1, acc+3),
		SqaddH(out, out, zp), SqaddH(out+1, out+1, zp),
		SqxtnB(out, out), Sqxtn2B(out, out+1),
	}
}

// Narrow4 narrows the 4 int32 values in acc with saturation into the low
// 4 bytes of out.
func Narrow4(out, acc int) []Ins { return []Ins{SqxtnH(out, acc), SqxtnB(out, out)} }

// Quad names the registers of the 4 quarters of 16 int32 values: four
// consecutive registers from a first, or one register for all four.
type Quad struct {
	first int
	one   bool
}

// Regs is the quad of registers first..first+3; Bcast is r for all four.
func Regs(first int) Quad { return Quad{first: first} }
func Bcast(r int) Quad    { return Quad{first: r, one: true} }

// At is the register of quarter i.
func (q Quad) At(i int) int {
	if q.one {
		return q.first
	}
	return q.first + i
}

// Quarters are the lanes of 16 int32 values in acc..acc+3 with their
// operands.
func Quarters(acc int, mult, rsh, lsh, zp Quad) []Lane {
	lanes := make([]Lane, 4)
	for i := range lanes {
		lanes[i] = Lane{Acc: acc + i, Mult: mult.At(i), RShift: rsh.At(i), LShift: lsh.At(i), ZP: zp.At(i)}
	}
	return lanes
}

// Requant16 requantizes the 16 int32 values of lanes (Quarters) into the
// 16 bytes of out (out+1 is a temporary), step by step; the left shifts
// only when withLeft.
func Requant16(lanes []Lane, out int, withLeft bool) []Ins {
	var is []Ins
	if withLeft {
		is = LeftShifts(lanes)
	}
	is = append(is, Scale(lanes, ByStep)...)
	return append(is, Narrow16(out, lanes[0].Acc)...)
}
