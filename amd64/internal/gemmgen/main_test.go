package main

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/kerneltest"
)

// The files in the amd64 package are what this program writes.
func TestGeneratedFilesUpToDate(t *testing.T) {
	kerneltest.CheckGenerated(t, "../..", generate(), "run go generate in amd64/")
}

// The Intel loops given to llvm-mca assemble (llvm-mc) to the same machine
// code as the Go assembler makes of the kernels' K loops, byte for byte
// (without the closing branch, whose offset llvm-mc leaves as a fixup).
func TestMCALoopsMatchGoAssembler(t *testing.T) {
	for _, k := range kernels {
		loop := append(k.group(), ins{"ADDQ $4, AX", "add rax, 4"})
		var intel strings.Builder
		intel.WriteString(".intel_syntax noprefix\n")
		var goAsm []string
		for _, in := range loop {
			intel.WriteString(in.intel + "\n")
			goAsm = append(goAsm, in.goAsm)
		}
		mc := bytes.Join(kerneltest.LLVMMC(t, intel.String(), "-triple=x86_64"), nil)

		var goEnc []byte
		for _, h := range kerneltest.GoAssemble(t, "amd64", goAsm) {
			b, err := hex.DecodeString(h)
			if err != nil {
				t.Fatalf("go tool objdump: %q: %v", h, err)
			}
			goEnc = append(goEnc, b...)
		}
		if len(goEnc) < len(mc)+1 || goEnc[len(mc)] != 0xC3 { // then RET
			t.Fatalf("%s: the Go assembler gave % X, llvm-mc % X", k.name, goEnc, mc)
		}
		if !bytes.Equal(goEnc[:len(mc)], mc) {
			t.Errorf("%s: the Go assembler gave\n% X\nllvm-mc\n% X", k.name, goEnc[:len(mc)], mc)
		}
	}
}
