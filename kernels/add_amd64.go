//go:build !purego

package kernels

import (
	"github.com/coatnet-edge/coatnet-edge/amd64"
	"golang.org/x/sys/cpu"
)

func init() {
	addK.register("avx512", addAVX512, cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW)
	addK.register("avx2", addAVX2, cpu.X86.HasAVX2)
}

// addAVX512 runs everything in assembly (the last partial block masked).
func addAVX512(dst, a, b []int8, p *AddParams) {
	if len(dst) == 0 {
		return
	}
	if asmHook != nil {
		asmHook(NameAdd)
	}
	ctx := addCtx(dst, a, b, p, len(dst))
	amd64.AddAVX512(&ctx)
}

// addAVX2 runs whole blocks of 8 values in assembly, the rest in Go.
func addAVX2(dst, a, b []int8, p *AddParams) {
	n := len(dst) &^ 7
	if n > 0 {
		if asmHook != nil {
			asmHook(NameAdd)
		}
		ctx := addCtx(dst, a, b, p, n)
		amd64.AddAVX2(&ctx)
	}
	addRef(dst[n:], a[n:], b[n:], p)
}

// addCtx is the argument block for the first n values.
func addCtx(dst, a, b []int8, p *AddParams, n int) amd64.AddCtx {
	ctx := amd64.AddCtx{Dst: &dst[0], A: &a[0], B: &b[0], N: n}
	amd64.Fill8(&ctx.ZeroA, p.ZeroA)
	amd64.Fill8(&ctx.ZeroB, p.ZeroB)
	amd64.Fill8(&ctx.ZeroOut, p.ZeroOut)
	amd64.Fill8(&ctx.MultA, p.MultA)
	amd64.Fill8(&ctx.MultB, p.MultB)
	amd64.Fill8(&ctx.MultOut, p.MultOut)
	amd64.Shifts8(&ctx.LeftA, &ctx.RightA, &ctx.Right1A, p.ShiftA)
	amd64.Shifts8(&ctx.LeftB, &ctx.RightB, &ctx.Right1B, p.ShiftB)
	amd64.Shifts8(&ctx.LeftOut, &ctx.RightOut, &ctx.Right1Out, p.ShiftOut)
	if p.ShiftA < 0 || p.ShiftB < 0 || p.ShiftOut < 0 {
		ctx.Left = 1
	}
	return ctx
}
