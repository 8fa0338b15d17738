package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naiveGemm is the accumulator of row r, channel c: bias + dot, in int64
// and then wrapped to int32 as documented.
func naiveGemmAcc(src []int8, ldSrc int, w []int8, k int, bias []int32, r, c int) int64 {
	var acc int64
	if bias != nil {
		acc = int64(bias[c])
	}
	for i := 0; i < k; i++ {
		acc += int64(src[r*ldSrc+i]) * int64(w[c*k+i])
	}
	return int64(int32(acc))
}

// gemmCase is one differential test of GemmRequant or GemmInt32.
type gemmCase struct {
	rows, m, k     int
	padSrc, padDst int // leading dimension = row width + pad
	offSrc, offDst int // misaligned starts
	perTensor      bool
	noBias         bool
	fill           int // 0 random; 1..4 int8 extremes
	int32Out       bool
}

func (c gemmCase) String() string {
	return fmt.Sprintf("rows=%d,m=%d,k=%d,pad=%d/%d,off=%d/%d,pt=%v,nobias=%v,fill=%d,int32=%v",
		c.rows, c.m, c.k, c.padSrc, c.padDst, c.offSrc, c.offDst, c.perTensor, c.noBias, c.fill, c.int32Out)
}

// gemmInputs builds src (rows x k, leading dimension ldSrc, random values in
// the padding), w and bias for a case.
func gemmInputs(rng *rand.Rand, c gemmCase) (src []int8, ldSrc int, w []int8, bias []int32) {
	ldSrc = c.k + c.padSrc
	n := 0
	if c.rows > 0 {
		n = (c.rows-1)*ldSrc + c.k
	}
	src = newBuffer[int8](rng, n, c.offSrc).s()
	w = make([]int8, c.m*c.k+c.offSrc)[c.offSrc:]
	if !c.noBias {
		bias = make([]int32, c.m)
	}
	randInt8s(rng, src)
	randWeights(rng, w)
	for i := range bias {
		bias[i] = rng.Int32N(1<<21) - 1<<20
	}
	extreme := func(s []int8, a, b int8) {
		for i := range s {
			s[i] = a
			if c.fill == 4 && rng.IntN(2) == 0 {
				s[i] = b
			}
		}
	}
	switch c.fill {
	case 1: // largest positive sums
		extreme(src, 127, 127)
		extreme(w, 127, 127)
	case 2: // largest negative sums
		extreme(src, -128, -128)
		extreme(w, 127, 127)
	case 3: // -128 * -127
		extreme(src, -128, -128)
		extreme(w, -127, -127)
	case 4:
		extreme(src, -128, 127)
		extreme(w, -127, 127)
	}
	if c.fill != 0 {
		for i := range bias {
			bias[i] = 1 << 30
			if (i+c.fill)%2 == 0 {
				bias[i] = -1 << 30
			}
		}
	}
	return src, ldSrc, w, bias
}

func runGemmCase(t *testing.T, rng *rand.Rand, c gemmCase) {
	t.Helper()
	src, ldSrc, w, bias := gemmInputs(rng, c)
	pw := PackWeights(w, c.m, c.k)
	ldDst := c.m + c.padDst
	n := 0
	if c.rows > 0 {
		n = (c.rows-1)*ldDst + c.m
	}
	written := func(i int) bool { return i%ldDst < c.m }
	calls := countGemmCalls(t)
	defer checkReachedKernel(t, calls, c.String(), c.rows > 0 && c.m > 0)
	if c.int32Out {
		dst := newBuffer[int32](rng, n, c.offDst)
		GemmInt32(dst.s(), ldDst, src, ldSrc, c.rows, pw)
		dst.checkGuards(t, c.String(), written)
		d := dst.s()
		for r := range c.rows {
			for ch := range c.m {
				if want := naiveGemmAcc(src, ldSrc, w, c.k, nil, r, ch); int64(d[r*ldDst+ch]) != want {
					t.Fatalf("%v: dst[%d][%d] = %d, want %d", c, r, ch, d[r*ldDst+ch], want)
				}
			}
		}
		return
	}
	rq := randRequant(rng, c.m, c.perTensor, 74*74*math.Sqrt(float64(c.k)))
	dst := newBuffer[int8](rng, n, c.offDst)
	GemmRequant(dst.s(), ldDst, src, ldSrc, c.rows, pw, bias, rq)
	dst.checkGuards(t, c.String(), written)
	d := dst.s()
	for r := range c.rows {
		for ch := range c.m {
			want := formulaApply(naiveGemmAcc(src, ldSrc, w, c.k, bias, r, ch), rq, ch)
			if d[r*ldDst+ch] != want {
				t.Fatalf("%v: dst[%d][%d] = %d, want %d", c, r, ch, d[r*ldDst+ch], want)
			}
		}
	}
}

