package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// The files in the amd64 package are what this program writes.
func TestGeneratedFilesUpToDate(t *testing.T) {
	for name, want := range generate() {
		got, err := os.ReadFile(filepath.Join("..", "..", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate in amd64/", name)
		}
	}
}

// The Intel loops given to llvm-mca assemble (llvm-mc) to the same machine
// code as the Go assembler makes of the kernels' K loops, byte for byte
// (without the closing branch, whose offset llvm-mc leaves as a fixup).
func TestMCALoopsMatchGoAssembler(t *testing.T) {
	llvmMC, err := exec.LookPath("llvm-mc-19")
	if err != nil {
		t.Skip("llvm-mc-19 not installed (apt-get install llvm-19)")
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	for _, k := range kernels {
		loop := append(k.group(), ins{"ADDQ $4, AX", "add rax, 4"})
		var intel strings.Builder
		intel.WriteString(".intel_syntax noprefix\n")
		for _, in := range loop {
			intel.WriteString(in.intel + "\n")
		}
		cmd := exec.Command(llvmMC, "-triple=x86_64", "-show-encoding")
		cmd.Stdin = strings.NewReader(intel.String())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("llvm-mc: %v\n%s", err, out)
		}
		var mc []byte
		enc := regexp.MustCompile(`encoding: \[([^\]]*)\]`)
		for _, m := range enc.FindAllStringSubmatch(string(out), -1) {
			for _, b := range strings.Split(m[1], ",") {
				var v byte
				if _, err := fmtSscanf(b, &v); err != nil {
					t.Fatalf("llvm-mc encoding %q: %v", m[1], err)
				}
				mc = append(mc, v)
			}
		}

		dir := t.TempDir()
		var src strings.Builder
		src.WriteString("#include \"textflag.h\"\nTEXT ·loop(SB), NOSPLIT, $0-0\n")
		for _, in := range loop {
			src.WriteString("\t" + in.goAsm + "\n")
		}
		src.WriteString("\tRET\n")
		if err := os.WriteFile(filepath.Join(dir, "loop.s"), []byte(src.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		obj := filepath.Join(dir, "loop.o")
		asm := exec.Command(goTool, "tool", "asm", "-I", filepath.Join(runtime.GOROOT(), "pkg", "include"), "-p", "main", "-o", obj, "loop.s")
		asm.Dir = dir
		asm.Env = append(os.Environ(), "GOARCH=amd64", "GOOS=linux")
		if out, err := asm.CombinedOutput(); err != nil {
			t.Fatalf("go tool asm: %v\n%s", err, out)
		}
		out, err = exec.Command(goTool, "tool", "objdump", obj).CombinedOutput()
		if err != nil {
			t.Fatalf("go tool objdump: %v\n%s", err, out)
		}
		// Lines like "  loop.s:3	0x0	c4c17e6f00	VMOVDQU 0(R8), X0".
		line := regexp.MustCompile(`^\s*loop\.s:\d+\s+0x[0-9a-f]+\s+([0-9a-f]+)\s`)
		var goEnc []byte
		for _, l := range strings.Split(string(out), "\n") {
			if m := line.FindStringSubmatch(l); m != nil {
				for i := 0; i+2 <= len(m[1]); i += 2 {
					var v byte
					fmtSscanf("0x"+m[1][i:i+2], &v)
					goEnc = append(goEnc, v)
				}
			}
		}
		if len(goEnc) < len(mc)+1 || goEnc[len(mc)] != 0xC3 { // then RET
			t.Fatalf("%s: the Go assembler gave % X, llvm-mc % X", k.name, goEnc, mc)
		}
		if !bytes.Equal(goEnc[:len(mc)], mc) {
			t.Errorf("%s: the Go assembler gave\n% X\nllvm-mc\n% X", k.name, goEnc[:len(mc)], mc)
		}
	}
}

func fmtSscanf(s string, v *byte) (int, error) {
	var u uint
	n, err := fmt.Sscanf(strings.TrimSpace(s), "0x%x", &u)
	*v = byte(u)
	return n, err
}
