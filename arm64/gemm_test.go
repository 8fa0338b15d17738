package arm64

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
	ldDst := c.m + c.padDst
	n := 0
	if c.rows > 0 {
		n = (c.rows-1)*ldDst + c.m
	}
	written := func(i int) bool { return i%ldDst < c.m }
	if c.int32Out {
		dst := newBuffer[int32](rng, n, c.offDst)
		GemmInt32(dst.s(), ldDst, src, ldSrc, c.rows, w, c.m, c.k)
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
	GemmRequant(dst.s(), ldDst, src, ldSrc, c.rows, w, c.m, c.k, bias, rq)
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

// gemmCases crosses every m with every k (rows, strides, offsets and
// options varying with them), sweeps rows, and repeats some shapes with
// int8 extremes.
func gemmCases(int32Out bool) []gemmCase {
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
		for _, mk := range [][2]int{{1, 1}, {3, 9}, {17, 33}, {64, 64}} {
			cs = append(cs, gemmCase{rows: rows, m: mk[0], k: mk[1], padSrc: i % 2, padDst: i % 3, offSrc: 1 + i%3, offDst: 3 - i%3, int32Out: int32Out})
		}
	}
	for fill := 1; fill <= 4; fill++ {
		for _, s := range [][3]int{{1, 1, 1}, {4, 16, 16}, {5, 17, 65}, {9, 33, 64}, {2, 65, 63}} {
			cs = append(cs, gemmCase{rows: s[0], m: s[1], k: s[2], padDst: 2, offSrc: fill % 4, offDst: 1, perTensor: fill == 2, fill: fill, int32Out: int32Out})
		}
	}
	return cs
}

func TestGemmRequant(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	for _, c := range gemmCases(false) {
		runGemmCase(t, rng, c)
	}
}

func TestGemmInt32(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 13))
	for _, c := range gemmCases(true) {
		runGemmCase(t, rng, c)
	}
}

// Splitting the rows into ranges gives the same output as one call.
func TestGemmSplit(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 15))
	rows, m, k, ld := 37, 19, 45, 50
	src := make([]int8, rows*ld)
	w := make([]int8, m*k)
	bias := make([]int32, m)
	randInt8s(rng, src)
	randWeights(rng, w)
	rq := randRequant(rng, m, false, 74*74*7)
	whole := make([]int8, rows*m)
	GemmRequant(whole, m, src, ld, rows, w, m, k, bias, rq)
	whole32 := make([]int32, rows*m)
	GemmInt32(whole32, m, src, ld, rows, w, m, k)
	for range 20 {
		parts := make([]int8, rows*m)
		parts32 := make([]int32, rows*m)
		for r0 := 0; r0 < rows; {
			r1 := min(rows, r0+1+rng.IntN(9))
			GemmRequant(parts[r0*m:], m, src[r0*ld:], ld, r1-r0, w, m, k, bias, rq)
			GemmInt32(parts32[r0*m:], m, src[r0*ld:], ld, r1-r0, w, m, k)
			r0 = r1
		}
		for i := range whole {
			if parts[i] != whole[i] || parts32[i] != whole32[i] {
				t.Fatalf("element %d: split %d/%d, whole %d/%d", i, parts[i], parts32[i], whole[i], whole32[i])
			}
		}
	}
}