// checkReachedKernel fails unless the selected implementation's
// micro-kernel ran (when it is not the Go reference and there was work),
// and resets the counts.
func checkReachedKernel(t *testing.T, calls map[string]int, name string, work bool) {
	t.Helper()
	impl := gemmK.cur
	if impl != "go" && work && calls[impl] == 0 {
		t.Errorf("%s: the %s micro-kernel was not called (%v)", name, impl, calls)
	}
	if impl == "go" && len(calls) != 0 {
		t.Errorf("%s: micro-kernels called under the go implementation: %v", name, calls)
	}
	clear(calls)
}

// gemmSizes are the sizes around every tile and unroll boundary of the
// GEMM kernels: 4 rows, 4 (neon) and 16 (sdot) channels, 16 k.
var gemmSizes = []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65}

// gemmCases crosses every m with every k (rows, strides, offsets and
// options varying with them), sweeps rows, and repeats some shapes with
// int8 extremes.
func gemmCases(int32Out bool) []gemmCase {
	sizes := gemmSizes
	var cs []gemmCase
	for i, m := range sizes {
		for j, k := range sizes {
			cs = append(cs, gemmCase{
				rows: sizes[(i*5+j*3)%len(sizes)], m: m, k: k,
				padSrc: (i + j) % 4 * 3, padDst: (i + 2*j) % 3 * 5,
				offSrc: (i + j) % 4, offDst: (2*i + j) % 4,
				perTensor: (i*j)%3 == 0, noBias: (i+j)%5 == 0, int32Out: int32Out,
			})
		}
	}
	for i, rows := range sizes {
		for _, mk := range [][2]int{{1, 1}, {3, 9}, {17, 33}, {64, 64}, {20, 15}} {
			cs = append(cs, gemmCase{rows: rows, m: mk[0], k: mk[1], padSrc: i % 2, padDst: i % 3, offSrc: 1 + i%3, offDst: 3 - i%3, int32Out: int32Out})
		}
	}
	for fill := 1; fill <= 4; fill++ {
		for _, s := range [][3]int{{1, 1, 1}, {4, 16, 16}, {5, 17, 65}, {9, 33, 64}, {2, 65, 63}, {7, 48, 255}} {
			cs = append(cs, gemmCase{rows: s[0], m: s[1], k: s[2], padDst: 2, offSrc: fill % 4, offDst: 1, perTensor: fill == 2, fill: fill, int32Out: int32Out})
		}
	}
	return cs
}

func TestGemmRequant(t *testing.T) {
	forEachGemm(t, func(t *testing.T, impl string) {
		rng := rand.New(rand.NewPCG(10, 11))
		for _, c := range gemmCases(false) {
			runGemmCase(t, rng, c)
		}
	})
}

func TestGemmInt32(t *testing.T) {
	forEachGemm(t, func(t *testing.T, impl string) {
		rng := rand.New(rand.NewPCG(12, 13))
		for _, c := range gemmCases(true) {
			runGemmCase(t, rng, c)
		}
	})
}

