package main

// Shared instruction sequences.

// quad names the registers of 4 quarters of 16 int32 lanes: four
// consecutive registers from first, or one register for all four.
type quad struct {
	first int
	one   bool
}

func regs(first int) quad { return quad{first: first} }
func bcast(r int) quad    { return quad{first: r, one: true} }

func (q quad) at(i int) int {
	if q.one {
		return q.first
	}
	return q.first + i
}

// requant16 requantizes the 16 int32 values in acc (four registers) to
// int8 as ../kernels/doc.go says and leaves them in the 16 bytes of out (out and
// out+1 are used as 8H temporaries: out+1 must be free): SQSHL by lsh
// when withLeft, SQRDMULH by mult, SRSHL by rsh (the negated right
// shifts), SQADD zp, SQXTN twice.
func (a *asm) requant16(acc, out int, mult, rsh, lsh quad, zp int, withLeft bool) {
	if withLeft {
		for q := range 4 {
			a.w("sqshl v%d.4s, v%d.4s, v%d.4s", acc+q, acc+q, lsh.at(q))
		}
	}
	for q := range 4 {
		a.w("sqrdmulh v%d.4s, v%d.4s, v%d.4s", acc+q, acc+q, mult.at(q))
	}
	for q := range 4 {
		a.w("srshl v%d.4s, v%d.4s, v%d.4s", acc+q, acc+q, rsh.at(q))
	}
	a.narrow16(acc, out, zp)
}

// narrow16 adds the zero point (SQADD) to the 16 int32 values in acc and
// narrows them with saturation into the bytes of out (out+1 is a
// temporary).
func (a *asm) narrow16(acc, out, zp int) {
	for q := range 4 {
		a.w("sqadd v%d.4s, v%d.4s, v%d.4s", acc+q, acc+q, zp)
	}
	a.w("sqxtn v%d.4h, v%d.4s", out, acc)
	a.w("sqxtn2 v%d.8h, v%d.4s", out, acc+1)
	a.w("sqxtn v%d.4h, v%d.4s", out+1, acc+2)
	a.w("sqxtn2 v%d.8h, v%d.4s", out+1, acc+3)
	a.w("sqxtn v%d.8b, v%d.8h", out, out)
	a.w("sqxtn2 v%d.16b, v%d.8h", out, out+1)
}

// shifts turns the 4 registers of shifts s at sh into their negated right
// shifts -max(s, 0) in place, and, when lsh >= 0, the left shifts
// max(-s, 0) into the 4 registers at lsh; zero is a zero register.
func (a *asm) shifts(sh, lsh, zero int) {
	for q := range 4 {
		if lsh >= 0 {
			a.w("neg v%d.4s, v%d.4s", lsh+q, sh+q)
			a.w("smax v%d.4s, v%d.4s, v%d.4s", lsh+q, lsh+q, zero)
		}
		a.w("smax v%d.4s, v%d.4s, v%d.4s", sh+q, sh+q, zero)
		a.w("neg v%d.4s, v%d.4s", sh+q, sh+q)
	}
}

// shift1 is shifts for one register.
func (a *asm) shift1(sh, lsh, zero int) {
	if lsh >= 0 {
		a.w("neg v%d.4s, v%d.4s", lsh, sh)
		a.w("smax v%d.4s, v%d.4s, v%d.4s", lsh, lsh, zero)
	}
	a.w("smax v%d.4s, v%d.4s, v%d.4s", sh, sh, zero)
	a.w("neg v%d.4s, v%d.4s", sh, sh)
}
