//go:build !purego

package kernels

import "github.com/coatnet-edge/coatnet-edge/arm64"

func init() { addK.register("neon", addNeon, true) }

// addNeon runs whole blocks of 16 values in assembly, the rest in Go.
func addNeon(dst, a, b []int8, p *AddParams) {
	n := len(dst) &^ 15
	if n > 0 {
		if asmHook != nil {
			asmHook(NameAdd)
		}
		ctx := arm64.AddCtx{Dst: &dst[0], A: &a[0], B: &b[0], N: n,
			ZeroA: int(p.ZeroA), ZeroB: int(p.ZeroB), ZeroOut: int(p.ZeroOut),
			MultA: int(p.MultA), ShiftA: int(p.ShiftA), MultB: int(p.MultB), ShiftB: int(p.ShiftB),
			MultOut: int(p.MultOut), ShiftOut: int(p.ShiftOut)}
		// The left-shift loop adds the zero point to int32 values, the
		// other to int16 values.
		if p.ShiftA < 0 || p.ShiftB < 0 || p.ShiftOut < 0 || p.ZeroOut < -zpInt16Max || p.ZeroOut > zpInt16Max {
			ctx.Left = 1
		}
		arm64.Add(&ctx)
	}
	addRef(dst[n:], a[n:], b[n:], p)
}