// The requantization epilogue on every shift and on extreme accumulators,
// multipliers and zero points: with k = 0 the accumulator is the bias.
func TestGemmRequantEpilogue(t *testing.T) {
	accs := []int32{math.MinInt32, math.MinInt32 + 1, -1 << 30, -65536, -129, -2, -1, 0, 1, 2, 127, 65535, 1 << 30, math.MaxInt32 - 1, math.MaxInt32}
	mults := []int32{math.MinInt32, math.MinInt32 + 1, -1 << 30, -1, 0, 1, 1 << 30, 1<<30 + 1, 1518500250, math.MaxInt32}
	// ±32640 bound the zero points of the sdot kernel's common epilogue.
	zps := []int32{math.MinInt32, -32641, -32640, -128, 0, 3, 127, 32640, 32641, math.MaxInt32}
	var bias, mult, shift []int32
	for _, a := range accs {
		for _, mu := range mults {
			for s := int32(-31); s <= 31; s++ {
				bias, mult, shift = append(bias, a), append(mult, mu), append(shift, s)
			}
		}
	}
	m := len(bias)
	forEachGemm(t, func(t *testing.T, impl string) {
		calls := countGemmCalls(t)
		for _, k := range []int{0, 1} {
			w := make([]int8, m*k) // zero: the accumulator is the bias
			pw := PackWeights(w, m, k)
			rows := 5
			src := make([]int8, rows*k)
			for _, zp := range zps {
				rq := &Requant{Mult: mult, Shift: shift, ZeroPoint: zp}
				dst := make([]int8, rows*m)
				GemmRequant(dst, m, src, k, rows, pw, bias, rq)
				for r := range rows {
					for c := range m {
						if want := formulaApply(int64(bias[c]), rq, c); dst[r*m+c] != want {
							t.Fatalf("k=%d acc=%d mult=%d shift=%d zp=%d: %d, want %d", k, bias[c], mult[c], shift[c], zp, dst[r*m+c], want)
						}
					}
				}
			}
			// Per tensor: every (mult, shift) for all channels, biases accs.
			pa := PackWeights(make([]int8, len(accs)*k), len(accs), k)
			dst := make([]int8, rows*len(accs))
			for _, mu := range mults {
				for s := int32(-31); s <= 31; s++ {
					zp := zps[int(s+31)%len(zps)]
					rq := &Requant{Mult: []int32{mu}, Shift: []int32{s}, ZeroPoint: zp}
					GemmRequant(dst, len(accs), src, k, rows, pa, accs, rq)
					for r := range rows {
						for c, a := range accs {
							if want := formulaApply(int64(a), rq, c); dst[r*len(accs)+c] != want {
								t.Fatalf("per tensor k=%d acc=%d mult=%d shift=%d zp=%d: %d, want %d", k, a, mu, s, zp, dst[r*len(accs)+c], want)
							}
						}
					}
				}
			}
		}
		checkReachedKernel(t, calls, "epilogue", true)
	})
}

// gemmWhole is a random GEMM and its output in one call, which the split
// tests compare the output of their parts with.
type gemmWhole struct {
	rows, m, k, ld int
	src            []int8
	pw             *Weights
	bias           []int32
	rq             *Requant
	out            []int8
	out32          []int32
}

func newGemmWhole(rng *rand.Rand, rows, m, k, ld int, biased bool) *gemmWhole {
	g := &gemmWhole{rows: rows, m: m, k: k, ld: ld, src: make([]int8, rows*ld), bias: make([]int32, m)}
	w := make([]int8, m*k)
	randInt8s(rng, g.src)
	randWeights(rng, w)
	if biased {
		for i := range g.bias {
			g.bias[i] = rng.Int32N(20001) - 10000
		}
	}
	g.pw = PackWeights(w, m, k)
	g.rq = randRequant(rng, m, false, 74*74*7)
	g.out, g.out32 = make([]int8, rows*m), make([]int32, rows*m)
	GemmRequant(g.out, m, g.src, ld, rows, g.pw, g.bias, g.rq)
	GemmInt32(g.out32, m, g.src, ld, rows, g.pw)
	return g
}

// check compares the parts' int8 and int32 outputs with the whole's.
func (g *gemmWhole) check(t *testing.T, how string, parts []int8, parts32 []int32) {
	t.Helper()
	for i := range g.out {
		if parts[i] != g.out[i] || parts32[i] != g.out32[i] {
			t.Fatalf("%s, element %d: %d/%d, whole %d/%d", how, i, parts[i], parts32[i], g.out[i], g.out32[i])
		}
	}
}

