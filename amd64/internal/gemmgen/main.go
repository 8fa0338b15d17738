// Command gemmgen writes gemm_amd64.s, the x86-64 GEMM micro-kernels of
// package amd64 (AVX-512 VNNI, AVX-VNNI, AVX2), and their K loops in Intel
// syntax to testdata/mca, which llvm-mca reads (see the package
// documentation of amd64). Run it from the amd64 directory:
//
//	go generate        (runs: go run ./internal/gemmgen)
//
// The three kernels share everything but the dot-product step (and the
// AVX2 kernel's widening of its rows into its frame before it). The Go
// assembler encodes VPDPBUSD on Y registers as EVEX (AVX-512VL), which the
// AVX-VNNI cores (Intel N100) lack, so the VEX form is emitted as BYTEs
// with the Intel mnemonic in a comment; words_test.go in package amd64
// decodes each and compares it with its comment, and main_test.go here
// checks that the files on disk are what this program writes.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
)

// version is recorded in the header of every file written.
const version = "gemmgen v1"

func main() {
	dir := flag.String("dir", ".", "the amd64 package directory to write into")
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
	files := map[string][]byte{"gemm_amd64.s": goAsm()}
	for _, k := range kernels {
		files["testdata/mca/"+strings.ToLower(k.name)+"_kloop.s"] = mcaLoop(k)
	}
	return files
}

// ins is one instruction in Go assembler syntax and in Intel syntax.
type ins struct{ goAsm, intel string }

// vexDpbusd is VEX.256 VPDPBUSD ymm(acc), ymm(u8), ymm(s8) (AVX-VNNI),
// which the Go assembler would encode as EVEX: its five bytes.
func vexDpbusd(acc, u, s int) ins {
	r, b := acc>>3&1, s>>3&1
	enc := []byte{
		0xC4,
		byte((r^1)<<7 | 1<<6 | (b^1)<<5 | 0x02), // R X B, map 0F38
		byte((^u&15)<<3 | 1<<2 | 0x01),          // W0, vvvv, L=256, pp=66
		0x50,
		byte(0xC0 | (acc&7)<<3 | s&7),
	}
	var parts []string
	for _, e := range enc {
		parts = append(parts, fmt.Sprintf("BYTE $0x%02X", e))
	}
	intel := fmt.Sprintf("{vex} vpdpbusd ymm%d, ymm%d, ymm%d", acc, u, s)
	return ins{strings.Join(parts, "; ") + " // " + intel, intel}
}

// kernel is one micro-kernel: a tile of 4 rows by nr channels (two
// vectors of nr/2), K in groups of 4.
type kernel struct {
	name string // TEXT symbol: Gemm + name
	nr   int
	zmm  bool
	// i16: the dot product is VPMADDWD on int16 (AVX2): each tile's rows
	// are first widened into the frame (see avx2Desc).
	i16 bool
	// dot is the dot-product step of one group of 4 k: for the four rows,
	// their 4 bytes at (R8..R11)(AX*1) (i16: their 4 int16 in the frame)
	// times the two weight vectors V8, V9 into accumulators V0..V7 (row i:
	// V2i, V2i+1).
	dot  func() []ins
	desc string
}

var rows = []string{"R8", "R9", "R10", "R11"}
var rowsIntel = []string{"r8", "r9", "r10", "r11"}

func y(n int) string { return fmt.Sprintf("Y%d", n) }
func z(n int) string { return fmt.Sprintf("Z%d", n) }

