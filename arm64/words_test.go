package arm64

import (
	"encoding/binary"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/kerneltest"
	"golang.org/x/arch/arm64/arm64asm"
)

// asmWord is one WORD directive of a .s file with the GNU mnemonic of its
// comment.
type asmWord struct {
	pos     string // file:line
	enc     uint32
	comment string
}

var wordRE = regexp.MustCompile(`^\s*WORD\s+\$0x([0-9A-Fa-f]{8})\s*//\s*(\S.*?)\s*$`)

// asmWords returns every WORD of the package's .s files; a WORD without a
// hexadecimal operand and a comment is an error.
func asmWords(t *testing.T) []asmWord {
	t.Helper()
	var words []asmWord
	for _, e := range kerneltest.Encodings(t, "WORD", wordRE, "WORD $0x%08X // MNEMONIC") {
		enc, _ := strconv.ParseUint(e.Match[1], 16, 32)
		words = append(words, asmWord{e.Pos, uint32(enc), e.Match[2]})
	}
	return words
}

// normalizeInsn puts an instruction in one spelling: the mnemonic and the
// operands in upper case, the operands without spaces, so that "sdot
// v0.4s, v1.16b, v2.4b[1]" (objdump) and "SDOT V0.4S, V1.16B, V2.4B[1]"
// (arm64asm, the comments) compare equal.
func normalizeInsn(s string) string {
	if i := strings.Index(s, "//"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	op, args, _ := strings.Cut(s, " ")
	if i := strings.IndexByte(op, '\t'); i >= 0 {
		op, args = op[:i], op[i+1:]+" "+args
	}
	args = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, args)
	return strings.ToUpper(op) + " " + strings.ToUpper(args)
}

// decodeDot decodes the dot-product instructions (ARMv8.2 DotProd) that
// arm64asm does not know: SDOT/UDOT, vector and by element.
func decodeDot(w uint32) (string, bool) {
	rd, rn, rm := w&31, w>>5&31, w>>16&31
	if w>>22&3 != 2 {
		return "", false
	}
	op := "SDOT"
	if w>>29&1 == 1 {
		op = "UDOT"
	}
	ta, tb := "2S", "8B"
	if w>>30&1 == 1 {
		ta, tb = "4S", "16B"
	}
	switch {
	case w&0x9F20FC00 == 0x0E009400: // 0 Q U 01110 10 0 Rm 100101 Rn Rd
		return fmt.Sprintf("%s V%d.%s, V%d.%s, V%d.%s", op, rd, ta, rn, tb, rm, tb), true
	case w&0x9F00F400 == 0x0F00E000: // 0 Q U 01111 10 L M:Rm 1110 H 0 Rn Rd
		idx := w>>11&1<<1 | w>>21&1
		return fmt.Sprintf("%s V%d.%s, V%d.%s, V%d.4B[%d]", op, rd, ta, rn, tb, rm, idx), true
	}
	return "", false
}

// Every WORD decodes to the instruction its comment names.
func TestWords(t *testing.T) {
	words := asmWords(t)
	if len(words) == 0 {
		t.Fatal("no WORD found in the package's .s files")
	}
	for _, w := range words {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], w.enc)
		var got string
		if in, err := arm64asm.Decode(b[:]); err == nil {
			got = in.String()
		} else if s, ok := decodeDot(w.enc); ok {
			got = s
		} else {
			t.Errorf("%s: WORD $0x%08X does not decode: %v", w.pos, w.enc, err)
			continue
		}
		if normalizeInsn(got) != normalizeInsn(w.comment) {
			t.Errorf("%s: WORD $0x%08X is %q, the comment says %q", w.pos, w.enc, got, w.comment)
		}
	}
}

// The same with GNU objdump, where Debian's binutils-aarch64-linux-gnu is
// installed (the Makefile installs it for make test).
func TestWordsObjdump(t *testing.T) {
	words := asmWords(t)
	bin := make([]byte, 4*len(words))
	for i, w := range words {
		binary.LittleEndian.PutUint32(bin[4*i:], w.enc)
	}
	// Lines like "  1c:	4f81e094 	sdot	v20.4s, v4.16b, v1.4b[0]".
	line := regexp.MustCompile(`^\s*([0-9a-f]+):\s+([0-9a-f]{8})\s+(\S.*)$`)
	listing := kerneltest.Objdump(t, "aarch64-linux-gnu-objdump", "binutils-aarch64-linux-gnu", bin, line, "-D", "-b", "binary", "-m", "aarch64")
	for _, m := range listing {
		off, _ := strconv.ParseUint(m[1], 16, 64)
		w := words[off/4]
		if enc, _ := strconv.ParseUint(m[2], 16, 32); uint32(enc) != w.enc {
			t.Fatalf("objdump line %q does not match WORD $0x%08X", m[0], w.enc)
		}
		if got := strings.TrimSpace(m[3]); normalizeInsn(got) != normalizeInsn(w.comment) {
			t.Errorf("%s: WORD $0x%08X is %q (objdump), the comment says %q", w.pos, w.enc, got, w.comment)
		}
	}
	if len(listing) != len(words) {
		t.Errorf("objdump listed %d of %d words", len(listing), len(words))
	}
}

func TestNormalizeInsn(t *testing.T) {
	for _, c := range [][2]string{
		{"sdot\tv0.4s, v1.16b, v2.4b[1]", "SDOT V0.4S, V1.16B, V2.4B[1]"},
		{"SMULL V3.8H, V2.8B, V1.8B", "smull v3.8h,v2.8b,v1.8b"},
	} {
		if normalizeInsn(c[0]) != normalizeInsn(c[1]) {
			t.Errorf("%q and %q differ: %q, %q", c[0], c[1], normalizeInsn(c[0]), normalizeInsn(c[1]))
		}
	}
	for _, c := range [][2]string{
		{"SQXTN2 V1.8H, V2.4S", "SQXTN V1.8H, V2.4S"},
		{"SDOT V0.4S, V1.16B, V2.4B[1]", "SDOT V0.4S, V1.16B, V2.4B[2]"},
		{"SDOT V1.4S, V0.16B, V2.4B[1]", "SDOT V0.4S, V1.16B, V2.4B[1]"},
	} {
		if normalizeInsn(c[0]) == normalizeInsn(c[1]) {
			t.Errorf("%q and %q compare equal", c[0], c[1])
		}
	}
	// The fallback decoder agrees with the encodings in the conventions.
	for enc, want := range map[uint32]string{
		0x4E829420: "SDOT V0.4S, V1.16B, V2.16B",
		0x4F81E000: "SDOT V0.4S, V0.16B, V1.4B[0]",
		0x4FA0E890: "SDOT V16.4S, V4.16B, V0.4B[3]",
		0x6E829420: "UDOT V0.4S, V1.16B, V2.16B",
		0x4F9FE3FF: "SDOT V31.4S, V31.16B, V31.4B[0]",
	} {
		if got, ok := decodeDot(enc); !ok || got != want {
			t.Errorf("decodeDot(%08X) = %q, %v; want %q", enc, got, ok, want)
		}
	}
}
