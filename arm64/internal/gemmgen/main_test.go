package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// The files in the arm64 package are what this program writes.
func TestGeneratedFilesUpToDate(t *testing.T) {
	for name, want := range generate() {
		got, err := os.ReadFile(filepath.Join("..", "..", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate in arm64/", name)
		}
	}
}

// The GNU loops given to llvm-mca assemble (llvm-mc) to the same machine
// code as the Go assembler makes of the kernels' K loops, instruction by
// instruction (the closing branch by mnemonic only: llvm-mc leaves its
// offset as a fixup).
func TestMCALoopsMatchGoAssembler(t *testing.T) {
	llvmMC, err := exec.LookPath("llvm-mc-19")
	if err != nil {
		t.Skip("llvm-mc-19 not installed (apt-get install llvm-19)")
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	for _, k := range []*kernel{sdotKernel, neonKernel} {
		loop := append(k.block(rA, true), subs1(rK))

		var gnu strings.Builder
		for _, in := range loop {
			gnu.WriteString(in.gnu + "\n")
		}
		cmd := exec.Command(llvmMC, "-triple=aarch64", "-mattr=+dotprod", "-show-encoding")
		cmd.Stdin = strings.NewReader(gnu.String())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("llvm-mc: %v\n%s", err, out)
		}
		var mc []uint32
		enc := regexp.MustCompile(`encoding: \[0x([0-9a-f]{2}),0x([0-9a-f]{2}),0x([0-9a-f]{2}),0x([0-9a-f]{2})\]`)
		for _, m := range enc.FindAllStringSubmatch(string(out), -1) {
			v, _ := strconv.ParseUint(m[4]+m[3]+m[2]+m[1], 16, 32)
			mc = append(mc, uint32(v))
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
		asm.Env = append(os.Environ(), "GOARCH=arm64", "GOOS=linux")
		if out, err := asm.CombinedOutput(); err != nil {
			t.Fatalf("go tool asm: %v\n%s", err, out)
		}
		out, err = exec.Command(goTool, "tool", "objdump", obj).CombinedOutput()
		if err != nil {
			t.Fatalf("go tool objdump: %v\n%s", err, out)
		}
		// Lines like "  loop.s:3	0x0	4cdf7020	VLD1.P 16(R1), [V0.B16]".
		line := regexp.MustCompile(`^\s*loop\.s:\d+\s+0x[0-9a-f]+\s+([0-9a-f]{8})\s`)
		var goEnc []uint32
		for _, l := range strings.Split(string(out), "\n") {
			if m := line.FindStringSubmatch(l); m != nil {
				v, _ := strconv.ParseUint(m[1], 16, 32)
				goEnc = append(goEnc, uint32(v))
			}
		}
		if len(goEnc) > len(loop)+1 && goEnc[len(loop)] == 0xd65f03c0 { // RET, then padding
			goEnc = goEnc[:len(loop)+1]
		}
		if len(goEnc) != len(loop)+1 || len(mc) != len(loop) { // + RET
			t.Fatalf("%s: %d instructions, llvm-mc gave %d, the Go assembler %d", k.name, len(loop), len(mc), len(goEnc))
		}
		for i, in := range loop {
			if mc[i] != goEnc[i] {
				t.Errorf("%s: %q is %08x (llvm-mc), %q is %08x (Go)", k.name, in.gnu, mc[i], in.goAsm, goEnc[i])
			}
		}
	}
	if b := bne("kloop"); b.gnu != "b.ne kloop" || b.goAsm != "BNE kloop" {
		t.Errorf("branch %+v", b)
	}
}