var kernels = []*kernel{
	{
		name: "AVX512VNNI", nr: 32, zmm: true,
		desc: "EVEX VPDPBUSD on Z registers: each row's 4 bytes, XOR 0x80 (x+128, unsigned), broadcast, times the\n// signed weights; the weights' -128*sum(w) per channel (Weights' column sums) starts the accumulators.",
		dot: func() []ins {
			var out []ins
			for i := range 4 {
				out = append(out, ins{fmt.Sprintf("VPXORD.BCST (%s)(AX*1), Z31, Z%d", rows[i], 10+i),
					fmt.Sprintf("vpxord zmm%d, zmm31, dword ptr [%s+rax]{1to16}", 10+i, rowsIntel[i])})
			}
			for i := range 4 {
				for h := range 2 {
					out = append(out, ins{fmt.Sprintf("VPDPBUSD Z%d, Z%d, Z%d", 8+h, 10+i, 2*i+h),
						fmt.Sprintf("vpdpbusd zmm%d, zmm%d, zmm%d", 2*i+h, 10+i, 8+h)})
				}
			}
			return out
		},
	},
	{
		name: "AVXVNNI", nr: 16,
		desc: "VEX VPDPBUSD on Y registers (BYTEs): as AVX512VNNI, on 256 bits.",
		dot: func() []ins {
			var out []ins
			for i := range 4 {
				out = append(out,
					ins{fmt.Sprintf("VPBROADCASTD (%s)(AX*1), Y%d", rows[i], 10+i), fmt.Sprintf("vpbroadcastd ymm%d, dword ptr [%s+rax]", 10+i, rowsIntel[i])},
					ins{fmt.Sprintf("VPXOR Y15, Y%d, Y%d", 10+i, 10+i), fmt.Sprintf("vpxor ymm%d, ymm%d, ymm15", 10+i, 10+i)})
			}
			for i := range 4 {
				for h := range 2 {
					out = append(out, vexDpbusd(2*i+h, 10+i, 8+h))
				}
			}
			return out
		},
	},
	{
		name: "AVX2", nr: 16, i16: true,
		desc: avx2Desc,
		dot: func() []ins {
			var out []ins
			for i := range 4 {
				out = append(out,
					ins{fmt.Sprintf("VPBROADCASTD %d(SP)(AX*2), Y12", frameEnd(i)), fmt.Sprintf("vpbroadcastd ymm12, dword ptr [rsp+2*rax+%d]", frameEnd(i))},
					ins{fmt.Sprintf("VPBROADCASTD %d(SP)(AX*2), Y13", frameEnd(i)+4), fmt.Sprintf("vpbroadcastd ymm13, dword ptr [rsp+2*rax+%d]", frameEnd(i)+4)})
				out = append(out, maddRow(i)...)
			}
			return out
		},
	},
}

// maddRow adds row i's products to its accumulators: the weights' k 0
// and 2 (Y10, Y11) times the row's (Y12), their k 1 and 3 (Y8, Y9) times
// the row's (Y13).
func maddRow(i int) []ins {
	var out []ins
	for h := range 2 {
		acc := 2*i + h
		for j, wx := range [][2]int{{10 + h, 12}, {8 + h, 13}} {
			t := 14 + j
			out = append(out,
				ins{fmt.Sprintf("VPMADDWD Y%d, Y%d, Y%d", wx[0], wx[1], t), fmt.Sprintf("vpmaddwd ymm%d, ymm%d, ymm%d", t, wx[1], wx[0])},
				ins{fmt.Sprintf("VPADDD Y%d, Y%d, Y%d", acc, t, acc), fmt.Sprintf("vpaddd ymm%d, ymm%d, ymm%d", acc, t, acc)})
		}
	}
	return out
}

// avx2Desc says how the AVX2 kernel multiplies without VNNI. VPMADDUBSW
// needs an unsigned operand and saturates, so making x or w unsigned costs
// a VPSIGNB per (row, weight vector), on the same two pipes as the
// multiplies (Zen 4/5): 28 of them per 256 MACs, against 16 here.
const avx2Desc = `no VNNI: VPMADDWD on int16, which cannot saturate (|x*w| <= 128*127).
// Per tile, the four rows' groups (the tail group too) are widened to
// int16 into the frame, each group's as x0 x2 x1 x3 (row i's groups end
// at frame offset 16384*(i+1)-8, its tail group there); per group, each
// weight vector's 16-bit halves are split by shifts into k 0 and 2
// (VPSLLW, VPSRAW) and k 1 and 3 (VPSRAW), each row's two int16 pairs are
// broadcast, and two VPMADDWD per vector give the 4-k dot product of
// every channel: no lane to add afterwards, the accumulators hold the
// channels in order.`

// avx2MaxGroups is the most groups of 4 k (the tail group included) a
// row of the AVX2 kernel's frame holds; gemm_amd64.go's GemmAVX2MaxK is
// 4 times it less 1 (a test in package amd64 compares the frame with it).
const avx2MaxGroups = 2048

// frameEnd is the frame offset where row i's main groups end.
func frameEnd(i int) int { return (avx2MaxGroups*8)*(i+1) - 8 }

func frameRow(i int) string { return fmt.Sprintf("%d", frameEnd(i)) }

