// Package cpuinfo names the CPU features that matter to the engines, from
// golang.org/x/sys/cpu (which on arm64 Linux reads the kernel's HWCAP, so it
// sees exactly what qemu-user or the board reports).
package cpuinfo

import (
	"runtime"
	"strings"

	"golang.org/x/sys/cpu"
)

// Feature is one CPU capability and whether this machine has it.
type Feature struct {
	Name string `json:"name"`
	Has  bool   `json:"present"`
	Why  string `json:"used_for,omitempty"` // what the engine uses it for
}

// Features lists the capabilities relevant on this GOARCH.
func Features() []Feature {
	switch runtime.GOARCH {
	case "arm64":
		return []Feature{
			{"asimd", cpu.ARM64.HasASIMD, "NEON: every arm64 int8 kernel"},
			{"asimddp", cpu.ARM64.HasASIMDDP, "SDOT/UDOT dot product (Cortex-A76, A78AE)"},
			{"i8mm", cpu.ARM64.HasI8MM, "SMMLA int8 matrix multiply"},
			{"asimdhp", cpu.ARM64.HasASIMDHP, "half-precision arithmetic"},
		}
	case "amd64":
		return []Feature{
			{"sse4.2", cpu.X86.HasSSE42, ""},
			{"avx2", cpu.X86.HasAVX2, ""},
			{"fma", cpu.X86.HasFMA, ""},
			{"avx512f", cpu.X86.HasAVX512F, ""},
			{"avx512vnni", cpu.X86.HasAVX512VNNI, ""},
		}
	}
	return nil
}

// Summary is a one-line description, e.g. "arm64: asimd asimddp -i8mm".
func Summary() string {
	var parts []string
	for _, f := range Features() {
		if f.Has {
			parts = append(parts, f.Name)
		} else {
			parts = append(parts, "-"+f.Name)
		}
	}
	return runtime.GOARCH + ": " + strings.Join(parts, " ")
}
