package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func naiveAdd(a, b int8, p *AddParams) int8 {
	ra := (int32(a) - p.ZeroA) << 20
	rb := (int32(b) - p.ZeroB) << 20
	s := clamp(formulaRequantNoZP(ra, p.MultA, p.ShiftA)+formulaRequantNoZP(rb, p.MultB, p.ShiftB), math.MinInt32, math.MaxInt32)
	return int8(clamp(formulaRequantNoZP(int32(s), p.MultOut, p.ShiftOut)+int64(p.ZeroOut), -128, 127))
}

func randScale(rng *rand.Rand) float64 { return math.Exp(rng.Float64()*math.Log(1e4)) * 1e-3 } // [1e-3, 10]

// randAddParams are parameters from NewAddParams or, one time in four,
// arbitrary multipliers and shifts (the sum may then saturate).
func randAddParams(rng *rand.Rand) AddParams {
	z := func() int32 { return int32(rng.IntN(256) - 128) }
	if rng.IntN(4) == 0 {
		return AddParams{ZeroA: z(), ZeroB: z(), ZeroOut: z(),
			MultA: int32(rng.Uint32()), ShiftA: int32(rng.IntN(63) - 31),
			MultB: int32(rng.Uint32()), ShiftB: int32(rng.IntN(63) - 31),
			MultOut: int32(rng.Uint32()), ShiftOut: int32(rng.IntN(63) - 31)}
	}
	return NewAddParams(randScale(rng), z(), randScale(rng), z(), randScale(rng), z())
}

func TestAdd(t *testing.T) { forEachImplChecked(t, "Add", testAdd) }

func testAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(40, 41))
	lens := append([]int{100, 255, 256, 1000}, sizes...)
	for i, n := range lens {
		p := randAddParams(rng)
		for alias := range 3 { // none, dst = a, dst = b
			a, b := newBuffer[int8](rng, n, i%4), newBuffer[int8](rng, n, (i+1)%4)
			for j := range n {
				a.s()[j], b.s()[j] = int8(j), int8(j*7+i)
				if i%3 == 0 { // extremes
					a.s()[j], b.s()[j] = int8(-128+255*(j%2)), int8(-128+255*(j/2%2))
				}
			}
			ina, inb := append([]int8(nil), a.s()...), append([]int8(nil), b.s()...)
			dst := [3]*buffer[int8]{newBuffer[int8](rng, n, (i+2)%4), a, b}[alias]
			Add(dst.s(), a.s(), b.s(), &p)
			for _, buf := range []*buffer[int8]{dst, a, b} {
				buf.checkGuards(t, "Add", func(int) bool { return true })
			}
			for j := range n {
				if got, want := dst.s()[j], naiveAdd(ina[j], inb[j], &p); got != want {
					t.Fatalf("n=%d alias=%d %+v: Add(%d, %d) = %d, want %d", n, alias, p, ina[j], inb[j], got, want)
				}
			}
		}
	}
}

// Input multipliers above 1 make the sum saturate, as SQADD does.
func TestAddSaturates(t *testing.T) {
	p := AddParams{MultA: math.MaxInt32, ShiftA: -31, MultB: math.MaxInt32, ShiftB: -31, MultOut: 1 << 30, ShiftOut: 25, ZeroOut: -3}
	a, b := []int8{127, -128, 127, 0}, []int8{127, -128, -128, 0}
	dst := make([]int8, 4)
	Add(dst, a, b, &p)
	for i, want := range []int8{29, -35, -3, -3} { // (+-2^31)/2/2^25 = +-32, then the zero point
		if dst[i] != want || naiveAdd(a[i], b[i], &p) != want {
			t.Errorf("Add(%d, %d) = %d (naive %d), want %d", a[i], b[i], dst[i], naiveAdd(a[i], b[i], &p), want)
		}
	}
}