// ctxFields are the offsets of GemmCtx (gemm_amd64.go); a test in package
// amd64 compares them with the struct.
var ctxFields = []struct {
	name string
	off  int
}{
	{"src", 0}, {"dst", 32}, {"w", 64}, {"init", 72}, {"bias", 80}, {"mult", 88}, {"shift", 96},
	{"initMask", 104}, {"biasMask", 112}, {"paramMask", 120}, {"kMain", 128}, {"kTail", 136},
	{"tailOff", 144}, {"panelSkip", 152}, {"nBlocks", 160}, {"rowTiles", 168}, {"srcStep", 176},
	{"dstStep", 184}, {"out32", 192}, {"leftShift", 200}, {"lo", 208}, {"hi", 240}, {"zp", 272},
	{"c2p30", 304}, {"cMin", 336}, {"cMax", 368}, {"c32", 400}, {"cByte", 432}, {"inPlace", 464},
	{"satMult", 472}, {"zp16", 480}, {"zpWords", 488},
}

// inPlaceDot is the AVX2 kernel's dot product for rows too long for its
// frame: each row's 4 bytes broadcast and widened in the loop (one more
// instruction per row and group).
func inPlaceDot() []ins {
	var out []ins
	for i := range 4 {
		out = append(out,
			ins{fmt.Sprintf("VPBROADCASTD (%s)(AX*1), Y13", rows[i]), fmt.Sprintf("vpbroadcastd ymm13, dword ptr [%s+rax]", rowsIntel[i])},
			ins{"VPSLLW $8, Y13, Y12", "vpsllw ymm12, ymm13, 8"},
			ins{"VPSRAW $8, Y12, Y12", "vpsraw ymm12, ymm12, 8"},
			ins{"VPSRAW $8, Y13, Y13", "vpsraw ymm13, ymm13, 8"})
		out = append(out, maddRow(i)...)
	}
	return out
}

// loads loads the two weight vectors of one group of 4 k.
func (k *kernel) loads() []ins {
	if k.zmm {
		return []ins{{"VMOVDQU32 (DI), Z8", "vmovdqu32 zmm8, zmmword ptr [rdi]"}, {"VMOVDQU32 64(DI), Z9", "vmovdqu32 zmm9, zmmword ptr [rdi+64]"}}
	}
	if k.i16 {
		out := []ins{{"VMOVDQU (DI), Y8", "vmovdqu ymm8, ymmword ptr [rdi]"}, {"VMOVDQU 32(DI), Y9", "vmovdqu ymm9, ymmword ptr [rdi+32]"}}
		for h := range 2 {
			g, a := 8+h, 10+h
			out = append(out,
				ins{fmt.Sprintf("VPSLLW $8, Y%d, Y%d", g, a), fmt.Sprintf("vpsllw ymm%d, ymm%d, 8", a, g)},
				ins{fmt.Sprintf("VPSRAW $8, Y%d, Y%d", a, a), fmt.Sprintf("vpsraw ymm%d, ymm%d, 8", a, a)},
				ins{fmt.Sprintf("VPSRAW $8, Y%d, Y%d", g, g), fmt.Sprintf("vpsraw ymm%d, ymm%d, 8", g, g)})
		}
		return out
	}
	return []ins{{"VMOVDQU (DI), Y8", "vmovdqu ymm8, ymmword ptr [rdi]"}, {"VMOVDQU 32(DI), Y9", "vmovdqu ymm9, ymmword ptr [rdi+32]"}}
}

// group is one group of 4 k: loads, dot products, the weights advanced.
func (k *kernel) group() []ins {
	g := append(k.loads(), k.dot()...)
	return append(g, ins{fmt.Sprintf("ADDQ $%d, DI", 4*k.nr), fmt.Sprintf("add rdi, %d", 4*k.nr)})
}