// Splitting the rows into ranges gives the same output as one call.
func TestGemmSplit(t *testing.T) {
	forEachGemm(t, func(t *testing.T, impl string) {
		rng := rand.New(rand.NewPCG(14, 15))
		g := newGemmWhole(rng, 37, 19, 45, 50, false)
		rows, m, ld := g.rows, g.m, g.ld
		for range 20 {
			parts := make([]int8, rows*m)
			parts32 := make([]int32, rows*m)
			for r0 := 0; r0 < rows; {
				r1 := min(rows, r0+1+rng.IntN(9))
				GemmRequant(parts[r0*m:], m, g.src[r0*ld:], ld, r1-r0, g.pw, g.bias, g.rq)
				GemmInt32(parts32[r0*m:], m, g.src[r0*ld:], ld, r1-r0, g.pw)
				r0 = r1
			}
			g.check(t, "rows split", parts, parts32)
		}
	})
}

// A GEMM on channel views (Weights.Channels) computes those columns of
// the whole one, with each view's bias and per-channel parameters; ranges
// off the panel boundaries panic.
func TestGemmChannels(t *testing.T) {
	forEachGemm(t, func(t *testing.T, impl string) {
		g := newGemmWhole(rand.New(rand.NewPCG(16, 17)), 13, 83, 45, 50, true)
		rows, m, k, ld, pw, rq := g.rows, g.m, g.k, g.ld, g.pw, g.rq
		step := pw.ChannelStep()
		for _, chunk := range []int{step, 2 * step, 3 * step} {
			parts := make([]int8, rows*m)
			parts32 := make([]int32, rows*m)
			for c0 := 0; c0 < m; c0 += chunk {
				c1 := min(m, c0+chunk)
				v := pw.Channels(c0, c1)
				if v.M() != c1-c0 || v.K() != k {
					t.Fatalf("Channels(%d, %d) is %d x %d", c0, c1, v.M(), v.K())
				}
				vrq := &Requant{Mult: rq.Mult[c0:c1], Shift: rq.Shift[c0:c1], ZeroPoint: rq.ZeroPoint}
				GemmRequant(parts[c0:], m, g.src, ld, rows, v, g.bias[c0:c1], vrq)
				GemmInt32(parts32[c0:], m, g.src, ld, rows, v)
			}
			g.check(t, fmt.Sprintf("chunks of %d channels", chunk), parts, parts32)
		}
		if step > 1 {
			expectPanic(t, "panel boundaries", func() { pw.Channels(1, m) })
			expectPanic(t, "panel boundaries", func() { pw.Channels(0, step+1) })
		}
		expectPanic(t, "panel boundaries", func() { pw.Channels(0, m+1) })
	})
}

// Weights keep the implementation they were packed for, whichever is
// selected when they are used; Pack re-packs in place.
func TestWeights(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 19))
	rows, m, k := 6, 21, 37
	src := make([]int8, rows*k)
	randInt8s(rng, src)
	ws := [2][]int8{make([]int8, m*k), make([]int8, m*k)}
	for _, w := range ws {
		randWeights(rng, w)
	}
	want := [2][]int32{}
	for i, w := range ws {
		want[i] = make([]int32, rows*m)
		for r := range rows {
			for c := range m {
				want[i][r*m+c] = int32(naiveGemmAcc(src, k, w, k, nil, r, c))
			}
		}
	}
	packed := map[string]*Weights{}
	for _, impl := range gemmImplNames() {
		setGemmImpl(t, impl)
		p := NewWeights(m, k)
		if p.M() != m || p.K() != k {
			t.Fatalf("%s: M, K = %d, %d", impl, p.M(), p.K())
		}
		packed[impl] = p
	}
	dst := make([]int32, rows*m)
	for i, w := range ws {
		for _, sel := range gemmImplNames() {
			setGemmImpl(t, sel)
			for impl, p := range packed {
				p.Pack(w)
				GemmInt32(dst, m, src, k, rows, p)
				for j := range dst {
					if dst[j] != want[i][j] {
						t.Fatalf("packed for %s, %s selected, matrix %d: element %d = %d, want %d", impl, sel, i, j, dst[j], want[i][j])
					}
				}
			}
		}
	}
}

