package kernels

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
)

// bigRequantNoZP is steps 1-3 in arbitrary precision: no special cases,
// saturation where the documentation says so.
func bigRequantNoZP(acc, mult, shift int32) *big.Int {
	lo, hi := big.NewInt(math.MinInt32), big.NewInt(math.MaxInt32)
	sat := func(x *big.Int) {
		if x.Cmp(lo) < 0 {
			x.Set(lo)
		} else if x.Cmp(hi) > 0 {
			x.Set(hi)
		}
	}
	a := big.NewInt(int64(acc))
	if shift < 0 {
		a.Lsh(a, uint(-shift))
		sat(a)
	}
	x := new(big.Int).Mul(a, big.NewInt(int64(mult)))
	x.Lsh(x, 1)
	x.Add(x, big.NewInt(1<<31))
	x.Rsh(x, 32) // big.Int shifts floor, like ASR
	sat(x)
	if shift > 0 {
		x.Add(x, big.NewInt(1<<(shift-1)))
		x.Rsh(x, uint(shift))
	}
	return x
}

func bigApply(acc, mult, shift, zp int32) int8 {
	x := bigRequantNoZP(acc, mult, shift)
	x.Add(x, big.NewInt(int64(zp)))
	if x.Cmp(big.NewInt(-128)) < 0 {
		return -128
	}
	if x.Cmp(big.NewInt(127)) > 0 {
		return 127
	}
	return int8(x.Int64())
}

// checkRequant compares Apply, RequantizeNoZP and the naive formula with
// the arbitrary-precision definition.
func checkRequant(t *testing.T, acc, mult, shift, zp int32) {
	t.Helper()
	want := bigRequantNoZP(acc, mult, shift)
	if !want.IsInt64() || want.Int64() < math.MinInt32 || want.Int64() > math.MaxInt32 {
		t.Fatalf("acc=%d mult=%d shift=%d: steps 1-3 give %v, not an int32", acc, mult, shift, want)
	}
	if got := RequantizeNoZP(acc, mult, shift); int64(got) != want.Int64() {
		t.Fatalf("RequantizeNoZP(%d, %d, %d) = %d, want %v", acc, mult, shift, got, want)
	}
	if got := formulaRequantNoZP(acc, mult, shift); got != want.Int64() {
		t.Fatalf("formulaRequantNoZP(%d, %d, %d) = %d, want %v", acc, mult, shift, got, want)
	}
	rq := Requant{Mult: []int32{mult}, Shift: []int32{shift}, ZeroPoint: zp}
	if got, w := rq.Apply(acc, 5), bigApply(acc, mult, shift, zp); got != w {
		t.Fatalf("Apply(%d) mult=%d shift=%d zp=%d = %d, want %d", acc, mult, shift, zp, got, w)
	}
}