func goAsm() []byte {
	var b bytes.Buffer
	p := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	p("// Code generated by %s (internal/gemmgen); DO NOT EDIT.", version)
	p("")
	p("//go:build !purego")
	p("")
	p(`// The int8 GEMM micro-kernels: ctx.RowTiles tiles of 4 rows, each for
// ctx.NBlocks channel blocks of nr channels (32 for AVX512VNNI, 16
// otherwise), K in groups of 4: ctx.KMain groups read in place from the
// four rows, then (ctx.KTail) one group read at ctx.TailOff from where
// the rows' main groups end (the last 4 bytes of the row; the packed tail
// group has zeros where it overlaps the group before). Weights are packed
// per channel block, for every group of 4 k the nr channels' 4 bytes.
// Accumulators start at init + bias (the init, bias and parameter
// offsets are masked with ctx.*Mask: 0 reuses the first block's, for
// zeros and per-tensor parameters), and end stored as int32 (ctx.Out32)
// or requantized (see package kernels) to int8.
//
// Registers: CX ctx; R8-R11 the tile's rows (advanced past the main
// groups); AX the K index (negative, counting up to 0); DI the packed
// weights; SI the byte offset of the channel block's parameters; DX
// channel blocks left; R15 row tiles left; R12, R13, R14, BX the dst rows.
// V0-V7 accumulators (row i: V2i channels 0..nr/2-1, V2i+1 the rest), V8,
// V9 weights, V10-V13 the rows' bytes; AVX-VNNI: Y15 0x80 bytes; AVX2: Y8,
// Y9 the weights' k 1 and 3, Y10, Y11 their k 0 and 2, Y12, Y13 a row's
// int16 pairs, Y14, Y15 products; AVX-512: Z31 0x80 bytes, K2 the odd
// lanes, Z22-Z30 the epilogue's constants.`)
	p("")
	p("#include \"textflag.h\"")
	p("#include \"requant_amd64.h\"")
	p("")
	p("// gemmperm16: the qwords 0, 2, 4, 6, 1, 3, 5, 7, which put back in order")
	p("// the channels of a row's two vectors after VPACKSSDW (per 128 bits,")
	p("// four of the first vector's, then four of the second's).")
	for i, q := range []int{0, 2, 4, 6, 1, 3, 5, 7} {
		p("DATA gemmperm16<>+%d(SB)/8, $%d", 8*i, q)
	}
	p("GLOBL gemmperm16<>(SB), RODATA|NOPTR, $64")
	p("")
	for _, f := range ctxFields {
		p("#define ctx_%s %d", f.name, f.off)
	}
	for _, k := range kernels {
		p("")
		p("// %s: %s", k.name, k.desc)
		p("//")
		p("// func Gemm%s(ctx *GemmCtx)", k.name)
		if k.i16 {
			p("TEXT ·Gemm%s(SB), $%d-8", k.name, 4*avx2MaxGroups*8)
		} else {
			p("TEXT ·Gemm%s(SB), NOSPLIT, $0-8", k.name)
		}
		body(p, k)
	}
	peak(p)
	return b.Bytes()
}

// peak writes the loops of independent VPDPBUSD that measure the core's
// VNNI peak (the micro-kernels' benchmarks compare with it): n iterations
// of 16 on Z registers (EVEX) or 12 on Y registers (VEX), each
// accumulator its own chain.
func peak(p func(string, ...any)) {
	p("")
	p("// func PeakAVX512VNNI(n int)")
	p("TEXT ·PeakAVX512VNNI(SB), NOSPLIT, $0-8")
	p("\tMOVQ n+0(FP), CX")
	p("\tVPTERNLOGD $0xFF, Z30, Z30, Z30")
	p("\tVPTERNLOGD $0xFF, Z31, Z31, Z31")
	p("peakavx512vnni_loop:")
	for i := range 16 {
		p("\tVPDPBUSD Z31, Z30, Z%d", i)
	}
	p("\tDECQ CX")
	p("\tJNZ peakavx512vnni_loop")
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
	p("// func PeakAVXVNNI(n int)")
	p("TEXT ·PeakAVXVNNI(SB), NOSPLIT, $0-8")
	p("\tMOVQ n+0(FP), CX")
	p("\tVPCMPEQB Y12, Y12, Y12")
	p("\tVPCMPEQB Y13, Y13, Y13")
	p("peakavxvnni_loop:")
	for i := range 12 {
		p("\t%s", vexDpbusd(i, 12, 13).goAsm)
	}
	p("\tDECQ CX")
	p("\tJNZ peakavxvnni_loop")
	p("\tVZEROUPPER")
	p("\tRET")
}