func TestGemmPanics(t *testing.T) {
	rq := &Requant{Mult: []int32{1 << 30}, Shift: []int32{0}}
	dst, src := make([]int8, 12), make([]int8, 12)
	w := NewWeights(3, 4)
	for _, c := range []struct {
		want string
		f    func()
	}{
		{"negative GEMM size", func() { GemmRequant(dst, 4, src, 4, -1, w, nil, rq) }},
		{"negative Weights size", func() { NewWeights(-1, 0) }},
		{"negative Weights size", func() { PackWeights(nil, 0, -1) }},
		{"nil Weights", func() { GemmInt32(nil, 0, src, 4, 1, nil) }},
		{"nil Weights", func() { GemmRequant(dst, 3, src, 4, 3, nil, nil, rq) }},
		{"leading dimension", func() { GemmRequant(dst, 2, src, 4, 3, w, nil, rq) }},
		{"leading dimension", func() { GemmRequant(dst, 3, src, 3, 3, w, nil, rq) }},
		{"length is not m*k", func() { w.Pack(make([]int8, 11)) }},
		{"length is not m*k", func() { PackWeights(make([]int8, 13), 3, 4) }},
		{"short src or dst", func() { GemmRequant(dst, 4, src, 4, 4, w, nil, rq) }},
		{"short src or dst", func() { GemmRequant(dst[:8], 3, src, 4, 3, w, nil, rq) }},
		{"short src or dst", func() { GemmInt32(make([]int32, 8), 3, src, 4, 3, w) }},
		{"bias length", func() { GemmRequant(dst, 3, src, 4, 3, w, make([]int32, 2), rq) }},
		{"nil Requant", func() { GemmRequant(dst, 3, src, 4, 3, w, nil, nil) }},
		{"lengths differ", func() {
			GemmRequant(dst, 3, src, 4, 3, w, nil, &Requant{Mult: []int32{1, 1, 1}, Shift: []int32{0}})
		}},
		{"1 or one per channel", func() {
			GemmRequant(dst, 3, src, 4, 3, w, nil, &Requant{Mult: []int32{1, 1}, Shift: []int32{0, 0}})
		}},
		{"shift out of range", func() {
			GemmRequant(dst, 3, src, 4, 3, w, nil, &Requant{Mult: []int32{1}, Shift: []int32{-32}})
		}},
	} {
		expectPanic(t, c.want, c.f)
	}
	// Zero rows, zero channels and k = 0 are valid.
	GemmRequant(nil, 0, nil, 0, 0, NewWeights(0, 0), nil, rq)
	GemmRequant(dst, 3, nil, 0, 3, NewWeights(3, 0), nil, rq)
	GemmInt32(nil, 0, src, 4, 3, NewWeights(0, 4))
}

func TestGemmNoAllocs(t *testing.T) {
	forEachGemm(t, func(t *testing.T, impl string) {
		rng := rand.New(rand.NewPCG(16, 17))
		for _, s := range [][3]int{{9, 33, 65}, {5, 17, 7}, {4, 16, 16}} {
			rows, m, k := s[0], s[1], s[2]
			src, w, dst, dst32 := make([]int8, rows*k), make([]int8, m*k), make([]int8, rows*m), make([]int32, rows*m)
			bias := make([]int32, m)
			pw := PackWeights(w, m, k)
			for _, perTensor := range []bool{false, true} {
				rq := randRequant(rng, m, perTensor, 1e4)
				if a := testing.AllocsPerRun(10, func() { GemmRequant(dst, m, src, k, rows, pw, bias, rq) }); a != 0 {
					t.Errorf("GemmRequant %v: %v allocations", s, a)
				}
				if a := testing.AllocsPerRun(10, func() { GemmRequant(dst, m, src, k, rows, pw, nil, rq) }); a != 0 {
					t.Errorf("GemmRequant %v without bias: %v allocations", s, a)
				}
			}
			if a := testing.AllocsPerRun(10, func() { GemmInt32(dst32, m, src, k, rows, pw) }); a != 0 {
				t.Errorf("GemmInt32 %v: %v allocations", s, a)
			}
			if a := testing.AllocsPerRun(10, func() { pw.Pack(w) }); a != 0 {
				t.Errorf("Pack %v: %v allocations", s, a)
			}
		}
	})
}

