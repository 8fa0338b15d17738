//go:build !purego

package kernels

import (
	"github.com/coatnet-edge/coatnet-edge/arm64"
	"golang.org/x/sys/cpu"
)

// The TBL kernel on the cores with the dot product, else the TBX one:
// the dot product marks the out-of-order cores (the A76 of the Pi 5),
// where a 4-register TBX costs more than a TBL and an ORR; on the A53
// and A72 it is the other way round (see ../arm64/lut_arm64.s). The name
// "sdot" is the level's (see SelectLevel).
func init() {
	lutK.register("sdot", lutTbl, cpu.ARM64.HasASIMDDP)
	lutK.register("neon", lutNeon, true)
}

// lutNeon runs whole blocks of 16 bytes in assembly, the rest in Go.
func lutNeon(dst, src []int8, table *[256]int8) {
	n := len(src) &^ 15
	if n > 0 {
		if asmHook != nil {
			asmHook(NameLUT)
		}
		arm64.LUT(&dst[0], &src[0], n, table)
	}
	lutRef(dst[n:], src[n:], table)
}

// lutTbl is lutNeon with arm64.LUTTbl.
func lutTbl(dst, src []int8, table *[256]int8) {
	n := len(src) &^ 15
	if n > 0 {
		if asmHook != nil {
			asmHook(NameLUT)
		}
		arm64.LUTTbl(&dst[0], &src[0], n, table)
	}
	lutRef(dst[n:], src[n:], table)
}
