// Package kerneltest holds the checks that the tests of the hand-written
// assembly (packages amd64 and arm64) and of its generators share: that a
// .s file's #define offsets are those of its Go context struct, that the
// instructions a .s file writes as encodings (BYTE, WORD) are what their
// comments say, and that generated files are up to date and the Go
// assembler makes of a generator's loop what llvm-mc makes of its
// llvm-mca input. What differs by architecture (the decoders, the
// spellings, the comparisons) stays in each package's tests.
package kerneltest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// A Ctx is a kernel's context struct and the .s file whose
// "#define PREFIXfield OFFSET" lines give the offsets of its fields, each
// named in lower camel case (add_zeroA is AddCtx.ZeroA).
type Ctx struct {
	File, Prefix string
	Type         reflect.Type
	// Vector, if not nil, is the only array type a field may have;
	// otherwise any array may be.
	Vector reflect.Type
}

// CheckOffsets checks each ctx: every #define of its prefix names a field
// of its type and gives that field's offset, every field has one, and
// every field is what a kernel loads: 8 bytes (a pointer or an int), or
// an array (of type Vector where it is set).
func CheckOffsets(t testing.TB, ctxs ...Ctx) {
	t.Helper()
	for _, k := range ctxs {
		f, err := os.Open(k.File)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) != 3 || fields[0] != "#define" || !strings.HasPrefix(fields[1], k.Prefix) {
				continue
			}
			name := strings.TrimPrefix(fields[1], k.Prefix)
			off, err := strconv.Atoi(fields[2])
			if err != nil {
				f.Close()
				t.Fatalf("%s: %s: %v", k.File, fields[1], err)
			}
			sf, ok := k.Type.FieldByNameFunc(func(f string) bool { return strings.EqualFold(f, name) })
			if !ok {
				t.Errorf("%s has no field %s", k.Type, name)
				continue
			}
			if int(sf.Offset) != off {
				t.Errorf("%s.%s is at %d, %s says %d", k.Type, sf.Name, sf.Offset, k.File, off)
			}
			if sf.Type.Size() != 8 && (sf.Type.Kind() != reflect.Array || k.Vector != nil && sf.Type != k.Vector) {
				t.Errorf("%s.%s is a %d-byte %s, the kernel loads 8 bytes or %s", k.Type, sf.Name, sf.Type.Size(), sf.Type, vectorName(k.Vector))
			}
			seen[sf.Name] = true
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		for i := range k.Type.NumField() {
			if name := k.Type.Field(i).Name; !seen[name] {
				t.Errorf("%s has no offset for %s.%s", k.File, k.Type, name)
			}
		}
	}
}

func vectorName(v reflect.Type) string {
	if v == nil {
		return "an array"
	}
	return "a " + v.String()
}

// An Encoded is a line of a .s file that writes an instruction as its
// encoding (BYTE or WORD directives) with the instruction as comment.
type Encoded struct {
	Pos   string   // file:line
	Match []string // the line's submatches of the pattern Encodings took
}

// Encodings returns the lines of the .s files in the current directory
// whose first word is directive, matched by re; a line that re does not
// match is an error that quotes form, the shape such a line must have.
func Encodings(t testing.TB, directive string, re *regexp.Regexp, form string) []Encoded {
	t.Helper()
	files, err := filepath.Glob("*.s")
	if err != nil {
		t.Fatal(err)
	}
	var out []Encoded
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for line := 1; sc.Scan(); line++ {
			text := sc.Text()
			if !strings.HasPrefix(strings.TrimSpace(text), directive) {
				continue
			}
			pos := fmt.Sprintf("%s:%d", name, line)
			m := re.FindStringSubmatch(text)
			if m == nil {
				t.Errorf("%s: %s without the form %s: %q", pos, directive, form, text)
				continue
			}
			out = append(out, Encoded{pos, m})
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// Objdump disassembles bin, raw machine code, with the GNU objdump named
// tool and args (the file comes last), and returns the submatches of re
// of each line of its listing that re matches. It skips the test where
// tool is not installed; pkg is the Debian package that has it.
func Objdump(t testing.TB, tool, pkg string, bin []byte, re *regexp.Regexp, args ...string) [][]string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		t.Skipf("%s not installed (apt-get install %s)", tool, pkg)
	}
	file := filepath.Join(t.TempDir(), "code.bin")
	if err := os.WriteFile(file, bin, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path, append(args, file)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", tool, err, out)
	}
	var lines [][]string
	for _, l := range strings.Split(string(out), "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			lines = append(lines, m)
		}
	}
	return lines
}