func body(p func(string, ...any), k *kernel) {
	l := func(s string) string { return strings.ToLower(k.name) + "_" + s }
	v := y
	mov := "VMOVDQU"
	if k.zmm {
		v, mov = z, "VMOVDQU32"
	}
	half := k.nr / 2 * 4 // bytes of one int32 vector
	p("\tMOVQ ctx+0(FP), CX")
	p("\tMOVQ ctx_rowTiles(CX), R15")
	p("\tMOVQ ctx_kMain(CX), AX")
	p("\tSHLQ $2, AX")
	for i, r := range rows {
		p("\tMOVQ ctx_src+%d(CX), %s", 8*i, r)
		p("\tADDQ AX, %s", r)
	}
	for i, r := range []string{"R12", "R13", "R14", "BX"} {
		p("\tMOVQ ctx_dst+%d(CX), %s", 8*i, r)
	}
	if k.zmm {
		p("\tMOVL $0xAAAA, AX")
		p("\tKMOVW AX, K2")
		p("\tVPBROADCASTD ctx_cByte(CX), Z31")
		p("\tVPBROADCASTD ctx_cMax(CX), Z30")
		p("\tVPBROADCASTD ctx_cMin(CX), Z29")
		p("\tVPBROADCASTQ ctx_c2p30(CX), Z28")
		p("\tVPBROADCASTD ctx_lo(CX), Z27")
		p("\tVPBROADCASTD ctx_hi(CX), Z26")
		p("\tVPBROADCASTD ctx_zp(CX), Z25")
		// The merged requantization's qword constants (requant).
		p("\tMOVQ $0x80000000, AX")
		p("\tVPBROADCASTQ AX, Z24")
		p("\tMOVQ $31, AX")
		p("\tVPBROADCASTQ AX, Z22")
		p("\tMOVQ $1, AX")
		p("\tVPBROADCASTQ AX, Z23")
	}
	p("%s:", l("tile"))
	if k.i16 {
		p("\tCMPQ ctx_inPlace(CX), $0")
		p("\tJNE %s", l("widened"))
		widen(p, k)
		p("%s:", l("widened"))
	}
	p("\tMOVQ ctx_w(CX), DI")
	p("\tXORQ SI, SI")
	p("\tMOVQ ctx_nBlocks(CX), DX")
	p("%s:", l("block"))
	{
		if !k.zmm && !k.i16 {
			p("\tVPBROADCASTD ctx_cByte(CX), Y15")
		}
		// Accumulators: init + bias, in every row.
		p("\tMOVQ SI, AX")
		p("\tANDQ ctx_initMask(CX), AX")
		p("\tADDQ ctx_init(CX), AX")
		p("\t%s (AX), %s", mov, v(0))
		p("\t%s %d(AX), %s", mov, half, v(1))
		p("\tMOVQ SI, AX")
		p("\tANDQ ctx_biasMask(CX), AX")
		p("\tADDQ ctx_bias(CX), AX")
		p("\tVPADDD (AX), %s, %s", v(0), v(0))
		p("\tVPADDD %d(AX), %s, %s", half, v(1), v(1))
		movReg := "VMOVDQA"
		if k.zmm {
			movReg = "VMOVDQA32"
		}
		for i := 2; i < 8; i++ {
			p("\t%s %s, %s", movReg, v(i%2), v(i))
		}
	}
	if k.i16 {
		p("\tCMPQ ctx_inPlace(CX), $0")
		p("\tJNE %s", l("inplace"))
	}
	kLoop(p, k, "", k.group())
	if k.i16 {
		p("\tJMP %s", l("epilogue"))
		p("%s:", l("inplace"))
		g := append(k.loads(), inPlaceDot()...)
		g = append(g, ins{"ADDQ $64, DI", "add rdi, 64"})
		kLoop(p, k, "ip", g)
	}
	p("%s:", l("epilogue"))
	p("\tADDQ ctx_panelSkip(CX), DI")
	p("\tCMPQ ctx_out32(CX), $0")
	p("\tJNE %s", l("store32"))
	// Four epilogues: with and without left shifts, and with and without
	// the fix of SQRDMULH's saturating case (no multiplier of -2^31).
	p("\tCMPQ ctx_leftShift(CX), $0")
	p("\tJEQ %s", l("noleft"))
	p("\tCMPQ ctx_satMult(CX), $0")
	p("\tJEQ %s", l("leftnosat"))
	requant(p, k, true, true)
	p("\tJMP %s", l("store8"))
	p("%s:", l("leftnosat"))
	requant(p, k, true, false)
	p("\tJMP %s", l("store8"))
	p("%s:", l("noleft"))
	p("\tCMPQ ctx_satMult(CX), $0")
	p("\tJEQ %s", l("nosat"))
	requant(p, k, false, true)
	p("\tJMP %s", l("store8"))
	p("%s:", l("nosat"))
	dsts := []string{"R12", "R13", "R14", "BX"}
	// The common case, the zero point within +-32640: the requantized
	// values packed to int16 with saturation take it in a saturating int16
	// add, which gives sat8(x + zp) exactly, in place of the clamp.
	p("\tCMPQ ctx_zp16(CX), $0")
	p("\tJEQ %s", l("nosat32"))
	requant16(p, k)
	if k.zmm {
		p("\tVPBROADCASTW ctx_zp(CX), Z10")
		p("\tVMOVDQU64 gemmperm16<>(SB), Z11")
	}
	for i, d := range dsts {
		if k.zmm {
			p("\tVPACKSSDW Z%d, Z%d, Z8", 2*i+1, 2*i)
			p("\tVPADDSW Z10, Z8, Z8")
			p("\tVPERMQ Z8, Z11, Z8")
			p("\tVPMOVSWB Z8, (%s)", d)
		} else {
			p("\tVPACKSSDW Y%d, Y%d, Y8", 2*i+1, 2*i)
			p("\tVPADDSW ctx_zpWords(CX), Y8, Y8")
			p("\tVPERMQ $0xD8, Y8, Y8")
			p("\tVEXTRACTI128 $1, Y8, X9")
			p("\tVPACKSSWB X9, X8, X8")
			p("\tVMOVDQU X8, (%s)", d)
		}
	}
	p("\tJMP %s", l("advance8"))
	p("%s:", l("nosat32"))
	requant(p, k, false, false)
	p("%s:", l("store8"))
	for i, d := range dsts {
		switch {
		case k.zmm:
			p("\tVPMOVSDB Z%d, (%s)", 2*i, d)
			p("\tVPMOVSDB Z%d, 16(%s)", 2*i+1, d)
		default:
			p("\tVPACKSSDW Y%d, Y%d, Y8", 2*i+1, 2*i)
			p("\tVPERMQ $0xD8, Y8, Y8")
			p("\tVEXTRACTI128 $1, Y8, X9")
			p("\tVPACKSSWB X9, X8, X8")
			p("\tVMOVDQU X8, (%s)", d)
		}
	}
	p("%s:", l("advance8"))
	for _, d := range dsts {
		p("\tADDQ $%d, %s", k.nr, d)
	}
	p("\tJMP %s", l("next"))
	p("%s:", l("store32"))
	for i, d := range dsts {
		p("\t%s %s, (%s)", mov, v(2*i), d)
		p("\t%s %s, %d(%s)", mov, v(2*i+1), half, d)
	}
	for _, d := range dsts {
		p("\tADDQ $%d, %s", 4*k.nr, d)
	}
	p("%s:", l("next"))
	p("\tADDQ $%d, SI", 4*k.nr)
	p("\tDECQ DX")
	p("\tJNZ %s", l("block"))
	for _, r := range rows {
		p("\tADDQ ctx_srcStep(CX), %s", r)
	}
	for _, d := range dsts {
		p("\tADDQ ctx_dstStep(CX), %s", d)
	}
	p("\tDECQ R15")
	p("\tJNZ %s", l("tile"))
	p("\tVZEROUPPER")
	p("\tRET")
}

