package arm64

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Benchmarks run the shapes of coatnet_nano_rw_224 (NHWC, batch 1: rows are
// pixels). GEMM names: M output channels, N rows (pixels), K inputs.

var gemmShapes = []struct {
	name       string
	rows, m, k int
}{
	{"stem.conv2 (im2col)", 12544, 64, 288},
	{"stage0.conv1", 3136, 256, 64},
	{"stage0.conv3", 3136, 64, 256},
	{"stage1.conv1", 784, 512, 128},
	{"stage2.qkv", 196, 768, 256},
	{"stage2.fc1", 196, 1024, 256},
	{"stage2.fc2", 196, 256, 1024},
	{"stage3.fc1", 49, 2048, 512},
	{"attention PV", 196, 32, 196}, // probabilities [196][196] x V^T [32][196]
	{"attention QK^T", 196, 196, 32},
}

// layerRequant is per-channel requantization as a convolution has it:
// reals below 1, so no shift is negative.
func layerRequant(rng *rand.Rand, m int) *Requant {
	rq := &Requant{Mult: make([]int32, m), Shift: make([]int32, m), ZeroPoint: -3}
	for i := range m {
		rq.Mult[i], rq.Shift[i] = QuantizeMultiplier(math.Exp2(-8 - 4*rng.Float64()))
	}
	return rq
}

func gemmOps(b *testing.B, rows, m, k int) {
	b.ReportMetric(2*float64(rows)*float64(m)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOPS")
}

// BenchmarkGemmRequant runs every implementation this CPU has (sdot, neon,
// go) on each layer shape.
func BenchmarkGemmRequant(b *testing.B) {
	rng := rand.New(rand.NewPCG(60, 61))
	for _, impl := range gemmImplNames() {
		for _, s := range gemmShapes {
			b.Run(fmt.Sprintf("impl=%s/M=%d,N=%d,K=%d", impl, s.m, s.rows, s.k), func(b *testing.B) {
				setGemmImpl(b, impl)
				src, w, dst, bias := make([]int8, s.rows*s.k), make([]int8, s.m*s.k), make([]int8, s.rows*s.m), make([]int32, s.m)
				randInt8s(rng, src)
				randWeights(rng, w)
				pw := PackWeights(w, s.m, s.k)
				rq := layerRequant(rng, s.m)
				for b.Loop() {
					GemmRequant(dst, s.m, src, s.k, s.rows, pw, bias, rq)
				}
				gemmOps(b, s.rows, s.m, s.k)
			})
		}
	}
}

// BenchmarkGemmInt32 runs the attention logits Q.K^T.
func BenchmarkGemmInt32(b *testing.B) {
	rng := rand.New(rand.NewPCG(62, 63))
	for _, impl := range gemmImplNames() {
		for _, s := range gemmShapes[len(gemmShapes)-1:] {
			b.Run(fmt.Sprintf("impl=%s/M=%d,N=%d,K=%d", impl, s.m, s.rows, s.k), func(b *testing.B) {
				setGemmImpl(b, impl)
				src, w, dst := make([]int8, s.rows*s.k), make([]int8, s.m*s.k), make([]int32, s.rows*s.m)
				randInt8s(rng, src)
				randWeights(rng, w)
				pw := PackWeights(w, s.m, s.k)
				for b.Loop() {
					GemmInt32(dst, s.m, src, s.k, s.rows, pw)
				}
				gemmOps(b, s.rows, s.m, s.k)
			})
		}
	}
}

// BenchmarkPackWeights packs the per-inference attention operands of one
// head: K (196 x 32) and V^T (32 x 196).
func BenchmarkPackWeights(b *testing.B) {
	rng := rand.New(rand.NewPCG(64, 65))
	for _, impl := range gemmImplNames() {
		for _, s := range [][2]int{{196, 32}, {32, 196}} {
			b.Run(fmt.Sprintf("impl=%s/M=%d,K=%d", impl, s[0], s[1]), func(b *testing.B) {
				setGemmImpl(b, impl)
				w := make([]int8, s[0]*s[1])
				randWeights(rng, w)
				p := NewWeights(s[0], s[1])
				for b.Loop() {
					p.Pack(w)
				}
				b.ReportMetric(float64(len(w))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
			})
		}
	}
}

func BenchmarkDepthwise3x3(b *testing.B) {
	rng := rand.New(rand.NewPCG(64, 65))
	for _, s := range []struct{ h, w, c, stride int }{
		{56, 56, 256, 1},   // stage0 (nano: pool stride mode)
		{112, 112, 256, 2}, // stage0 first block (pico: dw stride mode)
		{28, 28, 512, 1},   // stage1
		{14, 14, 1024, 1},  // stage2 conv blocks (nano_cc)
	} {
		b.Run(fmt.Sprintf("impl=%s/H=%d,W=%d,C=%d,S=%d", Implementation()["Depthwise3x3"], s.h, s.w, s.c, s.stride), func(b *testing.B) {
			ho, wo := (s.h+s.stride-1)/s.stride, (s.w+s.stride-1)/s.stride
			src, dst, wt, bias := make([]int8, s.h*s.w*s.c), make([]int8, ho*wo*s.c), make([]int8, 9*s.c), make([]int32, s.c)
			randInt8s(rng, src)
			randWeights(rng, wt)
			rq := randRequant(rng, s.c, false, 1e3)
			for b.Loop() {
				Depthwise3x3(dst, src, s.h, s.w, s.c, s.stride, wt, bias, -5, rq, 0, ho)
			}
			gemmOps(b, ho*wo, s.c, 9)
		})
	}
}

func elemRate(b *testing.B, n int) {
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
}

func BenchmarkSoftmaxRow(b *testing.B) {
	rng := rand.New(rand.NewPCG(66, 67))
	for _, n := range []int{196, 49} {
		for _, post := range []bool{false, true} {
			b.Run(fmt.Sprintf("impl=%s/N=%d,post=%v", Implementation()["SoftmaxRow"], n, post), func(b *testing.B) {
				p := NewSoftmaxParams(0.02, 255, -128)
				logits, dst := make([]int32, n), make([]int8, n)
				randLogits(rng, logits, 3)
				var bias []int32
				if post {
					bias = make([]int32, n)
				}
				for b.Loop() {
					SoftmaxRow(dst, logits, bias, &p)
				}
				elemRate(b, n)
			})
		}
	}
}

func BenchmarkLUT(b *testing.B) {
	rng := rand.New(rand.NewPCG(68, 69))
	n := 56 * 56 * 64
	b.Run(fmt.Sprintf("impl=%s/N=%d", Implementation()["LUT"], n), func(b *testing.B) {
		src, dst := make([]int8, n), make([]int8, n)
		randInt8s(rng, src)
		table := randTable(rng)
		for b.Loop() {
			LUT(dst, src, table)
		}
		elemRate(b, n)
	})
}

func BenchmarkAdd(b *testing.B) {
	rng := rand.New(rand.NewPCG(70, 71))
	n := 56 * 56 * 64
	b.Run(fmt.Sprintf("impl=%s/N=%d", Implementation()["Add"], n), func(b *testing.B) {
		a, c, dst := make([]int8, n), make([]int8, n), make([]int8, n)
		randInt8s(rng, a)
		randInt8s(rng, c)
		p := NewAddParams(0.05, 3, 0.08, -7, 0.1, 2)
		for b.Loop() {
			Add(dst, a, c, &p)
		}
		elemRate(b, n)
	})
}