// CheckGenerated checks that each of files, named relative to dir, holds
// exactly what the generator writes there; regen says how to rewrite
// them.
func CheckGenerated(t testing.TB, dir string, files map[string][]byte, regen string) {
	t.Helper()
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: %s", name, regen)
		}
	}
}

// LLVMMC assembles src with llvm-mc-19, given args before -show-encoding,
// and returns each instruction's encoding. It skips the test where
// llvm-mc-19 is not installed, and fails on an encoding with fixups (a
// byte it leaves open).
func LLVMMC(t testing.TB, src string, args ...string) [][]byte {
	t.Helper()
	llvmMC, err := exec.LookPath("llvm-mc-19")
	if err != nil {
		t.Skip("llvm-mc-19 not installed (apt-get install llvm-19)")
	}
	cmd := exec.Command(llvmMC, append(args, "-show-encoding")...)
	cmd.Stdin = strings.NewReader(src)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("llvm-mc: %v\n%s", err, out)
	}
	var encs [][]byte
	for _, m := range encodingRE.FindAllStringSubmatch(string(out), -1) {
		var enc []byte
		for _, b := range strings.Split(m[1], ",") {
			h, ok := strings.CutPrefix(strings.TrimSpace(b), "0x")
			v, err := strconv.ParseUint(h, 16, 8)
			if !ok || err != nil {
				t.Fatalf("llvm-mc encoding [%s]: %q is not a byte 0xHH", m[1], b)
			}
			enc = append(enc, byte(v))
		}
		encs = append(encs, enc)
	}
	return encs
}

var encodingRE = regexp.MustCompile(`encoding: \[([^\]]*)\]`)

// GoAssemble assembles body, Go assembler instructions, as a leaf
// function ending in RET for goarch (GOOS linux), with the toolchain that
// runs the test, and returns each instruction of the object file in the
// hexadecimal that go tool objdump prints.
func GoAssemble(t testing.TB, goarch string, body []string) []string {
	t.Helper()
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	dir := t.TempDir()
	var src strings.Builder
	src.WriteString("#include \"textflag.h\"\nTEXT ·loop(SB), NOSPLIT, $0-0\n")
	for _, in := range body {
		src.WriteString("\t" + in + "\n")
	}
	src.WriteString("\tRET\n")
	if err := os.WriteFile(filepath.Join(dir, "loop.s"), []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	obj := filepath.Join(dir, "loop.o")
	asm := exec.Command(goTool, "tool", "asm", "-I", filepath.Join(runtime.GOROOT(), "pkg", "include"), "-p", "main", "-o", obj, "loop.s")
	asm.Dir = dir
	asm.Env = append(os.Environ(), "GOARCH="+goarch, "GOOS=linux")
	if out, err := asm.CombinedOutput(); err != nil {
		t.Fatalf("go tool asm: %v\n%s", err, out)
	}
	out, err := exec.Command(goTool, "tool", "objdump", obj).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool objdump: %v\n%s", err, out)
	}
	var hex []string
	for _, l := range strings.Split(string(out), "\n") {
		if m := objdumpRE.FindStringSubmatch(l); m != nil {
			hex = append(hex, m[1])
		}
	}
	return hex
}

// Lines of go tool objdump like "  loop.s:3	0x0	c4c17e6f00	VMOVDQU 0(R8), X0".
var objdumpRE = regexp.MustCompile(`^\s*loop\.s:\d+\s+0x[0-9a-f]+\s+([0-9a-f]+)\s`)
