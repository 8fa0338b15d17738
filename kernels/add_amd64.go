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
	lo, hi := outputClamp(p.ZeroOut)
	amd64.Fill8(&ctx.OutLo, lo)
	amd64.Fill8(&ctx.OutHi, hi)
	if p.ShiftA >= 0 && p.ShiftB >= 0 {
		ctx.Fast = 1
		for _, in := range [...]struct {
			hi, lo, cLo, cHi, shift *[8]int32
			mult, sh, zero          int32
		}{
			{&ctx.HiA, &ctx.LoA, &ctx.CLoA, &ctx.CHiA, &ctx.ShiftA, p.MultA, p.ShiftA, p.ZeroA},
			{&ctx.HiB, &ctx.LoB, &ctx.CLoB, &ctx.CHiB, &ctx.ShiftB, p.MultB, p.ShiftB, p.ZeroB},
		} {
			t := addInputTerms(in.mult, in.sh, in.zero)
			amd64.Fill8(in.hi, t.hi)
			amd64.Fill8(in.lo, t.lo)
			amd64.Fill8(in.cLo, t.cLo)
			amd64.Fill8(in.cHi, t.cHi)
			amd64.Fill8(in.shift, in.sh)
		}
	}
	if p.ShiftOut < 0 {
		ctx.Left = 1
	}
	return ctx
}

// addTerm is the 32-bit form of one input's term of Add for a shift >= 0:
// for every int8 a,
//
//	requantize((a-zero)<<20, mult, shift) = (a*hi + ((a*lo + cLo) >> 11) + cHi) >> shift
//
// with arithmetic shifts and no intermediate beyond int32, where hi =
// mult>>11 and lo = mult&2047. The kernels do it in two 32-bit multiplies
// where the general steps take two 64-bit ones and their shuffles.
//
// Why it is exact: with d = a-zero (|d| <= 255) the input (d<<20 < 2^28)
// never makes SQRDMULH saturate, and (2*(d<<20)*mult + 2^31) >> 32 is
// (d*mult + 2^10) >> 11. With mult = hi*2^11 + lo that is d*hi + ((d*lo +
// 2^10) >> 11), |d*hi| < 2^28 and |d*lo| < 2^19. The rounding right shift
// by shift then adds 2^(shift-1) (below 2^30, so no overflow) and shifts.
// The zero point moves into the constants: cLo = 2^10 - zero*lo, cHi =
// 2^(shift-1) - zero*hi (no 2^(shift-1) for shift 0).
type addTerm struct{ hi, lo, cLo, cHi int32 }

func addInputTerms(mult, shift, zero int32) addTerm {
	t := addTerm{hi: mult >> 11, lo: mult & 2047}
	t.cLo = 1<<10 - zero*t.lo
	t.cHi = -zero * t.hi
	if shift > 0 {
		t.cHi += 1 << (shift - 1)
	}
	return t
}
