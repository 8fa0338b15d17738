package main

import (
	"encoding/binary"
	"strconv"
	"strings"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/kerneltest"
)

// The files in the arm64 package are what this program writes.
func TestGeneratedFilesUpToDate(t *testing.T) {
	kerneltest.CheckGenerated(t, "../..", generate(), "run go generate in arm64/")
}

// The GNU loops given to llvm-mca assemble (llvm-mc) to the same machine
// code as the Go assembler makes of the kernels' K loops, instruction by
// instruction (the closing branch by mnemonic only: llvm-mc leaves its
// offset as a fixup).
func TestMCALoopsMatchGoAssembler(t *testing.T) {
	for _, k := range []*kernel{sdotKernel, neonKernel} {
		loop := append(k.block(rA, true, false), subs1(rK))

		var gnu strings.Builder
		var goAsm []string
		for _, in := range loop {
			gnu.WriteString(in.gnu + "\n")
			goAsm = append(goAsm, in.goAsm)
		}
		var mc []uint32
		for _, enc := range kerneltest.LLVMMC(t, gnu.String(), "-triple=aarch64", "-mattr=+dotprod") {
			if len(enc) != 4 {
				t.Fatalf("llvm-mc gave the %d-byte encoding % x", len(enc), enc)
			}
			mc = append(mc, binary.LittleEndian.Uint32(enc))
		}

		var goEnc []uint32
		for _, h := range kerneltest.GoAssemble(t, "arm64", goAsm) {
			v, err := strconv.ParseUint(h, 16, 32)
			if err != nil || len(h) != 8 {
				t.Fatalf("go tool objdump: %q is not an instruction word", h)
			}
			goEnc = append(goEnc, uint32(v))
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
