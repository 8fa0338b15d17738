package kernels

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
	macs := float64(rows) * float64(m) * float64(k) * float64(b.N) / b.Elapsed().Seconds() / 1e9
	b.ReportMetric(2*macs, "GOPS")
	b.ReportMetric(macs, "GMAC/s")
}

// BenchmarkGemmRequant runs every implementation this CPU has (sdot, neon,
// avx512vnni, avxvnni, avx2, go) on each layer shape.
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

// forEachImplB runs f as a sub-benchmark named impl=NAME/shape for every
// implementation of op.
func forEachImplB(b *testing.B, op, shape string, f func(b *testing.B)) {
	for _, name := range implNames(op) {
		b.Run("impl="+name+"/"+shape, func(b *testing.B) {
			setImpl(b, op, name)
			f(b)
		})
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
		ho, wo := (s.h+s.stride-1)/s.stride, (s.w+s.stride-1)/s.stride
		src, dst, wt, bias := make([]int8, s.h*s.w*s.c), make([]int8, ho*wo*s.c), make([]int8, 9*s.c), make([]int32, s.c)
		randInt8s(rng, src)
		randWeights(rng, wt)
		rq := layerRequant(rng, s.c)
		forEachImplB(b, "Depthwise3x3", fmt.Sprintf("H=%d,W=%d,C=%d,S=%d", s.h, s.w, s.c, s.stride), func(b *testing.B) {
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
			p := NewSoftmaxParams(0.02, 255, -128)
			logits, dst := make([]int32, n), make([]int8, n)
			randLogits(rng, logits, 3)
			var bias []int32
			if post {
				bias = make([]int32, n)
			}
			forEachImplB(b, "SoftmaxRow", fmt.Sprintf("N=%d,post=%v", n, post), func(b *testing.B) {
				for b.Loop() {
					SoftmaxRow(dst, logits, bias, &p)
				}
				elemRate(b, n)
			})
		}
	}
}

// BenchmarkAttentionSoftmax runs one head's probabilities: stage 2 (14x14
// grid, 196 x 196) and stage 3 (7x7).
func BenchmarkAttentionSoftmax(b *testing.B) {
	rng := rand.New(rand.NewPCG(100, 101))
	for _, side := range []int{14, 7} {
		for _, post := range []bool{false, true} {
			n := side * side
			p := NewSoftmaxParams(0.02, 255, -128)
			logits, dst, rel, tmp := make([]int32, n*n), make([]int8, n*n), make([]int32, (2*side-1)*(2*side-1)), make([]int32, 2*n)
			randLogits(rng, logits, 3)
			forEachImplB(b, "AttentionSoftmax", fmt.Sprintf("side=%d,post=%v", side, post), func(b *testing.B) {
				for b.Loop() {
					AttentionSoftmax(dst, logits, side, rel, post, &p, 0, n, tmp)
				}
				elemRate(b, n*n)
			})
		}
	}
}

func BenchmarkLUT(b *testing.B) {
	rng := rand.New(rand.NewPCG(68, 69))
	for _, n := range []int{56 * 56 * 256, 14 * 14 * 1024} {
		src, dst := make([]int8, n), make([]int8, n)
		randInt8s(rng, src)
		table := randTable(rng)
		forEachImplB(b, "LUT", fmt.Sprintf("N=%d", n), func(b *testing.B) {
			for b.Loop() {
				LUT(dst, src, table)
			}
			elemRate(b, n)
		})
	}
}

func BenchmarkAdd(b *testing.B) {
	rng := rand.New(rand.NewPCG(70, 71))
	for _, n := range []int{56 * 56 * 64, 14 * 14 * 256} {
		a, c, dst := make([]int8, n), make([]int8, n), make([]int8, n)
		randInt8s(rng, a)
		randInt8s(rng, c)
		p := NewAddParams(0.05, 3, 0.08, -7, 0.1, 2)
		forEachImplB(b, "Add", fmt.Sprintf("N=%d", n), func(b *testing.B) {
			for b.Loop() {
				Add(dst, a, c, &p)
			}
			elemRate(b, n)
		})
	}
}

// BenchmarkAffine runs the squeeze-excite gates of stages 0 and 1.
func BenchmarkAffine(b *testing.B) {
	rng := rand.New(rand.NewPCG(102, 103))
	for _, s := range [][2]int{{56 * 56, 256}, {28 * 28, 512}} {
		src, dst, w := make([]int8, s[0]*s[1]), make([]int8, s[0]*s[1]), make([]int16, s[1])
		randInt8s(rng, src)
		rq := layerRequant(rng, 1)
		forEachImplB(b, "Affine", fmt.Sprintf("P=%d,C=%d", s[0], s[1]), func(b *testing.B) {
			for b.Loop() {
				Affine(dst, src, s[1], 3, w, nil, rq)
			}
			elemRate(b, len(src))
		})
	}
}

// BenchmarkMeanChannels runs the squeeze of stage 0 and the head's pool.
func BenchmarkMeanChannels(b *testing.B) {
	rng := rand.New(rand.NewPCG(104, 105))
	for _, s := range [][2]int{{56 * 56, 256}, {28 * 28, 512}, {7 * 7, 512}} { // the SE squeezes of stages 0 and 1, the head pool
		src, dst := make([]int8, s[0]*s[1]), make([]int8, s[1])
		randInt8s(rng, src)
		rq := layerRequant(rng, 1)
		forEachImplB(b, "MeanChannels", fmt.Sprintf("P=%d,C=%d", s[0], s[1]), func(b *testing.B) {
			for b.Loop() {
				MeanChannels(dst, src, s[0], s[1], 5, rq, 0, s[1])
			}
			elemRate(b, len(src))
		})
	}
}

// BenchmarkAvgPool2x2 runs the pools into stages 0 and 2.
func BenchmarkAvgPool2x2(b *testing.B) {
	rng := rand.New(rand.NewPCG(106, 107))
	for _, s := range [][2]int{{112, 64}, {28, 128}} {
		src, dst := make([]int8, s[0]*s[0]*s[1]), make([]int8, s[0]*s[0]*s[1]/4)
		randInt8s(rng, src)
		forEachImplB(b, "AvgPool2x2", fmt.Sprintf("H=W=%d,C=%d", s[0], s[1]), func(b *testing.B) {
			for b.Loop() {
				AvgPool2x2(dst, src, s[0], s[0], s[1], 0, s[0]*s[0]/4)
			}
			elemRate(b, len(src))
		})
	}
}

// BenchmarkLayerNorm runs the transformer norms of stages 2 and 3.
func BenchmarkLayerNorm(b *testing.B) {
	rng := rand.New(rand.NewPCG(108, 109))
	for _, s := range [][2]int{{196, 256}, {49, 512}, {784, 128}} {
		src, dst := make([]int8, s[0]*s[1]), make([]int8, s[0]*s[1])
		randInt8s(rng, src)
		rq := layerRequant(rng, s[1])
		p := &LayerNormParams{Zero: 3, Eps: 1e-3, Mult: rq.Mult, Shift: rq.Shift, Bias: make([]int32, s[1])}
		forEachImplB(b, "LayerNorm", fmt.Sprintf("P=%d,C=%d", s[0], s[1]), func(b *testing.B) {
			for b.Loop() {
				LayerNorm(dst, src, s[1], p)
			}
			elemRate(b, len(src))
		})
	}
}

// BenchmarkIm2col3x3 gathers the stem's patches, 32 output pixels at a
// time as the engine does.
func BenchmarkIm2col3x3(b *testing.B) {
	rng := rand.New(rand.NewPCG(110, 111))
	for _, s := range []struct{ h, c, stride int }{{224, 3, 2}, {112, 32, 1}} {
		src := make([]int8, s.h*s.h*s.c)
		randInt8s(rng, src)
		ho := (s.h + s.stride - 1) / s.stride
		dst := make([]int8, 32*9*s.c)
		forEachImplB(b, "Im2col3x3", fmt.Sprintf("H=W=%d,C=%d,S=%d", s.h, s.c, s.stride), func(b *testing.B) {
			for b.Loop() {
				for p := 0; p < ho*ho; p += 32 {
					Im2col3x3(dst, src, s.h, s.h, s.c, s.stride, 0, p, min(p+32, ho*ho))
				}
			}
			elemRate(b, ho*ho*9*s.c)
		})
	}
}

// BenchmarkPackAttention packs one head's keys (196 x 32, rows 256
// apart) and values (V^T from 196 x 32) for each GEMM layout.
func BenchmarkPackAttention(b *testing.B) {
	rng := rand.New(rand.NewPCG(112, 113))
	src, sums := make([]int8, 196*256), make([]int32, 32)
	randInt8s(rng, src)
	for _, layout := range gemmImplNames() {
		b.Run("layout="+layout, func(b *testing.B) {
			setGemmImpl(b, layout)
			k, v := NewWeights(196, 32), NewWeights(32, 196)
			forEachImplB(b, "PackStrided", "M=196,K=32", func(b *testing.B) {
				for b.Loop() {
					k.PackStrided(src, 256)
				}
				elemRate(b, 196*32)
			})
			forEachImplB(b, "PackTransposed", "M=32,K=196", func(b *testing.B) {
				for b.Loop() {
					v.PackTransposed(src, 256, sums)
				}
				elemRate(b, 196*32)
			})
		})
	}
}

// BenchmarkPackTransposed packs one head's V^T at coatnet_nano_rw_224's
// attention shapes (stages 2 and 3 at 224: 196 and 49 tokens, dim_head
// 32, 8 and 16 heads) into the plain layout and the x86 GEMMs' panels (4
// values per channel, 16 or 32 channels), whichever GEMM this build has.
func BenchmarkPackTransposed(b *testing.B) {
	rng := rand.New(rand.NewPCG(114, 115))
	for _, s := range []struct{ tokens, ld int }{{196, 256}, {49, 512}} {
		src, sums := make([]int8, s.tokens*s.ld), make([]int32, 32)
		randInt8s(rng, src)
		for _, l := range []struct{ nr, kc int }{{0, 0}, {16, 4}, {32, 4}} {
			layout := &gemmKernel{name: "test", nr: l.nr, kc: l.kc}
			kp := s.tokens
			if l.nr > 0 {
				kp = (s.tokens + 15) &^ 15
			}
			v := &Weights{m: 32, k: s.tokens, kp: kp, impl: layout, data: make([]int8, 32*kp)}
			forEachImplB(b, NamePackTransposed, fmt.Sprintf("M=32,K=%d,ld=%d,nr=%d,kc=%d", s.tokens, s.ld, l.nr, l.kc), func(b *testing.B) {
				for b.Loop() {
					v.PackTransposed(src, s.ld, sums)
				}
				elemRate(b, 32*s.tokens)
			})
		}
	}
}