// kLoop is the K loop of k on the group g: the main groups, then the
// tail group (the i16 kernel's widened one at the frame rows' ends).
func kLoop(p func(string, ...any), k *kernel, suffix string, g []ins) {
	l := func(s string) string { return strings.ToLower(k.name) + "_" + s + suffix }
	p("\tMOVQ ctx_kMain(CX), AX")
	p("\tSHLQ $2, AX")
	p("\tNEGQ AX")
	p("\tJZ %s", l("tail"))
	p("%s:", l("kloop"))
	for _, in := range g {
		p("\t%s", in.goAsm)
	}
	p("\tADDQ $4, AX")
	p("\tJNZ %s", l("kloop"))
	p("%s:", l("tail"))
	p("\tCMPQ ctx_kTail(CX), $0")
	p("\tJEQ %s", l("done"))
	if k.i16 && suffix == "" {
		p("\tXORQ AX, AX")
	} else {
		p("\tMOVQ ctx_tailOff(CX), AX")
	}
	for _, in := range g {
		p("\t%s", in.goAsm)
	}
	p("%s:", l("done"))
}

// widen writes the i16 kernel's frame for the tile whose rows R8-R11
// point past their main groups: each row's main groups widened to int16,
// 16 bytes at a time while that many are left (never past the row), then
// 4, then the tail group (at ctx.TailOff) after them, each group's
// int16 as x0 x2 x1 x3 (VPSHUFB by ctx.CByte). It uses AX, DX, Y8, Y9.
func widen(p func(string, ...any), k *kernel) {
	l := func(s string) string { return strings.ToLower(k.name) + "_" + s }
	p("\tVMOVDQU ctx_cByte(CX), Y9") // the word shuffle x0 x1 x2 x3 -> x0 x2 x1 x3
	for i, r := range rows {
		w := func(s string) string { return l(fmt.Sprintf("%s%d", s, i)) }
		p("\tMOVQ ctx_kMain(CX), AX")
		p("\tSHLQ $2, AX")
		p("\tNEGQ AX")
		p("%s:", w("w16_"))
		p("\tCMPQ AX, $-16")
		p("\tJGT %s", w("w4_"))
		p("\tVPMOVSXBW (%s)(AX*1), Y8", r)
		p("\tVPSHUFB Y9, Y8, Y8")
		p("\tVMOVDQU Y8, %s(SP)(AX*2)", frameRow(i))
		p("\tADDQ $16, AX")
		p("\tJMP %s", w("w16_"))
		p("%s:", w("w4_"))
		p("\tTESTQ AX, AX")
		p("\tJZ %s", w("wt_"))
		p("\tVMOVD (%s)(AX*1), X8", r)
		p("\tVPMOVSXBW X8, X8")
		p("\tVPSHUFB X9, X8, X8")
		p("\tVMOVQ X8, %s(SP)(AX*2)", frameRow(i))
		p("\tADDQ $4, AX")
		p("\tJMP %s", w("w4_"))
		p("%s:", w("wt_"))
		p("\tCMPQ ctx_kTail(CX), $0")
		p("\tJEQ %s", w("wd_"))
		p("\tMOVQ ctx_tailOff(CX), DX")
		p("\tVMOVD (%s)(DX*1), X8", r)
		p("\tVPMOVSXBW X8, X8")
		p("\tVPSHUFB X9, X8, X8")
		p("\tVMOVQ X8, %s(SP)", frameRow(i))
		p("%s:", w("wd_"))
	}
}

