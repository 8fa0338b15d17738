//go:build !purego

package kernels

import "github.com/coatnet-edge/coatnet-edge/arm64"

func init() { lutK.register("neon", lutNeon, true) }

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
