package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naiveExp is round(2^15 * 2^(-i/256)), by math.Pow rather than math.Exp2.
func naiveExp(i int64) int64 { return int64(math.Round(32768 * math.Pow(2, -float64(i)/256))) }

func naiveSoftmax(logits, post []int32, p *SoftmaxParams) []int8 {
	mx := int64(math.MinInt64)
	for _, l := range logits {
		mx = max(mx, int64(l))
	}
	es := make([]int64, len(logits))
	var sum int64
	for j, l := range logits {
		t := min(mx-int64(l), math.MaxInt32)
		z := clamp(formulaRequantNoZP(int32(t), p.ExpMult, p.ExpShift), 0, 4095)
		es[j] = naiveExp(z%256) >> (z / 256)
		sum += es[j]
	}
	out := make([]int8, len(logits))
	if len(logits) == 0 {
		return out
	}
	r := (int64(p.Q)<<22 + sum/2) / sum
	for j, e := range es {
		var q int64
		if post == nil {
			q = (e*r+1<<21)>>22 + int64(p.ZeroPoint)
		} else {
			v := (e*r)>>14 + int64(post[j])
			q = (v+128)>>8 + int64(p.ZeroPoint)
		}
		out[j] = int8(clamp(q, -128, 127))
	}
	return out
}

func TestExpTable(t *testing.T) {
	for i, want := range map[int]int32{0: 32768, 1: 32679, 64: 27554, 128: 23170, 192: 19484, 255: 16428} {
		if expTable[i] != want {
			t.Errorf("expTable[%d] = %d, want %d", i, expTable[i], want)
		}
	}
	var sum int64
	for i, v := range expTable {
		sum += int64(v)
		if int64(v) != naiveExp(int64(i)) {
			t.Errorf("expTable[%d] = %d, math.Pow gives %d", i, v, naiveExp(int64(i)))
		}
		if i > 0 && v >= expTable[i-1] {
			t.Errorf("expTable[%d] = %d not below expTable[%d] = %d", i, v, i-1, expTable[i-1])
		}
		// Far from a rounding tie, so the last bits of Exp2 cannot matter.
		if x := 32768 * math.Exp2(-float64(i)/256); math.Abs(math.Abs(x-math.Floor(x))-0.5) < 1e-4 {
			t.Errorf("expTable[%d]: %v is close to a tie", i, x)
		}
	}
	if sum != 6059301 {
		t.Errorf("sum of expTable = %d, want 6059301", sum)
	}
}

// randSoftmaxParams: mostly from NewSoftmaxParams, sometimes arbitrary.
func randSoftmaxParams(rng *rand.Rand) SoftmaxParams {
	q := int32(1 + rng.IntN(255))
	if rng.IntN(4) == 0 {
		zp := int32(rng.IntN(256) - 128)
		if rng.IntN(4) == 0 {
			zp = int32(rng.Uint32())
		}
		return SoftmaxParams{ExpMult: int32(rng.Uint32()), ExpShift: int32(rng.IntN(63) - 31), Q: q, ZeroPoint: zp}
	}
	return NewSoftmaxParams(math.Exp(rng.Float64()*math.Log(1e5))*1e-5, q, int32(rng.IntN(256)-128))
}

func randLogits(rng *rand.Rand, l []int32, mode int) {
	bits := rng.IntN(32)
	for j := range l {
		switch mode {
		case 0: // uniform, any width
			l[j] = int32(rng.Uint32()) >> (31 - bits)
		case 1: // all equal
			l[j] = 12345
		case 2: // int32 extremes: mx - l overflows int32
			l[j] = [...]int32{math.MinInt32, math.MaxInt32, 0, math.MinInt32 + 1}[rng.IntN(4)]
		case 3: // a few large, many small
			l[j] = int32(rng.NormFloat64() * 300)
		}
	}
}

func TestSoftmaxRow(t *testing.T) { forEachImplChecked(t, "SoftmaxRow", testSoftmaxRow) }

func testSoftmaxRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(50, 51))
	lens := append([]int{49, 196, 197, 256, 257, 1024, 1025}, sizes...) // over 256: the vector paths' long-row loop
	for i, n := range lens {
		for mode := range 4 {
			for _, withPost := range []bool{false, true} {
				p := randSoftmaxParams(rng)
				logits := make([]int32, n+i%4)[i%4:]
				randLogits(rng, logits, mode)
				var post []int32
				if withPost {
					post = make([]int32, n)
					for j := range post {
						post[j] = rng.Int32N(4*256*p.Q) - 2*256*p.Q
						if rng.IntN(16) == 0 {
							post[j] = [...]int32{math.MinInt32, math.MaxInt32}[rng.IntN(2)]
						}
					}
				}
				dst := newBuffer[int8](rng, n, (i+mode)%4)
				SoftmaxRow(dst.s(), logits, post, &p)
				name := fmt.Sprintf("n=%d mode=%d post=%v %+v", n, mode, withPost, p)
				dst.checkGuards(t, name, func(int) bool { return true })
				want := naiveSoftmax(logits, post, &p)
				for j := range n {
					if dst.s()[j] != want[j] {
						t.Fatalf("%s: dst[%d] = %d, want %d", name, j, dst.s()[j], want[j])
					}
				}
			}
		}
	}
}

// softmaxError runs a random row of real logits with standard deviation
// sigma and returns the largest |q - exact| in output steps, exact =
// clamp(Q*(p + bias) + ZeroPoint).
func softmaxError(rng *rand.Rand, n int, sigma float64, q, zp int32, withPost bool) float64 {
	scale := math.Exp(rng.Float64()*math.Log(100)) * 1e-3 // [1e-3, 0.1]
	p := NewSoftmaxParams(scale, q, zp)
	logits := make([]int32, n)
	real := make([]float64, n)
	mx := math.Inf(-1)
	for j := range logits {
		logits[j] = int32(math.Round(rng.NormFloat64() * sigma / scale))
		real[j] = float64(logits[j]) * scale
		mx = max(mx, real[j])
	}
	var sum float64
	for _, r := range real {
		sum += math.Exp(r - mx)
	}
	var post []int32
	if withPost {
		post = make([]int32, n)
		for j := range post {
			post[j] = int32(math.Round((rng.Float64() - 0.5) * float64(q) * 256))
		}
	}
	dst := make([]int8, n)
	SoftmaxRow(dst, logits, post, &p)
	worst := 0.0
	for j, r := range real {
		exact := float64(q)*math.Exp(r-mx)/sum + float64(zp)
		if post != nil {
			exact += float64(post[j]) / 256
		}
		worst = max(worst, math.Abs(float64(dst[j])-math.Min(math.Max(exact, -128), 127)))
	}
	return worst
}

// Against float64 softmax: within 1.5 output steps (1.5/Q in probability).
func TestSoftmaxAccuracy(t *testing.T) { forEachImplChecked(t, "SoftmaxRow", testSoftmaxAccuracy) }

func testSoftmaxAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(52, 53))
	trials := 200
	if testing.Short() {
		trials = 20
	}
	for _, withPost := range []bool{false, true} {
		for _, qz := range [][2]int32{{255, -128}, {127, 0}, {100, -50}, {16, 0}, {1, 0}} {
			worst := 0.0
			for _, n := range []int{1, 2, 7, 49, 196} {
				for _, sigma := range []float64{0.1, 1, 3, 10} {
					for range trials {
						worst = max(worst, softmaxError(rng, n, sigma, qz[0], qz[1], withPost))
					}
				}
			}
			t.Logf("post=%v Q=%d zp=%d: max |q - exact| = %.3f steps", withPost, qz[0], qz[1], worst)
			if worst > 1.5 {
				t.Errorf("post=%v Q=%d zp=%d: max error %.3f steps > 1.5", withPost, qz[0], qz[1], worst)
			}
		}
	}
}

// The worst rows: one large logit and n-1 equal small ones whose e_j the
// shift truncates (each by less than one unit of 2^-15), so the sum is short
// by up to n-1 units. The error stays within 0.75 + Q*(n-1)/32768 steps:
// 1.12 for n = 49 and 2.27 for n = 196 at Q = 255 (measured 0.86 and 1.92).
func TestSoftmaxTails(t *testing.T) { forEachImplChecked(t, "SoftmaxRow", testSoftmaxTails) }