// requant requantizes the accumulators in place (to int32 values already
// clamped to the int8 range less the zero point, plus it), half by half:
// per half the channels' multipliers, their odd lanes, the left and
// right shifts and 32 less the right shift, then each row's vector; sat
// adds the fix of SQRDMULH's saturating case. The AVX-512 kernel takes
// the merged form instead (requantMerged).
func requant(p func(string, ...any), k *kernel, left, sat bool) {
	requantClamp(p, k, left, sat, true)
}

// requant16 is requant without left shifts, the saturating case's fix and
// the clamp and zero point, which the int16 store adds.
func requant16(p func(string, ...any), k *kernel) {
	requantClamp(p, k, false, false, false)
}

// requantClamp is requant, with the clamp and zero point where clamp is
// set.
func requantClamp(p func(string, ...any), k *kernel, left, sat, clamp bool) {
	if k.zmm {
		requantMerged(p, k, left, sat, clamp)
		return
	}
	half := k.nr / 2 * 4
	const M, MO, L, R, R32, T1, T2, T3 = 8, 9, 10, 11, 12, 13, 14, 15
	v := y
	for h := range 2 {
		p("\tMOVQ SI, AX")
		p("\tANDQ ctx_paramMask(CX), AX")
		p("\tADDQ ctx_mult(CX), AX")
		p("\tVMOVDQU %d(AX), %s", h*half, v(M))
		p("\tVPSRLQ $32, %s, %s", v(M), v(MO))
		p("\tMOVQ SI, AX")
		p("\tANDQ ctx_paramMask(CX), AX")
		p("\tADDQ ctx_shift(CX), AX")
		p("\tVMOVDQU %d(AX), %s", h*half, v(T1))
		p("\tVPXOR %s, %s, %s", v(T2), v(T2), v(T2))
		p("\tVPMAXSD %s, %s, %s", v(T2), v(T1), v(R)) // right = max(shift, 0)
		p("\tVPSUBD %s, %s, %s", v(T1), v(T2), v(L))  // -shift
		p("\tVPMAXSD %s, %s, %s", v(T2), v(L), v(L))  // left = max(-shift, 0)
		p("\tVMOVDQU ctx_c32(CX), %s", v(R32))
		p("\tVPSUBD %s, %s, %s", v(R), v(R32), v(R32))
		for i := range 4 {
			a := v(2*i + h)
			if left { // sat32(acc << left)
				p("\tVPSLLVD %s, %s, %s", v(L), a, v(T1))
				p("\tVPSRAVD %s, %s, %s", v(L), v(T1), v(T2))
				p("\tVPSRAD $31, %s, %s", a, v(T3))
				p("\tVPCMPEQD %s, %s, %s", a, v(T2), v(T2))
				p("\tVPXOR ctx_cMax(CX), %s, %s", v(T3), v(T3))
				p("\tVPBLENDVB %s, %s, %s, %s", v(T2), v(T1), v(T3), a)
			}
			// SQRDMULH: (acc*mult + 2^30) >> 31 per lane, even lanes from
			// VPMULDQ's low, odd ones from its high halves.
			p("\tVPMULDQ %s, %s, %s", v(M), a, v(T1))
			p("\tVPSRLQ $32, %s, %s", a, v(T2))
			p("\tVPMULDQ %s, %s, %s", v(MO), v(T2), v(T2))
			p("\tVPADDQ ctx_c2p30(CX), %s, %s", v(T1), v(T1))
			p("\tVPADDQ ctx_c2p30(CX), %s, %s", v(T2), v(T2))
			p("\tVPSRLQ $31, %s, %s", v(T1), v(T1))
			p("\tVPSLLQ $1, %s, %s", v(T2), v(T2))
			p("\tVPBLENDD $0xAA, %s, %s, %s", v(T2), v(T1), a)
			if sat { // -2^31 only from -2^31 * -2^31: 2^31-1
				p("\tVPCMPEQD ctx_cMin(CX), %s, %s", a, v(T1))
				p("\tVPXOR %s, %s, %s", v(T1), a, a)
			}
			// Rounding right shift: (x >> r) + bit r-1 of x.
			p("\tVPSLLVD %s, %s, %s", v(R32), a, v(T1))
			p("\tVPSRLD $31, %s, %s", v(T1), v(T1))
			p("\tVPSRAVD %s, %s, %s", v(R), a, a)
			p("\tVPADDD %s, %s, %s", v(T1), a, a)
			if clamp {
				p("\tVPMAXSD ctx_lo(CX), %s, %s", a, a)
				p("\tVPMINSD ctx_hi(CX), %s, %s", a, a)
				p("\tVPADDD ctx_zp(CX), %s, %s", a, a)
			}
		}
	}
}

