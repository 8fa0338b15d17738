package amd64

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/kerneltest"
	"golang.org/x/arch/x86/x86asm"
)

// asmBytes is one instruction of a .s file written as BYTEs, with the
// Intel mnemonic of its comment.
type asmBytes struct {
	pos     string // file:line
	enc     []byte
	comment string
}

var (
	bytesLineRE = regexp.MustCompile(`^\s*((?:BYTE \$0x[0-9A-F]{2}(?:; )?)+)\s*//\s*(\S.*?)\s*$`)
	byteRE      = regexp.MustCompile(`\$0x([0-9A-F]{2})`)
)

// asmByteInsns returns every BYTE instruction of the package's .s files; a
// BYTE line not of the form "BYTE $0xHH; ... // mnemonic" is an error.
func asmByteInsns(t *testing.T) []asmBytes {
	t.Helper()
	var out []asmBytes
	for _, e := range kerneltest.Encodings(t, "BYTE", bytesLineRE, "BYTE $0xHH; ... // MNEMONIC") {
		var enc []byte
		for _, b := range byteRE.FindAllStringSubmatch(e.Match[1], -1) {
			v, _ := strconv.ParseUint(b[1], 16, 8)
			enc = append(enc, byte(v))
		}
		out = append(out, asmBytes{e.Pos, enc, e.Match[2]})
	}
	return out
}

// normalize puts an instruction in one spelling: lower case, no
// spaces after commas, no {vex} pseudo-prefix.
func normalize(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(strings.ToLower(s)), "{vex}")
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(s, ", ", ",")
}

// Every BYTE instruction is one that golang.org/x/arch decodes to its
// comment, in exactly its bytes; VPDPBUSD is the 3-byte-VEX form (not
// EVEX: the AVX-VNNI cores lack AVX-512). The kernels have some.
func TestBytesDecodeX86asm(t *testing.T) {
	insns := asmByteInsns(t)
	if len(insns) == 0 {
		t.Fatal("no BYTE instructions found")
	}
	for _, in := range insns {
		if strings.Contains(in.comment, "vpdpbusd") && (!strings.HasPrefix(in.comment, "{vex} ") || in.enc[0] != 0xC4) {
			t.Errorf("%s: % X (%q) is not the 3-byte VEX VPDPBUSD", in.pos, in.enc, in.comment)
		}
		inst, err := x86asm.Decode(in.enc, 64)
		if err != nil {
			t.Errorf("%s: % X: %v", in.pos, in.enc, err)
			continue
		}
		if inst.Len != len(in.enc) {
			t.Errorf("%s: % X decodes to %d bytes", in.pos, in.enc, inst.Len)
		}
		if got := normalize(x86asm.IntelSyntax(inst, 0, nil)); got != normalize(in.comment) {
			t.Errorf("%s: % X is %q (x86asm), the comment says %q", in.pos, in.enc, got, in.comment)
		}
	}
}

// The same with GNU objdump (Debian's binutils), which also says {vex}
// where the comment does.
func TestBytesDecodeObjdump(t *testing.T) {
	insns := asmByteInsns(t)
	var bin []byte
	for _, in := range insns {
		bin = append(bin, in.enc...)
	}
	// Lines like "   0:	c4 c2 2d 50 c0       	{vex} vpdpbusd ymm0,ymm10,ymm8".
	line := regexp.MustCompile(`^\s*[0-9a-f]+:\t[0-9a-f ]+\t(.*)$`)
	var got []string
	for _, m := range kerneltest.Objdump(t, "objdump", "binutils", bin, line, "-D", "-b", "binary", "-m", "i386:x86-64", "-M", "intel") {
		got = append(got, strings.TrimSpace(m[1]))
	}
	if len(got) != len(insns) {
		t.Fatalf("objdump decoded %d instructions, the .s files have %d", len(got), len(insns))
	}
	for i, in := range insns {
		if strings.HasPrefix(in.comment, "{vex}") != strings.HasPrefix(got[i], "{vex}") || normalize(got[i]) != normalize(in.comment) {
			t.Errorf("%s: % X is %q (objdump), the comment says %q", in.pos, in.enc, got[i], in.comment)
		}
	}
}
