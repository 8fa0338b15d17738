package amd64

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

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
	files, err := filepath.Glob("*.s")
	if err != nil {
		t.Fatal(err)
	}
	var out []asmBytes
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for line := 1; sc.Scan(); line++ {
			text := sc.Text()
			if !strings.HasPrefix(strings.TrimSpace(text), "BYTE") {
				continue
			}
			pos := fmt.Sprintf("%s:%d", name, line)
			m := bytesLineRE.FindStringSubmatch(text)
			if m == nil {
				t.Errorf("%s: BYTEs without the form BYTE $0xHH; ... // MNEMONIC: %q", pos, text)
				continue
			}
			var enc []byte
			for _, b := range byteRE.FindAllStringSubmatch(m[1], -1) {
				v, _ := strconv.ParseUint(b[1], 16, 8)
				enc = append(enc, byte(v))
			}
			out = append(out, asmBytes{pos, enc, m[2]})
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
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
	objdump, err := exec.LookPath("objdump")
	if err != nil {
		t.Skip("objdump not installed (apt-get install binutils)")
	}
	insns := asmByteInsns(t)
	var bin []byte
	for _, in := range insns {
		bin = append(bin, in.enc...)
	}
	path := filepath.Join(t.TempDir(), "bytes.bin")
	if err := os.WriteFile(path, bin, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(objdump, "-D", "-b", "binary", "-m", "i386:x86-64", "-M", "intel", path).CombinedOutput()
	if err != nil {
		t.Fatalf("objdump: %v\n%s", err, out)
	}
	// Lines like "   0:	c4 c2 2d 50 c0       	{vex} vpdpbusd ymm0,ymm10,ymm8".
	line := regexp.MustCompile(`^\s*[0-9a-f]+:\t[0-9a-f ]+\t(.*)$`)
	var got []string
	for _, l := range strings.Split(string(out), "\n") {
		if m := line.FindStringSubmatch(l); m != nil {
			got = append(got, strings.TrimSpace(m[1]))
		}
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