func TestRequantExact(t *testing.T) {
	accs := []int32{math.MinInt32, math.MinInt32 + 1, -1 << 30, -65536, -129, -2, -1, 0, 1, 2, 127, 65535, 1 << 30, math.MaxInt32 - 1, math.MaxInt32}
	mults := []int32{math.MinInt32, math.MinInt32 + 1, -1 << 30, -1, 0, 1, 1 << 30, 1<<30 + 1, 1518500250, math.MaxInt32}
	zps := []int32{math.MinInt32, -128, 0, 3, 127, math.MaxInt32}
	for _, acc := range accs {
		for _, mult := range mults {
			for shift := int32(-31); shift <= 31; shift++ {
				for _, zp := range zps {
					checkRequant(t, acc, mult, shift, zp)
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	n := 200000
	if testing.Short() {
		n = 20000
	}
	for range n {
		acc, mult := int32(rng.Uint32()), int32(rng.Uint32())
		if rng.IntN(2) == 0 {
			acc >>= rng.IntN(32)
		}
		checkRequant(t, acc, mult, int32(rng.IntN(63)-31), int32(rng.IntN(256)-128))
	}
}

// Rounding is half toward +infinity in both the multiply and the shift.
func TestRequantRounding(t *testing.T) {
	half := int32(1 << 30) // real 1/2
	for _, c := range []struct{ acc, shift, want int32 }{
		{3, 0, 2},   // 1.5 -> 2
		{-3, 0, -1}, // -1.5 -> -1
		{1, 0, 1},   // 0.5 -> 1
		{-1, 0, 0},  // -0.5 -> 0
		{6, 1, 2},   // 1.5 -> 2
		{-6, 1, -1}, // -1.5 -> -1
		{-2, 1, 0},  // -0.5 -> 0
		{3, -1, 3},  // 3*2*0.5
	} {
		if got := RequantizeNoZP(c.acc, half, c.shift); got != c.want {
			t.Errorf("RequantizeNoZP(%d, 2^30, %d) = %d, want %d", c.acc, c.shift, got, c.want)
		}
	}
	// Saturation of the left shift, and of SQRDMULH at -2^31 * -2^31.
	if got := RequantizeNoZP(1<<30, 1<<30, -2); got != math.MaxInt32/2+1 {
		t.Errorf("saturated left shift: got %d", got)
	}
	if got := RequantizeNoZP(math.MinInt32, math.MinInt32, 0); got != math.MaxInt32 {
		t.Errorf("sqrdmulh(-2^31, -2^31) = %d, want 2^31-1", got)
	}
}

// ratRound is floor(r + 1/2).
func ratRound(r *big.Rat) *big.Int {
	num := new(big.Int).Mul(r.Num(), big.NewInt(2))
	num.Add(num, r.Denom())
	den := new(big.Int).Mul(r.Denom(), big.NewInt(2))
	return num.Div(num, den) // Euclidean: floor for a positive divisor
}

// The requantized value is within 1 of round(acc*real) + zp, computed
// exactly, for reals encoded by QuantizeMultiplier.
func TestRequantRational(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := 100000
	if testing.Short() {
		n = 10000
	}
	maxErr := 0.0 // |q - clamp(acc*real + zp)|
	for i := range n {
		real := math.Exp2(rng.Float64()*64 - 34)
		if i%2 == 1 {
			real = -real
		}
		mult, shift := QuantizeMultiplier(real)
		zp := int32(rng.IntN(256) - 128)
		var acc int32
		switch rng.IntN(3) {
		case 0:
			acc = int32(rng.Uint32())
		default: // land near the int8 range
			acc = int32(clamp(int64(math.Round((rng.Float64()*600-300)/real)), math.MinInt32, math.MaxInt32))
		}
		q := (&Requant{Mult: []int32{mult}, Shift: []int32{shift}, ZeroPoint: zp}).Apply(acc, 0)
		y := new(big.Rat).Mul(new(big.Rat).SetInt64(int64(acc)), new(big.Rat).SetFloat64(real))
		r := ratRound(y)
		r.Add(r, big.NewInt(int64(zp)))
		want := clamp(clampBig(r), -128, 127)
		if d := int64(q) - want; d < -1 || d > 1 {
			t.Fatalf("acc=%d real=%g (mult=%d shift=%d) zp=%d: got %d, round(acc*real)+zp = %d", acc, real, mult, shift, zp, q, want)
		}
		yz, _ := new(big.Rat).Add(y, new(big.Rat).SetInt64(int64(zp))).Float64()
		maxErr = max(maxErr, math.Abs(float64(q)-math.Min(math.Max(yz, -128), 127)))
	}
	t.Logf("max |q - clamp(acc*real + zp)| = %.4f", maxErr)
	if maxErr > 1 {
		t.Errorf("max error %g > 1", maxErr)
	}
}

func clampBig(x *big.Int) int64 {
	if x.Cmp(big.NewInt(math.MinInt32)) < 0 {
		return math.MinInt32
	}
	if x.Cmp(big.NewInt(math.MaxInt32)) > 0 {
		return math.MaxInt32
	}
	return x.Int64()
}

func TestRequantChannels(t *testing.T) {
	rq := &Requant{Mult: []int32{1 << 30, 1 << 30, 1 << 30}, Shift: []int32{0, -1, 1}, ZeroPoint: 1}
	for c, want := range []int8{51, 101, 26} {
		if got := rq.Apply(100, c); got != want {
			t.Errorf("channel %d: got %d, want %d", c, got, want)
		}
	}
	pt := &Requant{Mult: []int32{1 << 30}, Shift: []int32{-1}}
	if got := pt.Apply(100, 7); got != 100 {
		t.Errorf("per-tensor: got %d, want 100", got)
	}
	expectPanic(t, "shift out of range", func() { (&Requant{Mult: []int32{1}, Shift: []int32{32}}).Apply(1, 0) })
	expectPanic(t, "shift out of range", func() { RequantizeNoZP(1, 1, -32) })
}

func TestQuantizeMultiplier(t *testing.T) {
	for _, c := range []struct {
		real        float64
		mult, shift int32
	}{
		{0, 0, 0},
		{math.Copysign(0, -1), 0, 0},
		{1, 1 << 30, -1},
		{-1, -1 << 30, -1},
		{0.5, 1 << 30, 0},
		{0.75, 1610612736, 0},
		{-0.75, -1610612736, 0},
		{1 - 0x1p-40, 1 << 30, -1}, // rounds up to 2^31: renormalized
		{-(1 - 0x1p-40), -1 << 30, -1},
		{0x1p-32, 1 << 30, 31},
		{0x1p-32 * (1 - 0x1p-40), 1 << 30, 31}, // rounds up into range
		{0x1p-33, 0, 0},                        // too small: always requantizes to 0
		{-0x1p-40, 0, 0},
		{math.MaxInt32, math.MaxInt32, -31},
		{0x1p31 - 0.75, math.MaxInt32, -31},
		{math.SmallestNonzeroFloat64, 0, 0},
	} {
		m, s := QuantizeMultiplier(c.real)
		if m != c.mult || s != c.shift {
			t.Errorf("QuantizeMultiplier(%g) = (%d, %d), want (%d, %d)", c.real, m, s, c.mult, c.shift)
		}
	}
	for _, r := range []float64{0x1p31 - 0.5, 0x1p31, -0x1p31, 1e300, math.Inf(1), math.Inf(-1), math.NaN()} {
		expectPanic(t, "QuantizeMultiplier", func() { QuantizeMultiplier(r) })
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 100000 {
		real := math.Exp2(rng.Float64()*62.9 - 31.9)
		if i%2 == 1 {
			real = -real
		}
		m, s := QuantizeMultiplier(real)
		if a := int64(m); a < 0 && -a < 1<<30 || a >= 0 && a < 1<<30 || s < -31 || s > 31 {
			t.Fatalf("QuantizeMultiplier(%g) = (%d, %d) out of range", real, m, s)
		}
		approx := math.Ldexp(float64(m), int(-31-s))
		if math.Abs(approx-real) > math.Abs(real)*0x1p-31 {
			t.Fatalf("QuantizeMultiplier(%g) = (%d, %d) = %g", real, m, s, approx)
		}
	}
}

func FuzzRequant(f *testing.F) {
	for _, acc := range []int32{math.MinInt32, -1, 0, 1, math.MaxInt32} {
		for _, mult := range []int32{math.MinInt32, -1 << 30, 1 << 30, math.MaxInt32} {
			for _, shift := range []int8{-31, -1, 0, 1, 31} {
				f.Add(acc, mult, shift, int32(-128))
			}
		}
	}
	f.Fuzz(func(t *testing.T, acc, mult int32, shift int8, zp int32) {
		checkRequant(t, acc, mult, int32(shift)%32, zp)
	})
}

// TestRequantCheck: Check refuses what check refuses, and the left-shift
// flag it remembers is the one the kernels would find by scanning.
func TestRequantCheck(t *testing.T) {
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Check took a shift of 40")
			}
		}()
		(&Requant{Mult: []int32{1 << 30}, Shift: []int32{40}}).Check()
	}()
	for _, shifts := range [][]int32{{3}, {-2}, {0, 5, 31}, {7, -31, 2}} {
		rq := Requant{Mult: make([]int32, len(shifts)), Shift: shifts}
		before := rq.leftShifts()
		rq.Check()
		if got, want := rq.leftShifts(), slices.ContainsFunc(shifts, func(s int32) bool { return s < 0 }); got != want || before != want {
			t.Errorf("shifts %v: leftShifts %v before Check, %v after, want %v", shifts, before, got, want)
		}
	}
	for _, mults := range [][]int32{{1 << 30}, {math.MinInt32}, {5, math.MinInt32 + 1, -1}, {7, 3, math.MinInt32}} {
		rq := Requant{Mult: mults, Shift: make([]int32, len(mults))}
		before := rq.saturatingMults()
		rq.Check()
		if got, want := rq.saturatingMults(), slices.Contains(mults, math.MinInt32); got != want || before != want {
			t.Errorf("mults %v: saturatingMults %v before Check, %v after, want %v", mults, before, got, want)
		}
	}
}