// Output zero points at the edges of int8, of +-32640 (where the NEON
// kernel stops adding them to int16 values) and beyond, with and without
// negative shifts, on every pair of inputs and sums large enough to
// saturate.
func TestAddZeroOutEdges(t *testing.T) { forEachImplChecked(t, "Add", testAddZeroOutEdges) }

func testAddZeroOutEdges(t *testing.T) {
	var a, b [65536]int8
	for i := range a {
		a[i], b[i] = int8(i), int8(i>>8)
	}
	var dst [65536]int8
	for _, shift := range []int32{-2, 0, 3, 17} {
		for _, zo := range []int32{-128, 127, 32640, -32640, 32641, -32641, math.MinInt32, math.MaxInt32} {
			p := AddParams{ZeroA: 3, ZeroB: -7, ZeroOut: zo, MultA: 1 << 30, ShiftA: 0, MultB: 1518500250, ShiftB: 1,
				MultOut: math.MaxInt32, ShiftOut: shift}
			Add(dst[:], a[:], b[:], &p)
			for i, q := range dst {
				if want := naiveAdd(a[i], b[i], &p); q != want {
					t.Fatalf("ZeroOut %d ShiftOut %d: Add(%d, %d) = %d, want %d", zo, shift, a[i], b[i], q, want)
				}
			}
		}
	}
}

// Every pair of inputs with multipliers so small, or shifts so large, that
// the low bits of each input's term reach the output (an output
// requantization of exactly 1 after its left shift), where parameters
// from NewAddParams leave them below one output step.
func TestAddLowBits(t *testing.T) { forEachImplChecked(t, "Add", testAddLowBits) }

func testAddLowBits(t *testing.T) {
	var a, b [65536]int8
	for i := range a {
		a[i], b[i] = int8(i), int8(i>>8)
	}
	var dst [65536]int8
	for _, p := range []AddParams{
		{ZeroA: 5, MultA: 1000, ShiftA: 0, ZeroB: -9, MultB: -777, ShiftB: 1},
		{ZeroA: -128, MultA: 2047, ShiftA: 1, ZeroB: 127, MultB: 2048, ShiftB: 2},
		{ZeroA: 17, MultA: -3*2048 - 5, ShiftA: 3, ZeroB: 0, MultB: 4095, ShiftB: 0},
		{ZeroA: -3, MultA: 1<<30 + 12345, ShiftA: 21, ZeroB: 100, MultB: math.MinInt32, ShiftB: 22},
		{ZeroA: 0, MultA: math.MaxInt32, ShiftA: 23, ZeroB: -1, MultB: -(1 << 30) - 2049, ShiftB: 22},
	} {
		p.MultOut, p.ShiftOut, p.ZeroOut = 1<<30, -1, 3
		Add(dst[:], a[:], b[:], &p)
		for i, q := range dst {
			if want := naiveAdd(a[i], b[i], &p); q != want {
				t.Fatalf("%+v: Add(%d, %d) = %d, want %d", p, a[i], b[i], q, want)
			}
		}
	}
}

// Every pair of inputs, for random scales in [1e-3, 10]: within 1 of the
// exact real sum (clamped to int8).
func TestAddAccuracy(t *testing.T) { forEachImplChecked(t, "Add", testAddAccuracy) }

func testAddAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 43))
	n := 200
	if testing.Short() {
		n = 10
	}
	var a, b [65536]int8
	for i := range a {
		a[i], b[i] = int8(i), int8(i>>8)
	}
	var dst [65536]int8
	maxErr := 0.0
	for range n {
		sa, sb, so := randScale(rng), randScale(rng), randScale(rng)
		za, zb, zo := int32(rng.IntN(256)-128), int32(rng.IntN(256)-128), int32(rng.IntN(256)-128)
		p := NewAddParams(sa, za, sb, zb, so, zo)
		Add(dst[:], a[:], b[:], &p)
		for i, q := range dst {
			exact := float64(zo) + (sa*float64(int32(a[i])-za)+sb*float64(int32(b[i])-zb))/so
			e := math.Abs(float64(q) - math.Min(math.Max(exact, -128), 127))
			if e > 1 {
				t.Fatalf("scales %g %g %g zero points %d %d %d: Add(%d, %d) = %d, exact %g", sa, sb, so, za, zb, zo, a[i], b[i], q, exact)
			}
			maxErr = max(maxErr, e)
		}
	}
	t.Logf("max |q - exact| = %.4f LSB", maxErr)
	if maxErr > 0.55 { // 0.5 from the final rounding, < 0.02 from the fixed point
		t.Errorf("max error %.4f LSB, want <= 0.55", maxErr)
	}
}

