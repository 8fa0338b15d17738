//go:build !purego

package amd64

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// BenchmarkPeak measures the VNNI peak in GMAC/s (int8 multiply-adds):
// independent VPDPBUSD, 64 (Z) or 32 (Y) MACs each.
func BenchmarkPeak(b *testing.B) {
	const n = 1 << 12
	for _, p := range []struct {
		name string
		ok   bool
		f    func(int)
		macs int
	}{
		{"avx512vnni", cpu.X86.HasAVX512F && cpu.X86.HasAVX512VNNI, PeakAVX512VNNI, 16 * 64},
		{"avxvnni", cpu.X86.HasAVXVNNI, PeakAVXVNNI, 12 * 32},
	} {
		b.Run("impl="+p.name, func(b *testing.B) {
			if !p.ok {
				b.Skip("CPU lacks it")
			}
			for b.Loop() {
				p.f(n)
			}
			b.ReportMetric(float64(p.macs)*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
}

// BenchmarkMicroKernel runs each micro-kernel on data in L1 (4 rows, K =
// 256, two channel blocks, the same tile 64 times a call, int32 output:
// the K loop and the least epilogue), in GMAC/s, to set against
// BenchmarkPeak.
func BenchmarkMicroKernel(b *testing.B) {
	const k, blocks, tiles = 256, 2, 64
	for _, mk := range []struct {
		name string
		ok   bool
		f    func(*GemmCtx)
		nr   int
	}{
		{"avx512vnni", cpu.X86.HasAVX512F && cpu.X86.HasAVX512VNNI, GemmAVX512VNNI, 32},
		{"avxvnni", cpu.X86.HasAVXVNNI, GemmAVXVNNI, 16},
		{"avx2", cpu.X86.HasAVX2, GemmAVX2, 16},
	} {
		b.Run("impl="+mk.name, func(b *testing.B) {
			if !mk.ok {
				b.Skip("CPU lacks it")
			}
			src := make([]int8, 4*k)
			w := make([]int8, blocks*mk.nr*k)
			for i := range src {
				src[i] = int8(i * 7)
			}
			for i := range w {
				w[i] = int8(i*13) % 127
			}
			zeros := make([]int32, mk.nr)
			dst := make([]int32, 4*blocks*mk.nr)
			var ctx GemmCtx
			for i := range 4 {
				ctx.Src[i] = &src[i*k]
				ctx.Dst[i] = unsafe.Pointer(&dst[i*blocks*mk.nr])
			}
			ctx.W, ctx.Init, ctx.Bias, ctx.Mult, ctx.Shift = &w[0], &zeros[0], &zeros[0], &zeros[0], &zeros[0]
			ctx.KMain, ctx.NBlocks, ctx.RowTiles, ctx.Out32 = k/4, blocks, tiles, 1
			ctx.DstStep = -blocks * mk.nr * 4 // the same tile again
			for i := range ctx.CByte {
				ctx.CByte[i] = 0x00010001
			}
			for b.Loop() {
				mk.f(&ctx)
			}
			macs := float64(tiles * blocks * 4 * mk.nr * k)
			b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
}
