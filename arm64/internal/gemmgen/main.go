// Command gemmgen writes gemm_arm64.s, the NEON GEMM micro-kernels of
// package arm64, and the GNU-syntax inner loops of those kernels in
// testdata/mca, which llvm-mca reads (see the package documentation of
// arm64 for the commands). Run it from the arm64 directory:
//
//	go generate        (runs: go run ./internal/gemmgen)
//
// The Go assembler lacks most of the NEON integer instructions the kernels
// need (SDOT, SMULL, SMLAL2, SADALP, SQRDMULH, SQSHL, SRSHL, SQADD, SQXTN,
// SMAX, NEG), so those are emitted as WORD with the GNU mnemonic in a
// comment (those of the requantization epilogue come from ../asmgen,
// which neongen shares); words_test.go in package arm64 decodes every WORD
// and compares it with its comment, and main_test.go here checks that the
// files on disk are what this program writes.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/coatnet-edge/coatnet-edge/arm64/internal/asmgen"
)

// version is recorded in the header of every file written.
const version = "gemmgen v1"

func main() {
	dir := flag.String("dir", ".", "the arm64 package directory to write into")
	flag.Parse()
	for name, data := range generate() {
		path := filepath.Join(*dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

// generate returns every file's contents by path relative to the package.
func generate() map[string][]byte {
	return map[string][]byte{
		"gemm_arm64.s":                   goAsm(),
		"testdata/mca/sdot_kloop.s":      mcaLoop(sdotKernel, "neoverse-n1 -mattr=+dotprod"),
		"testdata/mca/neon_kloop.s":      mcaLoop(neonKernel, "cortex-a72"),
		"testdata/mca/sdot_block_k256.s": mcaBlock(sdotKernel, 16, "neoverse-n1 -mattr=+dotprod"),
		"testdata/mca/neon_block_k256.s": mcaBlock(neonKernel, 16, "cortex-a72"),
	}
}

// ins is one instruction in Go assembler syntax and in GNU syntax.
type ins struct{ goAsm, gnu string }

// word is an instruction the Go assembler rejects: its encoding, with the
// GNU mnemonic as the comment.
func word(enc uint32, format string, a ...any) ins {
	gnu := fmt.Sprintf(format, a...)
	return ins{fmt.Sprintf("WORD $0x%08X // %s", enc, strings.ToUpper(gnu)), gnu}
}

func native(goAsm, gnu string) ins { return ins{goAsm, gnu} }

func rdn(d, n int) uint32     { return uint32(n)<<5 | uint32(d) }
func rdnm(d, n, m int) uint32 { return uint32(m)<<16 | rdn(d, n) }

// Instructions the Go assembler rejects.

// sdotElem is SDOT Vd.4S, Vn.16B, Vm.4B[idx]: each 32-bit lane i of d
// accumulates the dot product of bytes 4i..4i+3 of n with bytes
// 4idx..4idx+3 of m.
func sdotElem(d, n, m, idx int) ins {
	enc := 0x4F80E000 | uint32(idx&1)<<21 | uint32(idx>>1)<<11 | rdnm(d, n, m)
	return word(enc, "sdot v%d.4s, v%d.16b, v%d.4b[%d]", d, n, m, idx)
}

func smull8B(d, n, m int) ins {
	return word(0x0E20C000|rdnm(d, n, m), "smull v%d.8h, v%d.8b, v%d.8b", d, n, m)
}

func smlal2B(d, n, m int) ins {
	return word(0x4E208000|rdnm(d, n, m), "smlal2 v%d.8h, v%d.16b, v%d.16b", d, n, m)
}

func sadalp(d, n int) ins { return word(0x4E606800|rdn(d, n), "sadalp v%d.4s, v%d.8h", d, n) }
func saddlp(d, n int) ins { return word(0x4E602800|rdn(d, n), "saddlp v%d.4s, v%d.8h", d, n) }

// shared are instructions of package asmgen (the requantization epilogue
// both generators write), as WORDs with the encodings asmgen gives.
func shared(seqs ...[]asmgen.Ins) []ins {
	var out []ins
	for _, seq := range seqs {
		for _, in := range seq {
			out = append(out, word(in.Enc, "%s", in.GNU))
		}
	}
	return out
}

// Instructions the Go assembler has.

func vlist(first, n int, goArr, gnuArr string) (string, string) {
	var g, u []string
	for i := range n {
		g = append(g, fmt.Sprintf("V%d.%s", first+i, goArr))
		u = append(u, fmt.Sprintf("v%d.%s", first+i, gnuArr))
	}
	return "[" + strings.Join(g, ", ") + "]", "{" + strings.Join(u, ", ") + "}"
}

// ld1 loads n consecutive vectors of 16 bytes from (Rr), post-incrementing
// r by 16n when post is set; arr is "B16"/"16b" or "S4"/"4s".
func ld1(first, n, r int, post bool, goArr, gnuArr string) ins {
	g, u := vlist(first, n, goArr, gnuArr)
	if post {
		return native(fmt.Sprintf("VLD1.P %d(R%d), %s", 16*n, r, g), fmt.Sprintf("ld1 %s, [x%d], #%d", u, r, 16*n))
	}
	return native(fmt.Sprintf("VLD1 (R%d), %s", r, g), fmt.Sprintf("ld1 %s, [x%d]", u, r))
}

// ldrQ loads the 16 bytes at off(Rr) into Vv (LDR Qv), r unchanged.
func ldrQ(v, r, off int) ins {
	return native(fmt.Sprintf("FMOVQ %d(R%d), F%d", off, r, v), fmt.Sprintf("ldr q%d, [x%d, #%d]", v, r, off))
}

// ldpQ loads the 32 bytes at off(Rr) into Vv and Vw (LDP Qv, Qw), r unchanged.
func ldpQ(v, w, r, off int) ins {
	return native(fmt.Sprintf("FLDPQ %d(R%d), (F%d, F%d)", off, r, v, w), fmt.Sprintf("ldp q%d, q%d, [x%d, #%d]", v, w, r, off))
}

// addImm adds imm to Rr.
func addImm(r, imm int) ins {
	return native(fmt.Sprintf("ADD $%d, R%d, R%d", imm, r, r), fmt.Sprintf("add x%d, x%d, #%d", r, r, imm))
}

// st1 stores n consecutive vectors of 16 bytes to (Rr), post-incrementing.
func st1(first, n, r int, goArr, gnuArr string) ins {
	g, u := vlist(first, n, goArr, gnuArr)
	return native(fmt.Sprintf("VST1.P %s, %d(R%d)", g, 16*n, r), fmt.Sprintf("st1 %s, [x%d], #%d", u, r, 16*n))
}

// st1S stores 32-bit lane l of v to (Rr), post-incrementing by 4.
func st1S(v, l, r int) ins {
	return native(fmt.Sprintf("VST1.P V%d.S[%d], 4(R%d)", v, l, r), fmt.Sprintf("st1 {v%d.s}[%d], [x%d], #4", v, l, r))
}

func add4S(d, n, m int) ins {
	return native(fmt.Sprintf("VADD V%d.S4, V%d.S4, V%d.S4", m, n, d), fmt.Sprintf("add v%d.4s, v%d.4s, v%d.4s", d, n, m))
}

// addp4S is ADDP Vd.4S, Vn.4S, Vm.4S: d = {n0+n1, n2+n3, m0+m1, m2+m3}.
func addp4S(d, n, m int) ins {
	return native(fmt.Sprintf("VADDP V%d.S4, V%d.S4, V%d.S4", m, n, d), fmt.Sprintf("addp v%d.4s, v%d.4s, v%d.4s", d, n, m))
}

// mov16B is MOV Vd.16B, Vn.16B (ORR Vd.16B, Vn.16B, Vn.16B).
func mov16B(d, n int) ins {
	return native(fmt.Sprintf("VORR V%d.B16, V%d.B16, V%d.B16", n, n, d), fmt.Sprintf("orr v%d.16b, v%d.16b, v%d.16b", d, n, n))
}

func zero(d int) ins {
	return native(fmt.Sprintf("VEOR V%d.B16, V%d.B16, V%d.B16", d, d, d), fmt.Sprintf("eor v%d.16b, v%d.16b, v%d.16b", d, d, d))
}

func dupS(d, r int) ins {
	return native(fmt.Sprintf("VDUP R%d, V%d.S4", r, d), fmt.Sprintf("dup v%d.4s, w%d", d, r))
}

func dupH(d, r int) ins {
	return native(fmt.Sprintf("VDUP R%d, V%d.H8", r, d), fmt.Sprintf("dup v%d.8h, w%d", d, r))
}

func subs1(r int) ins {
	return native(fmt.Sprintf("SUBS $1, R%d, R%d", r, r), fmt.Sprintf("subs x%d, x%d, #1", r, r))
}

func bne(label string) ins { return native("BNE "+label, "b.ne "+label) }

// Register roles shared by both kernels (see the header of the .s file).
const (
	rCtx     = 0  // R0: *GemmCtx
	rA       = 1  // R1-R4: src (then tail) pointers of the four rows
	rW       = 5  // R5: packed weights, advancing through the panels
	rK       = 6  // R6: K blocks left; scratch
	rD       = 7  // R7-R10: dst pointers of the four rows
	rN       = 11 // R11: channel blocks left
	rBias    = 12 // R12: bias of the current channel block
	rMult    = 13 // R13: multipliers of the current channel block
	rShift   = 14 // R14: shifts of the current channel block
	rPStride = 15 // R15: bytes from one block's multipliers and shifts to the next's
	rBStride = 16 // R16: bytes from one block's biases to the next's
	rZP      = 17 // R17: zero point
	rOut32   = 19 // R19: nonzero for int32 output
	rRow     = 20 // R20-R23: the four rows of the current tile in src
	rSStep   = 24 // R24: bytes from one tile's src rows to the next's
	rDStep   = 25 // R25: bytes from the dst pointers after a tile to the next tile's
	rTiles   = 26 // R26: row tiles left
	vAcc     = 16 // V16-V31: accumulators
)

// ctxField are the offsets of GemmCtx (gemm_arm64.go); a test in package
// arm64 compares them with unsafe.Offsetof.
var ctxFields = []struct {
	name string
	off  int
}{
	{"src", 0}, {"tail", 32}, {"dst", 64}, {"w", 96}, {"bias", 104}, {"mult", 112}, {"shift", 120},
	{"biasStride", 128}, {"paramStride", 136}, {"kBlocks", 144}, {"kTail", 152}, {"nBlocks", 160},
	{"rowTiles", 168}, {"srcStep", 176}, {"dstStep", 184}, {"zp", 192}, {"out32", 200}, {"general", 208},
}

// kernel describes one micro-kernel: a tile of 4 rows by nr channels, K in
// blocks of 16.
type kernel struct {
	name   string // TEXT symbol: gemm + name
	impl   string // implementation name reported by arm64.Implementation
	nr     int    // channels per tile (and per packed panel)
	header string
	block  func(a int, post, first bool) []ins // one K block of 16, src pointers in R(a)..R(a+3)
	init   func() []ins                        // the accumulators' initial values
	// firstSets: block(a, post, true) sets the accumulators instead of
	// adding to them, so init runs only when there is no whole K block.
	firstSets bool
	reduce    func() []ins // accumulators to one vector of 4 channels per row (neon)
	// The epilogues of one channel block: store32 stores int32 sums;
	// requant is prologue, then on the general path (ctx.general) left,
	// the left shifts (SQSHL), and general, the rest of that path if it
	// has its own (else it goes on to rest), or else only rest.
	requant func() (prologue, left, general, rest []ins)
	store32 func() []ins
}

// The SDOT kernel: 4 rows x 16 channels, 16 accumulators V16-V31, acc(r, j)
// = V(16+4r+j) holding channels 4j..4j+3 of row r. Per K block (16 bytes
// of each row): 4 loads of src, 4 loads of 64 bytes of weights, 64 SDOT.
var sdotKernel = &kernel{
	name: "Sdot",
	impl: "sdot",
	nr:   16,
	header: `// GemmSdot: the micro-kernel for cores with the dot product (ARMv8.2
// DotProd: Cortex-A55/A76/A78, Neoverse N1). Tile: 4 rows x 16 channels.
//
// Packed weights (one panel per 16 channels, panels contiguous): for each
// group of 4 k, the 16 channels' 4 bytes, [kp/4][16][4], kp = k rounded up
// to 16, zero-padded; a panel is 16*kp bytes. One K block is 16 bytes of
// each src row (V0-V3) and 256 bytes of weights: for each 4-byte group s
// of the block, weights V4-V7 (or V8-V11) hold channels 4j..4j+3, and
//
//	SDOT V(16+4r+j).4S, V(4+j).16B, V(r).4B[s]
//
// adds the 4 products of group s to channels 4j..4j+3 of row r. The
// accumulators start at the biases (zero for int32 output).
// Epilogue: V4-V7 multipliers, V8-V11 shifts (the common path negates
// them in place), V13 the zero point (common path: in 8 int16 lanes),
// V14-V15 the narrowed row; on the general path V12 zero and V14-V15 the
// left and right shift amounts first.`,
	block: func(a int, post, _ bool) []ins {
		var out []ins
		for r := range 4 {
			out = append(out, ld1(r, 1, a+r, post, "B16", "16b"))
		}
		for s := range 4 {
			wv := 4 + 4*(s%2)
			out = append(out, ld1(wv, 4, rW, true, "B16", "16b"))
			for r := range 4 {
				for j := range 4 {
					out = append(out, sdotElem(vAcc+4*r+j, wv+j, r, s))
				}
			}
		}
		return out
	},
	// Rows 0 and 1 load the biases, rows 2 and 3 copy them: the loads and
	// the copies issue on different pipes.
	init: func() []ins {
		out := []ins{ld1(vAcc, 4, rBias, false, "S4", "4s"), ld1(vAcc+4, 4, rBias, false, "S4", "4s")}
		for v := vAcc + 8; v < 32; v++ {
			out = append(out, mov16B(v, v-8))
		}
		return out
	},
	// The common path adds the zero point to int16 values
	// (asmgen.Narrow16ZP), which needs |zp| <= 32640, and shifts only
	// right; the general path is the plain sequence.
	requant: func() (prologue, left, general, rest []ins) {
		prologue = []ins{
			ld1(4, 4, rMult, false, "S4", "4s"),
			ld1(8, 4, rShift, false, "S4", "4s"),
		}
		// Channels 4j..4j+3 of the 4 rows; on the general path the shift
		// amounts in V14 (left) and V15 (right), one quarter at a time.
		lanes := func(j int, common bool) []asmgen.Lane {
			var ls []asmgen.Lane
			for r := range 4 {
				l := asmgen.Lane{Acc: vAcc + 4*r + j, Mult: 4 + j, RShift: 15, LShift: 14, ZP: 13}
				if common {
					l.RShift, l.ZP = 8+j, asmgen.NoZP
				}
				ls = append(ls, l)
			}
			return ls
		}
		left = []ins{zero(12), dupS(13, rZP)}
		for j := range 4 {
			left = append(left, shared(asmgen.LeftShift(14, 8+j, 12), asmgen.LeftShifts(lanes(j, false)))...)
		}
		for j := range 4 {
			general = append(general, shared(asmgen.RightShift(15, 8+j, 12), asmgen.Scale(lanes(j, false), asmgen.ByLane))...)
		}
		for r := range 4 {
			general = append(general, shared(asmgen.Narrow16(14, vAcc+4*r))...)
			general = append(general, st1(14, 1, rD+r, "B16", "16b"))
		}
		rest = []ins{dupH(13, rZP)}
		for j := range 4 {
			rest = append(rest, shared([]asmgen.Ins{asmgen.Neg(8+j, 8+j)})...)
		}
		for j := range 4 {
			rest = append(rest, shared(asmgen.Scale(lanes(j, true), asmgen.ByLane))...)
		}
		for r := range 4 {
			rest = append(rest, shared(asmgen.Narrow16ZP(14, vAcc+4*r, 13))...)
			rest = append(rest, st1(14, 1, rD+r, "B16", "16b"))
		}
		return prologue, left, general, rest
	},
	store32: func() []ins {
		var out []ins
		for r := range 4 {
			out = append(out, st1(vAcc+4*r, 4, rD+r, "S4", "4s"))
		}
		return out
	},
}

// The kernel without the dot product: 4 rows x 4 channels, 16 accumulators
// V16-V31, acc(r, c) = V(16+4r+c) holding 4 partial sums of row r, channel
// c. Per K block: 4 loads of src, 1 load of 64 bytes of weights, and per
// (row, channel) SMULL (8 products of the low halves into int16), SMLAL2
// (adds the 8 products of the high halves: each int16 sums two products,
// which cannot overflow with weights in [-127, 127]) and SADALP (pairwise
// into the int32 accumulator).
var neonKernel = &kernel{
	name: "Neon",
	impl: "neon",
	nr:   4,
	header: `// GemmNeon: the micro-kernel for cores without the dot product (Cortex-A53,
// A72). Tile: 4 rows x 4 channels.
//
// Packed weights (one panel per 4 channels, panels contiguous): for each
// block of 16 k, the 4 channels' 16 bytes, [kp/16][4][16], kp = k rounded
// up to 16, zero-padded; a panel is 4*kp bytes. One K block is 16 bytes of
// each src row (V0-V3) and 64 bytes of weights (V4-V7, channel c in
// V(4+c)); for each row r and channel c, with a temporary T in V8-V15:
//
//	SMULL  T.8H, V(r).8B, V(4+c).8B      products of k 0-7
//	SMLAL2 T.8H, V(r).16B, V(4+c).16B    plus those of k 8-15: two per int16
//	SADALP V(16+4r+c).4S, T.8H           pairwise into 4 int32 partial sums
//
// Two products of a src byte in [-128, 127] and a weight in [-127, 127]
// sum to at most 32512 in magnitude, so the int16 never overflows.
// The first K block sets the accumulators (SADDLP in place of SADALP);
// they start at zero only when k < 16. Epilogue: ADDP reduces row r's four
// accumulators to V(16+r) = its 4 channels (through V8-V15); V0 biases,
// V1 multipliers, V2 shifts, V3-V4 shift amounts, V5 zero, V6 the zero
// point (common path: in 8 int16 lanes), V8-V9 the narrowed rows, one
// per 4 bytes of V8.`,
	block: func(a int, post, first bool) []ins {
		var out []ins
		// Loads without write-back, the pointers advanced after the
		// multiplies: on the in-order A53 a post-indexed load holds up
		// issue (llvm-mca: 77 cycles an iteration with LD1.P, 63 so).
		for r := range 4 {
			out = append(out, ldrQ(r, a+r, 0))
		}
		out = append(out, ldpQ(4, 5, rW, 0), ldpQ(6, 7, rW, 32))
		for g := range 2 {
			for i := range 8 {
				p := 8*g + i
				out = append(out, smull8B(8+i, p/4, 4+p%4))
			}
			for i := range 8 {
				p := 8*g + i
				out = append(out, smlal2B(8+i, p/4, 4+p%4))
			}
			for i := range 8 {
				p := 8*g + i
				if first {
					out = append(out, saddlp(vAcc+p, 8+i))
				} else {
					out = append(out, sadalp(vAcc+p, 8+i))
				}
			}
		}
		if post {
			for r := range 4 {
				out = append(out, addImm(a+r, 16))
			}
		}
		return append(out, addImm(rW, 64))
	},
	// The first level of every row, then the second: four chains side by
	// side, which the in-order A53 needs.
	reduce: func() []ins {
		var out []ins
		for r := range 4 {
			a := vAcc + 4*r
			out = append(out, addp4S(8+2*r, a, a+1), addp4S(9+2*r, a+2, a+3))
		}
		for r := range 4 {
			out = append(out, addp4S(vAcc+r, 8+2*r, 9+2*r))
		}
		return out
	},
	// Zero only when k < 16; else the first K block's SADDLPs set the
	// accumulators (16 EORs a tile fewer).
	init: func() []ins {
		var out []ins
		for v := vAcc; v < 32; v++ {
			out = append(out, zero(v))
		}
		return out
	},
	firstSets: true,
	// The four rows are requantized step by step, side by side, and
	// narrowed together into one register, a row per 4 bytes; the common
	// path adds the zero point to int16 values (asmgen.Narrow16ZP).
	requant: func() (prologue, left, general, rest []ins) {
		prologue = []ins{
			ld1(0, 1, rBias, false, "S4", "4s"),
			ld1(1, 1, rMult, false, "S4", "4s"),
			ld1(2, 1, rShift, false, "S4", "4s"),
		}
		for r := range 4 {
			prologue = append(prologue, add4S(vAcc+r, vAcc+r, 0))
		}
		lanes := func(common bool) []asmgen.Lane { // row r's 4 channels in V(16+r)
			var ls []asmgen.Lane
			for r := range 4 {
				l := asmgen.Lane{Acc: vAcc + r, Mult: 1, RShift: 4, LShift: 3, ZP: 6}
				if common {
					l.ZP = asmgen.NoZP
				}
				ls = append(ls, l)
			}
			return ls
		}
		stores := func() []ins {
			var out []ins
			for r := range 4 {
				out = append(out, st1S(8, r, rD+r))
			}
			return out
		}
		left = append([]ins{zero(5), dupS(6, rZP)}, shared(asmgen.LeftShift(3, 2, 5), asmgen.LeftShifts(lanes(false)))...)
		general = shared(asmgen.RightShift(4, 2, 5), asmgen.Scale(lanes(false), asmgen.ByStep), asmgen.Narrow16(8, vAcc))
		general = append(general, stores()...)
		rest = append([]ins{dupH(6, rZP)}, shared([]asmgen.Ins{asmgen.Neg(4, 2)}, asmgen.Scale(lanes(true), asmgen.ByStep), asmgen.Narrow16ZP(8, vAcc, 6))...)
		rest = append(rest, stores()...)
		return prologue, left, general, rest
	},
	store32: func() []ins {
		var out []ins
		for r := range 4 {
			out = append(out, st1(vAcc+r, 1, rD+r, "S4", "4s"))
		}
		return out
	},
}

// goAsm is gemm_arm64.s.
func goAsm() []byte {
	var b bytes.Buffer
	p := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	p("// Code generated by %s (internal/gemmgen); DO NOT EDIT.", version)
	p("")
	p("//go:build !purego")
	p("")
	p(`// The int8 GEMM micro-kernels of GemmRequant and GemmInt32 (see
// ../kernels/gemm_arm64.go for the Go driver, ../kernels/doc.go for the numerics).
//
// Both take one *GemmCtx and compute rowTiles tiles of 4 rows, each for
// nBlocks consecutive channel blocks of nr channels (whole tiles only: the
// driver gives a short tile the last row's pointers again and runs a
// ragged last channel block into a scratch tile). The first tile's rows
// are src[0..3] and dst[0..3]; each next tile's are srcStep bytes further
// in src, and dstStep bytes further in dst than where the dst pointers
// stopped (they advance by a block's output at each channel block). For
// each channel block: the accumulators start at the biases (sdot; for
// neon the first K block sets them, or they start at zero when kBlocks is
// 0, and the biases are added after reducing them), kBlocks blocks of 16 k
// are read from the rows, then, if kTail is 1, one more block where the
// rows go on, or if kTail is 2, one from the tail pointers (a copy of the
// last k%%16 bytes of each row): the weights past k are zero, so whatever
// those bytes hold adds nothing. Then the epilogue either stores the int32
// sums (out32) or requantizes them to int8 as ../kernels/doc.go specifies:
//
//	acc += bias                     (sdot: the initial value; neon: ADD)
//	acc = sat32(acc << max(-s, 0))  SQSHL, skipped unless general
//	acc = SQRDMULH(acc, mult)
//	acc = rshr(acc, max(s, 0))      SRSHL by the negated amount (rounding)
//	acc = sat32(acc + zp)           SQADD
//	out = sat8(sat16(acc))          SQXTN, SQXTN
//
// (The common path adds the zero point between the two SQXTNs, on int16,
// which gives the same bytes where |zp| <= 32640: see asmgen.Narrow16ZP;
// the general path does as written.)
//
// Preconditions (the driver guarantees them): the rows of every tile can
// be read for 16*kBlocks bytes, and 16 more when kTail is 1; the tail
// pointers for 16 bytes when kTail is 2 (then rowTiles is 1); the weights
// hold nBlocks panels of 16*(kBlocks+min(kTail, 1))*nr bytes; dst rows
// have room for nBlocks*nr values; bias, mult and shift can be read for nr
// int32 at each of nBlocks positions biasStride (bias) or paramStride
// bytes apart (0: the same nr values for every block); general is 0 only
// when no shift is negative and |zp| <= 32640.
//
// Registers: R0 ctx, R1-R4 src then tail pointers, R5 weights, R6 K
// blocks left (and scratch), R7-R10 dst pointers, R11 channel blocks left,
// R12 bias, R13 multipliers, R14 shifts, R15 paramStride, R16 biasStride,
// R17 zero point, R19 out32, R20-R23 the tile's rows in src, R24 srcStep,
// R25 dstStep, R26 row tiles left. V0-V15 operands and temporaries,
// V16-V31 accumulators. R18 and R27-R30 are not touched; the functions
// are leaves.`)
	p("")
	p("#include \"textflag.h\"")
	p("")
	p("// Offsets of the GemmCtx fields.")
	for _, f := range ctxFields {
		p("#define ctx_%s %d", f.name, f.off)
	}
	for _, k := range []*kernel{sdotKernel, neonKernel} {
		p("")
		p("%s", k.header)
		p("")
		p("// func Gemm%s(ctx *GemmCtx)", k.name)
		p("TEXT ·Gemm%s(SB), NOSPLIT, $0-8", k.name)
		body(p, k)
	}
	return b.Bytes()
}

func body(p func(string, ...any), k *kernel) {
	l := strings.ToLower(k.name)
	emit := func(is []ins) {
		for _, in := range is {
			p("\t%s", in.goAsm)
		}
	}
	p("\tMOVD ctx+0(FP), R%d", rCtx)
	p("\tMOVD ctx_nBlocks(R0), R%d", rN)
	p("\tCBZ R%d, %s_done", rN, l)
	p("\tMOVD ctx_rowTiles(R0), R%d", rTiles)
	p("\tCBZ R%d, %s_done", rTiles, l)
	for r := range 4 {
		p("\tMOVD ctx_src+%d(R0), R%d", 8*r, rRow+r)
	}
	for r := range 4 {
		p("\tMOVD ctx_dst+%d(R0), R%d", 8*r, rD+r)
	}
	p("\tMOVD ctx_srcStep(R0), R%d", rSStep)
	p("\tMOVD ctx_dstStep(R0), R%d", rDStep)
	p("\tMOVD ctx_paramStride(R0), R%d", rPStride)
	p("\tMOVD ctx_biasStride(R0), R%d", rBStride)
	p("\tMOVD ctx_zp(R0), R%d", rZP)
	p("\tMOVD ctx_out32(R0), R%d", rOut32)
	p("")
	p("%s_tile:", l)
	p("\t// One tile of 4 rows: every channel block from the first.")
	p("\tMOVD ctx_w(R0), R%d", rW)
	p("\tMOVD ctx_bias(R0), R%d", rBias)
	p("\tMOVD ctx_mult(R0), R%d", rMult)
	p("\tMOVD ctx_shift(R0), R%d", rShift)
	p("\tMOVD ctx_nBlocks(R0), R%d", rN)
	p("")
	p("%s_block:", l)
	if k.firstSets {
		p("\t// One channel block: point at the rows; the first K block sets")
		p("\t// the accumulators, which start at zero only when there is none.")
		for r := range 4 {
			p("\tMOVD R%d, R%d", rRow+r, rA+r)
		}
		p("\tMOVD ctx_kBlocks(R0), R%d", rK)
		p("\tCBNZ R%d, %s_kfirst", rK, l)
		emit(k.init())
		p("\tB %s_tail", l)
		p("")
		p("%s_kfirst:", l)
		emit(k.block(rA, true, true))
		p("\tSUBS $1, R%d, R%d", rK, rK)
		p("\tBEQ %s_tail", l)
	} else {
		p("\t// One channel block: initialize the accumulators, point at the rows.")
		emit(k.init())
		for r := range 4 {
			p("\tMOVD R%d, R%d", rRow+r, rA+r)
		}
		p("\tMOVD ctx_kBlocks(R0), R%d", rK)
		p("\tCBZ R%d, %s_tail", rK, l)
	}
	p("")
	p("%s_kloop:", l)
	p("\t// One K block of 16 from the src rows.")
	emit(k.block(rA, true, false))
	p("\tSUBS $1, R%d, R%d", rK, rK)
	p("\tBNE %s_kloop", l)
	p("")
	p("%s_tail:", l)
	p("\t// kTail 1: the last, partial K block where the rows go on; 2: from")
	p("\t// the tail pointers.")
	p("\tMOVD ctx_kTail(R0), R%d", rK)
	p("\tCBZ R%d, %s_epilogue", rK, l)
	p("\tCMP $1, R%d", rK)
	p("\tBEQ %s_tailblock", l)
	for r := range 4 {
		p("\tMOVD ctx_tail+%d(R0), R%d", 8*r, rA+r)
	}
	p("")
	p("%s_tailblock:", l)
	emit(k.block(rA, false, false))
	p("")
	p("%s_epilogue:", l)
	if k.reduce != nil {
		emit(k.reduce())
	}
	p("\tCBNZ R%d, %s_store32", rOut32, l)
	prologue, left, general, rest := k.requant()
	emit(prologue)
	p("\tMOVD ctx_general(R0), R%d", rK)
	p("\tCBZ R%d, %s_common", rK, l)
	emit(left)
	if general != nil {
		emit(general)
		p("\tB %s_next", l)
	}
	p("")
	p("%s_common:", l)
	emit(rest)
	p("\tB %s_next", l)
	p("")
	p("%s_store32:", l)
	emit(k.store32())
	p("")
	p("%s_next:", l)
	p("\tADD R%d, R%d, R%d", rBStride, rBias, rBias)
	p("\tADD R%d, R%d, R%d", rPStride, rMult, rMult)
	p("\tADD R%d, R%d, R%d", rPStride, rShift, rShift)
	p("\tSUBS $1, R%d, R%d", rN, rN)
	p("\tBNE %s_block", l)
	p("\t// The next tile of rows.")
	for r := range 4 {
		p("\tADD R%d, R%d, R%d", rSStep, rRow+r, rRow+r)
	}
	for r := range 4 {
		p("\tADD R%d, R%d, R%d", rDStep, rD+r, rD+r)
	}
	p("\tSUBS $1, R%d, R%d", rTiles, rTiles)
	p("\tBNE %s_tile", l)
	p("")
	p("%s_done:", l)
	p("\tRET")
}

// mcaLoop is the K loop of k in GNU syntax, as llvm-mca reads it.
func mcaLoop(k *kernel, cpu string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by %s (internal/gemmgen); DO NOT EDIT.\n", version)
	fmt.Fprintf(&b, "// The K loop of Gemm%s (gemm_arm64.s): one block of 16 k for a tile of\n", k.name)
	fmt.Fprintf(&b, "// 4 rows x %d channels = %d int8 multiply-accumulates per iteration.\n", k.nr, 4*k.nr*16)
	fmt.Fprintf(&b, "// llvm-mca-19 -mtriple=aarch64 -mcpu=%s -iterations=1000 %s_kloop.s\n", cpu, strings.ToLower(k.name))
	b.WriteString("kloop:\n")
	for _, in := range k.block(rA, true, false) {
		fmt.Fprintf(&b, "\t%s\n", in.gnu)
	}
	fmt.Fprintf(&b, "\t%s\n\t%s\n", subs1(rK).gnu, bne("kloop").gnu)
	return b.Bytes()
}

// mcaBlock is one whole channel block of k in GNU syntax, straight-line:
// the accumulators' initial values, kBlocks K blocks and the requantizing
// epilogue without left shifts (the common case), but none of the scalar
// bookkeeping; what llvm-mca makes of it is the kernel's throughput
// including its epilogue at k = 16*kBlocks.
func mcaBlock(k *kernel, kBlocks int, cpu string) []byte {
	var b bytes.Buffer
	name := fmt.Sprintf("%s_block_k%d.s", strings.ToLower(k.name), 16*kBlocks)
	fmt.Fprintf(&b, "// Code generated by %s (internal/gemmgen); DO NOT EDIT.\n", version)
	fmt.Fprintf(&b, "// One channel block of Gemm%s (gemm_arm64.s) at k = %d, straight-line: a\n", k.name, 16*kBlocks)
	fmt.Fprintf(&b, "// tile of 4 rows x %d channels = %d int8 multiply-accumulates, requantized.\n", k.nr, 4*k.nr*16*kBlocks)
	fmt.Fprintf(&b, "// llvm-mca-19 -mtriple=aarch64 -mcpu=%s -iterations=100 %s\n", cpu, name)
	var is []ins
	if !k.firstSets {
		is = append(is, k.init()...)
	}
	for i := range kBlocks {
		is = append(is, k.block(rA, true, k.firstSets && i == 0)...)
	}
	if k.reduce != nil {
		is = append(is, k.reduce()...)
	}
	prologue, _, _, rest := k.requant()
	is = append(is, prologue...)
	is = append(is, rest...)
	for _, in := range is {
		fmt.Fprintf(&b, "\t%s\n", in.gnu)
	}
	return b.Bytes()
}