func TestAddPanics(t *testing.T) {
	p := NewAddParams(1, 0, 1, 0, 1, 0)
	s3, s4 := make([]int8, 3), make([]int8, 4)
	expectPanic(t, "lengths differ", func() { Add(s3, s3, s4, &p) })
	expectPanic(t, "lengths differ", func() { Add(s4, s3, s3, &p) })
	expectPanic(t, "nil AddParams", func() { Add(s3, s3, s3, nil) })
	expectPanic(t, "zero point", func() { Add(s3, s3, s3, &AddParams{ZeroA: 128}) })
	expectPanic(t, "zero point", func() { Add(s3, s3, s3, &AddParams{ZeroB: -129}) })
	expectPanic(t, "shift out of range", func() { Add(s3, s3, s3, &AddParams{ShiftOut: 32}) })
	expectPanic(t, "shift out of range", func() { Add(s3, s3, s3, &AddParams{ShiftA: -32}) })
	for _, s := range []float64{0, -1, math.Inf(1), math.NaN()} {
		expectPanic(t, "scale", func() { NewAddParams(1, 0, 1, 0, s, 0) })
		expectPanic(t, "scale", func() { NewAddParams(s, 0, 1, 0, 1, 0) })
	}
	expectPanic(t, "zero point", func() { NewAddParams(1, 128, 1, 0, 1, 0) })
	expectPanic(t, "zero point", func() { NewAddParams(1, 0, 1, 0, 1, -129) })
}

func TestAddNoAllocs(t *testing.T) { forEachImplChecked(t, "Add", testAddNoAllocs) }

func testAddNoAllocs(t *testing.T) {
	p := NewAddParams(0.1, 3, 0.2, -5, 0.25, 1)
	a, b, dst := make([]int8, 1000), make([]int8, 1000), make([]int8, 1000)
	if n := testing.AllocsPerRun(10, func() { Add(dst, a, b, &p) }); n != 0 {
		t.Errorf("Add: %v allocations", n)
	}
}

func FuzzAdd(f *testing.F) {
	for i, n := range sizes {
		f.Add(int64(i), uint8(i), make([]byte, 2*n))
		f.Add(int64(-i), uint8(3*i), []byte{0x80, 0x7f, 0x7f, 0x80, 0x80, 0x80, 0x7f, 0x7f})
	}
	f.Fuzz(func(t *testing.T, seed int64, opts uint8, data []byte) {
		rng := rand.New(rand.NewPCG(uint64(seed), 4))
		p := randAddParams(rng)
		n := len(data) / 2
		a, b := newBuffer[int8](rng, n, int(opts%4)), newBuffer[int8](rng, n, int(opts/4%4))
		for i := range n {
			a.s()[i], b.s()[i] = int8(data[2*i]), int8(data[2*i+1])
		}
		ina, inb := append([]int8(nil), a.s()...), append([]int8(nil), b.s()...)
		dst := [3]*buffer[int8]{newBuffer[int8](rng, n, int(opts/16%4)), a, b}[int(opts/64)%3]
		Add(dst.s(), a.s(), b.s(), &p)
		dst.checkGuards(t, "Add", func(int) bool { return true })
		for i := range n {
			if got, want := dst.s()[i], naiveAdd(ina[i], inb[i], &p); got != want {
				t.Fatalf("%+v: Add(%d, %d) = %d, want %d", p, ina[i], inb[i], got, want)
			}
		}
	})
}
