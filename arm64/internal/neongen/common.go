package main

import "github.com/coatnet-edge/coatnet-edge/arm64/internal/asmgen"

// Shared instruction sequences. The requantization epilogue itself is
// asmgen's, which gemmgen shares.

// emit writes instructions of asmgen as WORDs.
func (a *asm) emit(is []asmgen.Ins) {
	for _, in := range is {
		a.w("%s", in.GNU)
	}
}

// shifts turns the 4 registers of shifts s at sh into their negated right
// shifts -max(s, 0) in place, and, when lsh >= 0, the left shifts
// max(-s, 0) into the 4 registers at lsh; zero is a zero register.
func (a *asm) shifts(sh, lsh, zero int) {
	for q := range 4 {
		a.shift1(sh+q, lsh+q, zero)
	}
}

// shift1 is shifts for one register.
func (a *asm) shift1(sh, lsh, zero int) {
	if lsh >= 0 {
		a.emit(asmgen.LeftShift(lsh, sh, zero))
	}
	a.emit(asmgen.RightShift(sh, sh, zero))
}