func TestGemmPanics(t *testing.T) {
	rq := &Requant{Mult: []int32{1 << 30}, Shift: []int32{0}}
	dst, src, w := make([]int8, 12), make([]int8, 12), make([]int8, 12)
	for _, c := range []struct {
		want string
		f    func()
	}{
		{"negative GEMM size", func() { GemmRequant(dst, 4, src, 4, -1, w, 3, 4, nil, rq) }},
		{"negative GEMM size", func() { GemmInt32(nil, 0, src, 4, 1, nil, -1, 0) }},
		{"leading dimension", func() { GemmRequant(dst, 2, src, 4, 3, w, 3, 4, nil, rq) }},
		{"leading dimension", func() { GemmRequant(dst, 3, src, 3, 3, w, 3, 4, nil, rq) }},
		{"weights length", func() { GemmRequant(dst, 3, src, 4, 3, w[:11], 3, 4, nil, rq) }},
		{"short src or dst", func() { GemmRequant(dst, 4, src, 4, 4, w, 3, 4, nil, rq) }},
		{"short src or dst", func() { GemmRequant(dst[:8], 3, src, 4, 3, w, 3, 4, nil, rq) }},
		{"short src or dst", func() { GemmInt32(make([]int32, 8), 3, src, 4, 3, w, 3, 4) }},
		{"bias length", func() { GemmRequant(dst, 3, src, 4, 3, w, 3, 4, make([]int32, 2), rq) }},
		{"nil Requant", func() { GemmRequant(dst, 3, src, 4, 3, w, 3, 4, nil, nil) }},
		{"lengths differ", func() {
			GemmRequant(dst, 3, src, 4, 3, w, 3, 4, nil, &Requant{Mult: []int32{1, 1, 1}, Shift: []int32{0}})
		}},
		{"1 or one per channel", func() {
			GemmRequant(dst, 3, src, 4, 3, w, 3, 4, nil, &Requant{Mult: []int32{1, 1}, Shift: []int32{0, 0}})
		}},
		{"shift out of range", func() {
			GemmRequant(dst, 3, src, 4, 3, w, 3, 4, nil, &Requant{Mult: []int32{1}, Shift: []int32{-32}})
		}},
	} {
		expectPanic(t, c.want, c.f)
	}
	// Zero rows, zero channels and k = 0 are valid.
	GemmRequant(nil, 0, nil, 0, 0, nil, 0, 0, nil, rq)
	GemmRequant(dst, 3, nil, 0, 3, nil, 3, 0, nil, rq)
}

func TestGemmNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 17))
	rows, m, k := 9, 33, 65
	src, w, dst, dst32 := make([]int8, rows*k), make([]int8, m*k), make([]int8, rows*m), make([]int32, rows*m)
	bias := make([]int32, m)
	rq := randRequant(rng, m, false, 1e4)
	if a := testing.AllocsPerRun(10, func() { GemmRequant(dst, m, src, k, rows, w, m, k, bias, rq) }); a != 0 {
		t.Errorf("GemmRequant: %v allocations", a)
	}
	if a := testing.AllocsPerRun(10, func() { GemmInt32(dst32, m, src, k, rows, w, m, k) }); a != 0 {
		t.Errorf("GemmInt32: %v allocations", a)
	}
}

func FuzzGemmRequant(f *testing.F) {
	for i, s := range sizes {
		f.Add(uint8(s), uint8(sizes[(i+5)%len(sizes)]), uint8(sizes[(i+11)%len(sizes)]), uint8(i), []byte{byte(i), 0x80, 0x7f, 0x81, 1, 2, 3})
	}
	f.Fuzz(func(t *testing.T, rows, m, k, opts uint8, data []byte) {
		c := gemmCase{
			rows: int(rows % 20), m: int(m % 70), k: int(k % 70),
			padSrc: int(opts % 3), padDst: int(opts / 3 % 3), offSrc: int(opts / 9 % 4), offDst: int(opts / 36 % 4),
			perTensor: opts&0x40 != 0, noBias: opts&0x80 != 0,
		}
		fuzzGemm(t, c, data)
		c.int32Out = true
		fuzzGemm(t, c, data)
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
		GemmInt32(dst.s(), ldDst, src, ldSrc, c.rows, w, c.m, c.k)
		dst.checkGuards(t, c.String(), written)
		for r := range c.rows {
			for ch := range c.m {
				if got, want := dst.s()[r*ldDst+ch], naiveGemmAcc(src, ldSrc, w, c.k, nil, r, ch); int64(got) != want {
					t.Fatalf("%v: [%d][%d] = %d, want %d", c, r, ch, got, want)
				}
			}
		}
		return
	}
	dst := newBuffer[int8](rng, nDst, c.offDst)
	GemmRequant(dst.s(), ldDst, src, ldSrc, c.rows, w, c.m, c.k, bias, rq)
	dst.checkGuards(t, c.String(), written)
	for r := range c.rows {
		for ch := range c.m {
			if got, want := dst.s()[r*ldDst+ch], formulaApply(naiveGemmAcc(src, ldSrc, w, c.k, bias, r, ch), rq, ch); got != want {
				t.Fatalf("%v: [%d][%d] = %d, want %d", c, r, ch, got, want)
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
