package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naiveLayerNorm restates the documentation with big-enough integers.
func naiveLayerNorm(x []int8, ch int, p *LayerNormParams) int8 {
	c := int64(len(x))
	var s, q int64
	for _, v := range x {
		d := int64(v) - int64(p.Zero)
		s += d
		q += d * d
	}
	var r int64
	if v := c*q - s*s; v != 0 {
		r = int64(math.Round(float64(1<<24) / (float64(c) * math.Sqrt(float64(v)/float64(c*c)+p.Eps))))
	}
	d := int64(x[ch]) - int64(p.Zero)
	nv := clamp(((c*d-s)*r+1<<11)>>12, math.MinInt32, math.MaxInt32)
	return int8(clamp(formulaRequantNoZP(int32(nv), p.Mult[ch], p.Shift[ch])+int64(p.Bias[ch]), -128, 127))
}

type lnCase struct {
	rows, c, off int
	fill         int // 0 random, 1 constant pixels, 2 extremes
	eps          float64
	smallBias    bool // every bias in [-32640, 32640], some at its ends
}

func runLayerNormCase(t *testing.T, rng *rand.Rand, tc lnCase) {
	t.Helper()
	p := &LayerNormParams{Zero: int32(rng.IntN(256) - 128), Eps: tc.eps,
		Mult: make([]int32, tc.c), Shift: make([]int32, tc.c), Bias: make([]int32, tc.c)}
	rq := randRequant(rng, tc.c, false, 4096)
	copy(p.Mult, rq.Mult)
	copy(p.Shift, rq.Shift)
	for i := range p.Bias {
		p.Bias[i] = int32(rng.IntN(256) - 128)
		switch r := rng.IntN(16); {
		case r == 0 && tc.smallBias:
			p.Bias[i] = [...]int32{-32640, 32640, -129, 128}[rng.IntN(4)]
		case r == 0:
			p.Bias[i] = int32(rng.Uint32())
		}
	}
	src := newBuffer[int8](rng, tc.rows*tc.c, tc.off)
	randInt8s(rng, src.s())
	for i := range src.s() {
		switch tc.fill {
		case 1:
			src.s()[i] = int8(i / tc.c)
		case 2:
			src.s()[i] = [...]int8{-128, 127}[rng.IntN(2)]
		}
	}
	dst := newBuffer[int8](rng, tc.rows*tc.c, 3-tc.off)
	LayerNorm(dst.s(), src.s(), tc.c, p)
	name := fmt.Sprintf("%+v", tc)
	dst.checkGuards(t, name, func(int) bool { return true })
	for i := 0; i < len(src.s()); i += tc.c {
		for ch := range tc.c {
			if got, want := dst.s()[i+ch], naiveLayerNorm(src.s()[i:i+tc.c], ch, p); got != want {
				t.Fatalf("%s: pixel %d channel %d = %d, want %d", name, i/tc.c, ch, got, want)
			}
		}
	}
}

// TestLayerNorm covers channel counts around the 16-channel blocks, pixel
// counts around the 64-pixel chunks of the NEON driver, constant pixels
// (zero variance, with and without epsilon), the extremes, shifts of both
// signs and biases beyond int8 (in every other case all within +-32640,
// some at its ends, where the AVX-512 kernel adds them in int16).
func TestLayerNorm(t *testing.T) { forEachImplChecked(t, "LayerNorm", testLayerNorm) }

func testLayerNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(96, 97))
	i := 0
	for _, c := range []int{1, 15, 16, 17, 31, 32, 33, 64, 100, 256} {
		for _, rows := range []int{0, 1, 2, 63, 64, 65, 130} {
			i++
			eps := []float64{0, 1e-3, 0.5, 40}[i%4]
			runLayerNormCase(t, rng, lnCase{rows: rows, c: c, off: i % 4, fill: i % 3, eps: eps, smallBias: i%2 == 0})
		}
	}
}

func TestLayerNormPanics(t *testing.T) {
	p := &LayerNormParams{Mult: make([]int32, 3), Shift: make([]int32, 3), Bias: make([]int32, 3)}
	s := make([]int8, 6)
	expectPanic(t, "not positive", func() { LayerNorm(s, s, 0, p) })
	expectPanic(t, "multiple of c", func() { LayerNorm(s, s[:5], 3, p) })
	expectPanic(t, "nil LayerNormParams", func() { LayerNorm(s, s, 3, nil) })
	expectPanic(t, "one per channel", func() { LayerNorm(s, s, 2, p) })
	expectPanic(t, "zero point or epsilon", func() {
		LayerNorm(s, s, 3, &LayerNormParams{Zero: 200, Mult: p.Mult, Shift: p.Shift, Bias: p.Bias})
	})
	expectPanic(t, "zero point or epsilon", func() {
		LayerNorm(s, s, 3, &LayerNormParams{Eps: math.NaN(), Mult: p.Mult, Shift: p.Shift, Bias: p.Bias})
	})
	expectPanic(t, "shift out of range", func() {
		LayerNorm(s, s, 3, &LayerNormParams{Mult: p.Mult, Shift: []int32{0, 32, 0}, Bias: p.Bias})
	})
}

func TestLayerNormNoAllocs(t *testing.T) {
	forEachImplChecked(t, "LayerNorm", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(98, 99))
		c := 48
		p := &LayerNormParams{Mult: make([]int32, c), Shift: make([]int32, c), Bias: make([]int32, c)}
		rq := randRequant(rng, c, false, 4096)
		copy(p.Mult, rq.Mult)
		src, dst := make([]int8, 70*c), make([]int8, 70*c)
		randInt8s(rng, src)
		if a := testing.AllocsPerRun(10, func() { LayerNorm(dst, src, c, p) }); a != 0 {
			t.Errorf("LayerNorm: %v allocations", a)
		}
	})
}

func FuzzLayerNorm(f *testing.F) {
	for i, c := range sizes[1:] {
		f.Add(int64(i), uint8(c), uint8(i%5), uint8(i), 1e-3)
	}
	f.Fuzz(func(t *testing.T, seed int64, c, rows, opts uint8, eps float64) {
		if c%100 == 0 || !(eps >= 0) || math.IsInf(eps, 0) { // c%100 is the channel count
			return
		}
		rng := rand.New(rand.NewPCG(uint64(seed), 10))
		runLayerNormCase(t, rng, lnCase{rows: int(rows % 70), c: int(c % 100), off: int(opts % 4), fill: int(opts / 4 % 3), eps: eps})
	})
}