func testSoftmaxTails(t *testing.T) {
	for _, n := range []int{49, 196} {
		for _, scale := range []float64{0.001, 0.05} {
			const q = 255
			p := NewSoftmaxParams(scale, q, -128)
			logits, real, dst := make([]int32, n), make([]float64, n), make([]int8, n)
			bound := 0.75 + q*float64(n-1)/32768
			worst := 0.0
			for x := 3.0; x < 14; x += 0.003 {
				var sum float64
				for j := range logits {
					if j > 0 {
						logits[j] = int32(math.Round(-x / scale))
					}
					real[j] = float64(logits[j]) * scale
					sum += math.Exp(real[j])
				}
				SoftmaxRow(dst, logits, nil, &p)
				for j, r := range real {
					worst = max(worst, math.Abs(float64(dst[j])-(q*math.Exp(r)/sum-128)))
				}
			}
			t.Logf("n=%d scale=%g: max |q - exact| = %.3f steps (bound %.3f)", n, scale, worst, bound)
			if worst > bound {
				t.Errorf("n=%d scale=%g: max error %.3f steps > %.3f", n, scale, worst, bound)
			}
		}
	}
}

func TestSoftmaxPanics(t *testing.T) {
	p := NewSoftmaxParams(0.01, 255, -128)
	l3, d3 := make([]int32, 3), make([]int8, 3)
	expectPanic(t, "lengths differ", func() { SoftmaxRow(d3[:2], l3, nil, &p) })
	expectPanic(t, "postBiasQ8", func() { SoftmaxRow(d3, l3, make([]int32, 2), &p) })
	expectPanic(t, "nil SoftmaxParams", func() { SoftmaxRow(d3, l3, nil, nil) })
	expectPanic(t, "Q out of range", func() { SoftmaxRow(d3, l3, nil, &SoftmaxParams{Q: 0}) })
	expectPanic(t, "Q out of range", func() { SoftmaxRow(d3, l3, nil, &SoftmaxParams{Q: 256}) })
	expectPanic(t, "shift out of range", func() { SoftmaxRow(d3, l3, nil, &SoftmaxParams{Q: 1, ExpShift: 32}) })
	expectPanic(t, "Q out of range", func() { NewSoftmaxParams(1, 0, 0) })
	for _, s := range []float64{0, -1, math.Inf(1), math.NaN()} {
		expectPanic(t, "scale", func() { NewSoftmaxParams(s, 255, 0) })
	}
	SoftmaxRow(nil, nil, nil, &p)
}

func TestSoftmaxNoAllocs(t *testing.T) { forEachImplChecked(t, "SoftmaxRow", testSoftmaxNoAllocs) }

func testSoftmaxNoAllocs(t *testing.T) {
	p := NewSoftmaxParams(0.01, 255, -128)
	logits, post, dst := make([]int32, 196), make([]int32, 196), make([]int8, 196)
	if a := testing.AllocsPerRun(10, func() { SoftmaxRow(dst, logits, nil, &p) }); a != 0 {
		t.Errorf("SoftmaxRow: %v allocations", a)
	}
	if a := testing.AllocsPerRun(10, func() { SoftmaxRow(dst, logits, post, &p) }); a != 0 {
		t.Errorf("SoftmaxRow post: %v allocations", a)
	}
}

func FuzzSoftmaxRow(f *testing.F) {
	for i, n := range sizes {
		f.Add(int32(1<<30+i), int8(i%63-31), uint8(255-i), int32(-128), i%2 == 1, make([]byte, 4*n))
		f.Add(int32(-i), int8(-31+i), uint8(i), int32(0), i%2 == 0, []byte{0x80, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	}
	f.Fuzz(func(t *testing.T, mult int32, shift int8, q uint8, zp int32, withPost bool, data []byte) {
		p := SoftmaxParams{ExpMult: mult, ExpShift: int32(shift) % 32, Q: max(int32(q), 1), ZeroPoint: zp}
		n := len(data) / 4
		if withPost {
			n = len(data) / 8
		}
		logits := make([]int32, n)
		for j := range logits {
			logits[j] = int32(uint32(data[4*j])<<24 | uint32(data[4*j+1])<<16 | uint32(data[4*j+2])<<8 | uint32(data[4*j+3]))
		}
		var post []int32
		if withPost {
			post = make([]int32, n)
			for j := range post {
				b := data[4*n+4*j:]
				post[j] = int32(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))
			}
		}
		dst := newBuffer[int8](rand.New(rand.NewPCG(uint64(n), 5)), n, int(q%4))
		SoftmaxRow(dst.s(), logits, post, &p)
		dst.checkGuards(t, "SoftmaxRow", func(int) bool { return true })
		want := naiveSoftmax(logits, post, &p)
		for j := range n {
			if dst.s()[j] != want[j] {
				t.Fatalf("%+v: dst[%d] = %d, want %d", p, j, dst.s()[j], want[j])
			}
		}
	})
}
