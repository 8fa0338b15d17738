package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func naiveAffine(x int8, ch int, zero int32, w []int16, bias []int32, rq *Requant) int8 {
	acc := int64(w[ch]) * (int64(x) - int64(zero))
	if bias != nil {
		acc += int64(bias[ch])
	}
	return formulaApply(int64(int32(acc)), rq, ch)
}

type affineCase struct {
	rows, c           int
	off               int
	perTensor, noBias bool
	extremes          bool
}

func runAffineCase(t *testing.T, rng *rand.Rand, tc affineCase) {
	t.Helper()
	n := tc.rows * tc.c
	src := newBuffer[int8](rng, n, tc.off)
	dst := newBuffer[int8](rng, n, 3-tc.off)
	w := make([]int16, tc.c)
	var bias []int32
	if !tc.noBias {
		bias = make([]int32, tc.c)
	}
	zero := int32(rng.IntN(256) - 128)
	for ch := range tc.c {
		w[ch] = int16(rng.IntN(511) - 255)
		if rng.IntN(8) == 0 {
			w[ch] = int16(rng.Uint32())
		}
		if bias != nil {
			bias[ch] = rng.Int32N(1<<20) - 1<<19
		}
	}
	randInt8s(rng, src.s())
	if tc.extremes {
		zero = 127
		for i := range src.s() {
			src.s()[i] = -128
		}
		for ch := range w {
			w[ch] = [...]int16{32767, -32768}[ch%2]
		}
	}
	rq := randRequant(rng, tc.c, tc.perTensor, 3e4)
	Affine(dst.s(), src.s(), tc.c, zero, w, bias, rq)
	name := fmt.Sprintf("%+v", tc)
	dst.checkGuards(t, name, func(int) bool { return true })
	for i, x := range src.s() {
		if got, want := dst.s()[i], naiveAffine(x, i%tc.c, zero, w, bias, rq); got != want {
			t.Fatalf("%s: dst[%d] = %d, want %d", name, i, got, want)
		}
	}
}

// TestAffine covers channel counts around the 16-channel blocks, row
// counts (the amd64 kernels run chunks of 128), misaligned buffers, per-tensor and per-channel requantization
// with shifts of both signs, with and without biases, and the extremes.
func TestAffine(t *testing.T) { forEachImplChecked(t, "Affine", testAffine) }

func testAffine(t *testing.T) {
	rng := rand.New(rand.NewPCG(80, 81))
	for i, c := range append([]int{1, 48, 100, 256}, sizes[1:]...) {
		for _, rows := range []int{0, 1, 2, 5, 17, 300} {
			runAffineCase(t, rng, affineCase{rows: rows, c: c, off: i % 4, perTensor: i%3 == 0, noBias: i%2 == 1, extremes: rows == 2 && i%2 == 0})
		}
	}
}

func TestAffinePanics(t *testing.T) {
	rq := &Requant{Mult: []int32{1 << 30}, Shift: []int32{0}}
	s := make([]int8, 6)
	w := make([]int16, 3)
	expectPanic(t, "not positive", func() { Affine(s, s, 0, 0, w, nil, rq) })
	expectPanic(t, "multiple of c", func() { Affine(s, s[:5], 3, 0, w, nil, rq) })
	expectPanic(t, "multiple of c", func() { Affine(s[:3], s, 3, 0, w, nil, rq) })
	expectPanic(t, "weights length", func() { Affine(s, s, 3, 0, w[:2], nil, rq) })
	expectPanic(t, "bias length", func() { Affine(s, s, 3, 0, w, make([]int32, 2), rq) })
	expectPanic(t, "zero point", func() { Affine(s, s, 3, 128, w, nil, rq) })
	expectPanic(t, "nil Requant", func() { Affine(s, s, 3, 0, w, nil, nil) })
}

func TestAffineNoAllocs(t *testing.T) { forEachImplChecked(t, "Affine", testAffineNoAllocs) }

func testAffineNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(82, 83))
	src, dst, w := make([]int8, 64*40), make([]int8, 64*40), make([]int16, 40)
	rq := randRequant(rng, 40, false, 1e3)
	if a := testing.AllocsPerRun(10, func() { Affine(dst, src, 40, 3, w, nil, rq) }); a != 0 {
		t.Errorf("Affine: %v allocations", a)
	}
}

func FuzzAffine(f *testing.F) {
	for i, c := range sizes[1:] {
		f.Add(int64(i), uint8(c), uint8(i%5), uint8(i))
	}
	f.Fuzz(func(t *testing.T, seed int64, c, rows, opts uint8) {
		if c%80 == 0 { // c%80 is the channel count
			return
		}
		rng := rand.New(rand.NewPCG(uint64(seed), 5))
		runAffineCase(t, rng, affineCase{rows: int(rows % 9), c: int(c % 80), off: int(opts % 4),
			perTensor: opts&4 != 0, noBias: opts&8 != 0, extremes: opts&16 != 0})
	})
}

// TestAffineRequantEdges runs the corners of every requantization step
// through Affine, one combination per channel: accumulators of -2^31 and
// 2^31-1 (SQRDMULH's one saturating case is acc = mult = -2^31), the
// extreme multipliers and the extreme shifts of both signs, with zero
// points at the edges of int8, of +-32640 and beyond.
func TestAffineRequantEdges(t *testing.T) { forEachImplChecked(t, "Affine", testAffineRequantEdges) }

func testAffineRequantEdges(t *testing.T) {
	mults := []int32{math.MinInt32, math.MaxInt32, -1, 0, 1, 1 << 30, -(1 << 30)}
	biases := []int32{math.MinInt32, math.MaxInt32, 0, -1, 1 << 20}
	rng := rand.New(rand.NewPCG(82, 83))
	// Without negative shifts, the zero points around +-32640 meet both of
	// the NEON kernel's ways of adding them.
	for _, shifts := range [][]int32{{-31, -30, -1, 0, 1, 2, 30, 31}, {0, 1, 2, 30, 31}} {
		for _, zp := range []int32{5, -128, 127, 32640, -32640, 32641, -32641, math.MinInt32, math.MaxInt32} {
			c := len(mults) * len(shifts) * len(biases)
			rq := &Requant{Mult: make([]int32, c), Shift: make([]int32, c), ZeroPoint: zp}
			bias, w := make([]int32, c), make([]int16, c)
			for ch := range c {
				rq.Mult[ch] = mults[ch%len(mults)]
				rq.Shift[ch] = shifts[ch/len(mults)%len(shifts)]
				bias[ch] = biases[ch/len(mults)/len(shifts)]
			}
			for _, wv := range []int16{0, 1, -1, 32767, -32768} {
				for ch := range w {
					w[ch] = wv
				}
				src := make([]int8, 3*c)
				for i := range src {
					src[i] = [...]int8{-128, 127, 0}[i/c]
				}
				dst := newBuffer[int8](rng, len(src), 1)
				Affine(dst.s(), src, c, 0, w, bias, rq)
				dst.checkGuards(t, "Affine", func(int) bool { return true })
				for i, x := range src {
					if got, want := dst.s()[i], naiveAffine(x, i%c, 0, w, bias, rq); got != want {
						t.Fatalf("zp=%d w=%d x=%d mult=%d shift=%d bias=%d: %d, want %d", zp, wv, x, rq.Mult[i%c], rq.Shift[i%c], bias[i%c], got, want)
					}
				}
			}
		}
	}
}