// Random shapes beyond the fuzz target's ranges (k past several K blocks,
// rows past several tiles), every implementation.
func TestGemmRandom(t *testing.T) {
	n := 400
	if testing.Short() {
		n = 40
	}
	rng := rand.New(rand.NewPCG(22, 23))
	data := make([]byte, 97)
	for range n {
		c := gemmCase{
			rows: rng.IntN(40), m: rng.IntN(80), k: rng.IntN(300),
			padSrc: rng.IntN(3) * rng.IntN(20), padDst: rng.IntN(3) * rng.IntN(20),
			offSrc: rng.IntN(16), offDst: rng.IntN(16),
			perTensor: rng.IntN(2) == 0, noBias: rng.IntN(4) == 0,
		}
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		gemmEveryImpl(t, c, data)
	}
}

// gemmEveryImpl runs case c, with int8 and with int32 output, on every
// GEMM implementation and checks that the assembly was reached.
func gemmEveryImpl(t *testing.T, c gemmCase, data []byte) {
	t.Helper()
	for _, impl := range gemmImplNames() {
		setGemmImpl(t, impl)
		calls := countGemmCalls(t)
		fuzzGemm(t, c, data)
		c.int32Out = true
		fuzzGemm(t, c, data)
		c.int32Out = false
		checkReachedKernel(t, calls, impl+" "+c.String(), c.rows > 0 && c.m > 0)
	}
}

// gemmFuzzSeeds are (rows, m, k) on the tile and unroll boundaries, so
// that the seeds alone reach every edge of the micro-kernels.
var gemmFuzzSeeds = [][3]int{
	{0, 5, 5}, {1, 1, 1}, {3, 15, 15}, {4, 16, 16}, {5, 17, 17}, {7, 31, 31}, {8, 32, 32}, {9, 33, 33},
	{4, 4, 47}, {5, 3, 48}, {3, 5, 49}, {9, 65, 64}, {11, 64, 65}, {19, 48, 69}, {13, 69, 9},
}

func FuzzGemmRequant(f *testing.F) {
	for i, s := range gemmFuzzSeeds {
		f.Add(uint8(s[0]), uint8(s[1]), uint8(s[2]), uint8(i*37), []byte{byte(i), 0x80, 0x7f, 0x81, 1, 2, 3})
	}
	f.Fuzz(func(t *testing.T, rows, m, k, opts uint8, data []byte) {
		c := gemmCase{
			rows: int(rows % 20), m: int(m % 70), k: int(k % 70),
			padSrc: int(opts % 3), padDst: int(opts / 3 % 3), offSrc: int(opts / 9 % 4), offDst: int(opts / 36 % 4),
			perTensor: opts&0x40 != 0, noBias: opts&0x80 != 0,
		}
		gemmEveryImpl(t, c, data)
	})
}

