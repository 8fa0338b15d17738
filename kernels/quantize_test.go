package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// naiveQuantize is QuantizeInputValue's definition written out.
func naiveQuantize(f float32, scale float64, zp int32) int8 {
	x := float64(f) * (1 / scale)
	if math.IsNaN(x) {
		return 0
	}
	r := math.Trunc(x)
	if math.Abs(x-r) >= 0.5 {
		r += math.Copysign(1, x)
	}
	r += float64(zp)
	switch {
	case r < -128:
		return -128
	case r > 127:
		return 127
	}
	return int8(r)
}

// quantizeSpecials are values where rounding, saturation or the float
// format have an edge: halves at every scale below, the largest float
// below a half, integers beyond 2^52, infinities and NaN.
var quantizeSpecials = []float32{0, float32(math.Copysign(0, -1)), 0.5, -0.5, 1.5, -1.5, 2.5, -2.5,
	math.Nextafter32(0.5, 0), -math.Nextafter32(0.5, 0), math.Nextafter32(0.5, 1), 126.5, 127.5, -127.5, -128.5,
	-129.5, 128.5, 1e10, -1e10, math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32,
	1 << 52, 1<<52 + 1<<30, -(1 << 53), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}

// quantizeScales: powers of two (the halves above stay halves), a
// typical input scale, one whose inverse overflows to +Inf (NaN for 0).
var quantizeScales = []float64{1, 0.5, 0.25, 2, 0.0187, 1.0 / 3, 5e-324}

func TestQuantizeInput(t *testing.T) { forEachImplChecked(t, NameQuantizeInput, testQuantizeInput) }

func testQuantizeInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(40, 41))
	lens := append([]int{127, 128, 129, 1000}, sizes...)
	for i, n := range lens {
		for _, stride := range []int{1, 2, 3, 4, 7} {
			for si, scale := range quantizeScales {
				zp := int32(rng.IntN(256) - 128)
				if si == 0 {
					zp = 0
				}
				src := make([]float32, n)
				for j := range src {
					switch rng.IntN(4) {
					case 0:
						src[j] = quantizeSpecials[rng.IntN(len(quantizeSpecials))]
					case 1: // a half in units of scale
						src[j] = float32(float64(rng.IntN(600)-300) / 2 * scale)
					default:
						src[j] = float32(rng.NormFloat64() * 80 * scale)
					}
				}
				need := 0
				if n > 0 {
					need = (n-1)*stride + 1
				}
				dst := newBuffer[int8](rng, need, i%4)
				QuantizeInput(dst.s(), stride, src, scale, zp)
				dst.checkGuards(t, "QuantizeInput", func(j int) bool { return j%stride == 0 })
				for j, f := range src {
					if got, want := dst.s()[j*stride], naiveQuantize(f, scale, zp); got != want {
						t.Fatalf("n=%d stride=%d scale=%v zp=%d: dst[%d] = %d for %v, want %d", n, stride, scale, zp, j*stride, got, f, want)
					}
				}
			}
		}
	}
}

// TestQuantizeInputSpecials runs every special value in every lane of a
// block of 8 (the AVX2 block) at every scale.
func TestQuantizeInputSpecials(t *testing.T) {
	forEachImplChecked(t, NameQuantizeInput, func(t *testing.T) {
		for _, scale := range quantizeScales {
			for _, zp := range []int32{0, 127, -128, 5} {
				for lane := range 8 {
					for _, f := range quantizeSpecials {
						src := make([]float32, 8)
						src[lane] = f
						dst := make([]int8, 8)
						QuantizeInput(dst, 1, src, scale, zp)
						if got, want := dst[lane], naiveQuantize(f, scale, zp); got != want {
							t.Fatalf("scale=%v zp=%d lane %d: %v gives %d, want %d", scale, zp, lane, f, got, want)
						}
					}
				}
			}
		}
	})
}

func TestQuantizeInputPanics(t *testing.T) {
	expectPanic(t, "stride below 1", func() { QuantizeInput(make([]int8, 4), 0, make([]float32, 4), 1, 0) })
	expectPanic(t, "dst too short", func() { QuantizeInput(make([]int8, 6), 2, make([]float32, 4), 1, 0) })
	expectPanic(t, "scale is not positive", func() { QuantizeInput(make([]int8, 4), 1, make([]float32, 4), 0, 0) })
	expectPanic(t, "scale is not positive", func() { QuantizeInput(make([]int8, 4), 1, make([]float32, 4), math.NaN(), 0) })
	QuantizeInput(make([]int8, 7), 2, make([]float32, 4), 1, 0) // (4-1)*2+1 values are enough
	QuantizeInput(nil, 1, nil, 1, 0)
}

func TestQuantizeInputNoAllocs(t *testing.T) {
	forEachImplChecked(t, NameQuantizeInput, func(t *testing.T) {
		src, dst := make([]float32, 1000), make([]int8, 3000)
		if a := testing.AllocsPerRun(10, func() { QuantizeInput(dst, 3, src, 0.02, 3) }); a != 0 {
			t.Errorf("QuantizeInput: %v allocations", a)
		}
	})
}

func FuzzQuantizeInput(f *testing.F) {
	for _, n := range sizes {
		f.Add(uint8(1), 0.0187, int8(-3), make([]byte, 4*n))
		f.Add(uint8(3), 0.5, int8(127), []byte{0, 0, 0xc0, 0x7f, 0, 0, 0, 0x3f, 0, 0, 0x80, 0xff, 0, 0, 0x80, 0x7f}[:min(4*n, 16)])
	}
	f.Fuzz(func(t *testing.T, stride uint8, scale float64, zp int8, data []byte) {
		if stride == 0 || !(scale > 0) {
			return
		}
		src := make([]float32, len(data)/4)
		for i := range src {
			src[i] = math.Float32frombits(uint32(data[4*i]) | uint32(data[4*i+1])<<8 | uint32(data[4*i+2])<<16 | uint32(data[4*i+3])<<24)
		}
		s := int(stride%8) + 1
		want := make([]int8, len(src)*s)
		quantizeInputRef(want, s, src, scale, int32(zp))
		forEachImpl(t, NameQuantizeInput, func(t *testing.T, _ string) {
			got := make([]int8, len(src)*s)
			QuantizeInput(got, s, src, scale, int32(zp))
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("dst[%d] = %d, reference %d (stride %d, scale %v, zp %d, f %v)", i, got[i], want[i], s, scale, zp, src[i/s])
				}
			}
		})
	})
}

func BenchmarkQuantizeInput(b *testing.B) {
	const np = 224 * 224
	src, dst := make([]float32, np), make([]int8, 3*np)
	for i := range src {
		src[i] = float32(i%97)/50 - 1
	}
	forEachImplB(b, NameQuantizeInput, "N=50176,stride=3", func(b *testing.B) {
		for b.Loop() {
			QuantizeInput(dst, 3, src, 0.0187, -3)
		}
		b.SetBytes(4 * np)
	})
}