// mcaLoop is the K loop of k in Intel syntax, as llvm-mca reads it.
func mcaLoop(k *kernel) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Code generated by %s (internal/gemmgen); DO NOT EDIT.\n", version)
	fmt.Fprintf(&b, "# The K loop of Gemm%s (gemm_amd64.s): one group of 4 k for a tile of\n", k.name)
	fmt.Fprintf(&b, "# 4 rows x %d channels = %d int8 multiply-accumulates per iteration.\n", k.nr, 4*4*k.nr)
	fmt.Fprintf(&b, "# llvm-mca-19 -mcpu=znver4 -iterations=1000 %s_kloop.s\n", strings.ToLower(k.name))
	b.WriteString(".intel_syntax noprefix\nkloop:\n")
	for _, in := range k.group() {
		b.WriteString("\t" + in.intel + "\n")
	}
	b.WriteString("\tadd rax, 4\n\tjne kloop\n")
	return b.Bytes()
}

// requantMerged is requant on Z registers with SQRDMULH and the rounding
// right shift merged: ../../requant_amd64.h's RQPREP16 per half (the
// multipliers in Z14, their odd lanes in Z15, the left shifts in Z16, per
// qword 31+r in Z17, Z18 and 2^30 + 2^(30+r) in Z19, Z20, from Z28 2^30,
// Z24 2^31, Z22 31 and Z23 1), then each row's vector by SATSHL16 (left),
// RQMUL16 and RQSAT16 (sat). Z21, Z8 and Z9 are temporaries (the K
// loop's weights and rows are free here), K2 the odd lanes.
func requantMerged(p func(string, ...any), k *kernel, left, sat, clamp bool) {
	half := k.nr / 2 * 4
	for h := range 2 {
		p("\tMOVQ SI, AX")
		p("\tANDQ ctx_paramMask(CX), AX")
		p("\tADDQ ctx_mult(CX), AX")
		p("\tVMOVDQU32 %d(AX), Z14", h*half)
		p("\tVPSRLQ $32, Z14, Z15")
		p("\tMOVQ SI, AX")
		p("\tANDQ ctx_paramMask(CX), AX")
		p("\tADDQ ctx_shift(CX), AX")
		p("\tVMOVDQU32 %d(AX), Z21", h*half)
		p("\tVPXORD Z8, Z8, Z8")
		p("\tRQPREP16(Z21, Z8, Z28, Z24, Z22, Z23, K2, Z16, Z17, Z18, Z19, Z20, Z9)")
		for i := range 4 {
			a := z(2*i + h)
			if left {
				p("\tSATSHL16(%s, Z16, Z30, Z21, Z8)", a)
			}
			p("\tRQMUL16(%s, Z14, Z15, Z17, Z18, Z19, Z20, K2, Z21, Z8)", a)
			if sat {
				p("\tRQSAT16(%s, Z30, Z29)", a)
			}
			if clamp {
				p("\tVPMAXSD Z27, %s, %s", a, a)
				p("\tVPMINSD Z26, %s, %s", a, a)
				p("\tVPADDD Z25, %s, %s", a, a)
			}
		}
	}
}