// fuzzGemm runs a case whose values (inputs, weights clamped to
// [-127, 127], biases, multipliers, shifts, zero point) come from data.
func fuzzGemm(t *testing.T, c gemmCase, data []byte) {
	next := byteSource(data)
	ldSrc, ldDst := c.k+c.padSrc, c.m+c.padDst
	nSrc, nDst := 0, 0
	if c.rows > 0 {
		nSrc, nDst = (c.rows-1)*ldSrc+c.k, (c.rows-1)*ldDst+c.m
	}
	src := make([]int8, nSrc+c.offSrc)[c.offSrc:]
	w := make([]int8, c.m*c.k)
	for i := range src {
		src[i] = int8(next())
	}
	for i := range w {
		w[i] = max(int8(next()), -127)
	}
	pw := PackWeights(w, c.m, c.k)
	var bias []int32
	if !c.noBias {
		bias = make([]int32, c.m)
		for i := range bias {
			bias[i] = int32(uint32(next())<<24|uint32(next())<<16|uint32(next())<<8|uint32(next())) >> 1
		}
	}
	nq := c.m
	if c.perTensor {
		nq = 1
	}
	rq := &Requant{Mult: make([]int32, nq), Shift: make([]int32, nq), ZeroPoint: int32(int8(next()))}
	for i := range nq {
		rq.Mult[i] = int32(uint32(next())<<24 | uint32(next())<<16 | uint32(next())<<8 | uint32(next()))
		rq.Shift[i] = int32(int8(next())) % 32
	}
	written := func(i int) bool { return i%ldDst < c.m }
	rng := rand.New(rand.NewPCG(uint64(len(data)), 1))
	if c.int32Out {
		dst := newBuffer[int32](rng, nDst, c.offDst)
		GemmInt32(dst.s(), ldDst, src, ldSrc, c.rows, pw)
		dst.checkGuards(t, c.String(), written)
		for r := range c.rows {
			for ch := range c.m {
				if got, want := dst.s()[r*ldDst+ch], naiveGemmAcc(src, ldSrc, w, c.k, nil, r, ch); int64(got) != want {
					t.Fatalf("%s %v: [%d][%d] = %d, want %d", gemmK.cur, c, r, ch, got, want)
				}
			}
		}
		return
	}
	dst := newBuffer[int8](rng, nDst, c.offDst)
	GemmRequant(dst.s(), ldDst, src, ldSrc, c.rows, pw, bias, rq)
	dst.checkGuards(t, c.String(), written)
	for r := range c.rows {
		for ch := range c.m {
			if got, want := dst.s()[r*ldDst+ch], formulaApply(naiveGemmAcc(src, ldSrc, w, c.k, bias, r, ch), rq, ch); got != want {
				t.Fatalf("%s %v: [%d][%d] = %d, want %d", gemmK.cur, c, r, ch, got, want)
			}
		}
	}
}

// byteSource returns the bytes of data in turn, cycling, or zeros when data
// is empty.
func byteSource(data []byte) func() byte {
	i := 0
	return func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[i%len(data)]
		i++
		return b
	}
}

// Sums past the int32 range wrap as documented (mod 2^32), on every
// implementation: with K = 140003 and -128 * -127 products the exact sum
// exceeds 2^31, and the VNNI kernels' -128*sum(w) start wraps as well.
func TestGemmWrap(t *testing.T) {
	if testing.Short() {
		t.Skip("large K")
	}
	rows, m, k := 5, 35, 140003
	src := make([]int8, rows*k)
	w := make([]int8, m*k)
	for i := range src {
		src[i] = -128
	}
	for i := range w {
		w[i] = -127
		if i%(k+1) == 0 {
			w[i] = 127
		}
	}
	forEachGemm(t, func(t *testing.T, impl string) {
		calls := countGemmCalls(t)
		pw := PackWeights(w, m, k)
		dst := make([]int32, rows*m)
		GemmInt32(dst, m, src, k, rows, pw)
		for r := range rows {
			for c := range m {
				want := naiveGemmAcc(src, k, w, k, nil, r, c)
				if int64(dst[r*m+c]) != want {
					t.Fatalf("[%d][%d] = %d, want %d", r, c, dst[r*m+c], want)
				}
				if want >= 0 && r == 0 && c == 0 {
					t.Fatalf("the sum %d did not wrap", want)
				}
			}
		}
		checkReachedKernel(t, calls, "wrap", true)
	})
}

// FuzzGemmLargeK is FuzzGemmRequant with K up to 1100 (many groups of 4
// and blocks of 16, every K tail) on few rows and channels.
func FuzzGemmLargeK(f *testing.F) {
	for i, s := range [][3]int{{1, 1, 1023}, {4, 32, 1024}, {5, 33, 1025}, {3, 17, 515}, {9, 65, 258}} {
		f.Add(uint8(s[0]), uint8(s[1]), uint16(s[2]), uint8(i*41), []byte{byte(i), 0x80, 0x81, 0x7f, 5})
	}
	f.Fuzz(func(t *testing.T, rows, m uint8, k uint16, opts uint8, data []byte) {
		c := gemmCase{
			rows: int(rows % 10), m: int(m % 70), k: int(k % 1100),
			padSrc: int(opts % 3), padDst: int(opts / 3 % 3), offSrc: int(opts / 9 % 4), offDst: int(opts / 36 % 4),
			perTensor: opts&0x40 != 0, noBias: opts&0x80 != 0,
		}
		gemmEveryImpl(t, c, data)
	})
}
