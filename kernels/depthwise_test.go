package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naiveDepthwise is the accumulator of output (oy, ox, ch), wrapped to int32.
func naiveDepthwise(src []int8, h, w, c, stride int, weights []int8, bias []int32, pad int8, oy, ox, ch int) int64 {
	var acc int64
	if bias != nil {
		acc = int64(bias[ch])
	}
	for ky := range 3 {
		for kx := range 3 {
			iy, ix := oy*stride+ky-1, ox*stride+kx-1
			v := int64(pad)
			if iy >= 0 && iy < h && ix >= 0 && ix < w {
				v = int64(src[(iy*w+ix)*c+ch])
			}
			acc += int64(weights[(ky*3+kx)*c+ch]) * v
		}
	}
	return int64(int32(acc))
}

type dwCase struct {
	h, w, c, stride int
	y0, y1          int // -1: all output rows
	offSrc, offDst  int
	perTensor       bool
	noBias          bool
	fill            int  // 0 random; 1..3 extremes
	rightOnly       bool // no negative shifts (the SDOT kernel's domain)
}

func (c dwCase) String() string {
	return fmt.Sprintf("h=%d,w=%d,c=%d,s=%d,y=%d..%d,off=%d/%d,pt=%v,nobias=%v,fill=%d",
		c.h, c.w, c.c, c.stride, c.y0, c.y1, c.offSrc, c.offDst, c.perTensor, c.noBias, c.fill)
}

func runDepthwiseCase(t *testing.T, rng *rand.Rand, c dwCase) {
	t.Helper()
	ho, wo := (c.h+c.stride-1)/c.stride, (c.w+c.stride-1)/c.stride
	if c.y1 < 0 {
		c.y0, c.y1 = 0, ho
	}
	src := newBuffer[int8](rng, c.h*c.w*c.c, c.offSrc).s()
	weights := make([]int8, 9*c.c+c.offSrc)[c.offSrc:]
	randInt8s(rng, src)
	randWeights(rng, weights)
	var bias []int32
	if !c.noBias {
		bias = make([]int32, c.c)
		for i := range bias {
			bias[i] = rng.Int32N(1<<18) - 1<<17
		}
	}
	pad := int8(rng.Uint32())
	switch c.fill {
	case 1:
		pad = 127
		for i := range src {
			src[i] = 127
		}
		for i := range weights {
			weights[i] = 127
		}
	case 2:
		pad = -128
		for i := range src {
			src[i] = -128
		}
		for i := range weights {
			weights[i] = int8(-127 + 254*(i%2))
		}
	case 3:
		pad = -128
		for i := range src {
			src[i] = int8(-128 + 255*(rng.IntN(2)))
		}
		for i := range weights {
			weights[i] = int8(-127 + 254*(rng.IntN(2)))
		}
	}
	if c.fill != 0 && bias != nil {
		for i := range bias {
			bias[i] = 1 << 30
			if i%2 == 1 {
				bias[i] = -1 << 30
			}
		}
	}
	rq := randRequant(rng, c.c, c.perTensor, 74*74*3)
	if c.rightOnly {
		rightShiftsOnly(rq)
	}
	dst := newBuffer[int8](rng, ho*wo*c.c, c.offDst)
	Depthwise3x3(dst.s(), src, c.h, c.w, c.c, c.stride, weights, bias, pad, rq, c.y0, c.y1)
	dst.checkGuards(t, c.String(), func(i int) bool { return i >= c.y0*wo*c.c && i < c.y1*wo*c.c })
	d := dst.s()
	for oy := c.y0; oy < c.y1; oy++ {
		for ox := range wo {
			for ch := range c.c {
				want := formulaApply(naiveDepthwise(src, c.h, c.w, c.c, c.stride, weights, bias, pad, oy, ox, ch), rq, ch)
				if got := d[(oy*wo+ox)*c.c+ch]; got != want {
					t.Fatalf("%v: (%d,%d,%d) = %d, want %d", c, oy, ox, ch, got, want)
				}
			}
		}
	}
}

// TestDepthwise3x3 runs every implementation on images of every small
// size, channel counts around the 16-channel blocks of the NEON kernel
// (which leaves fewer than 16 channels to the reference), ranges of rows,
// misaligned buffers, per-tensor and per-channel requantization with
// shifts of both signs, and the int8 extremes.
func TestDepthwise3x3(t *testing.T) {
	forEachImpl(t, "Depthwise3x3", func(t *testing.T, impl string) {
		calls := countAsmCalls(t)
		depthwiseCases(t, false)
		if impl != "go" && calls["Depthwise3x3"] == 0 {
			t.Errorf("impl %s: the assembly never ran", impl)
		}
	})
}

func depthwiseCases(t *testing.T, rightOnly bool) {
	rng := rand.New(rand.NewPCG(20, 21))
	run := func(c dwCase) {
		t.Helper()
		c.rightOnly = rightOnly
		runDepthwiseCase(t, rng, c)
	}
	i := 0
	for stride := 1; stride <= 2; stride++ {
		for h := 1; h <= 9; h++ {
			for w := 1; w <= 9; w++ {
				i++
				c := dwCase{h: h, w: w, c: sizes[i%len(sizes)], stride: stride, y0: -1, y1: -1,
					offSrc: i % 4, offDst: (i / 4) % 4, perTensor: i%3 == 0, noBias: i%7 == 0}
				run(c)
				// A range of rows inside the output.
				ho := (h + stride - 1) / stride
				c.y0 = rng.IntN(ho + 1)
				c.y1 = c.y0 + rng.IntN(ho-c.y0+1)
				run(c)
			}
		}
		for _, ch := range sizes {
			run(dwCase{h: 5, w: 6, c: ch, stride: stride, y0: -1, y1: -1, offSrc: ch % 4, offDst: 3 - ch%4})
		}
		for fill := 1; fill <= 3; fill++ {
			for _, s := range [][3]int{{1, 1, 1}, {3, 4, 16}, {7, 8, 17}, {4, 9, 33}} {
				run(dwCase{h: s[0], w: s[1], c: s[2], stride: stride, y0: -1, y1: -1, offDst: 1, fill: fill, perTensor: fill == 2})
			}
		}
		// Long interior runs, and the layer shapes' channel counts.
		for _, s := range [][3]int{{6, 19, 16}, {5, 20, 32}, {4, 23, 48}, {3, 17, 40}, {7, 14, 64}, {3, 9, 256}} {
			run(dwCase{h: s[0], w: s[1], c: s[2], stride: stride, y0: -1, y1: -1,
				offSrc: s[2] % 3, offDst: s[0] % 4, perTensor: s[1]%2 == 0, noBias: s[2] == 40})
		}
		// Empty images.
		run(dwCase{h: 0, w: 5, c: 3, stride: stride, y0: -1, y1: -1})
		run(dwCase{h: 4, w: 0, c: 3, stride: stride, y0: -1, y1: -1})
		run(dwCase{h: 0, w: 5, c: 32, stride: stride, y0: -1, y1: -1})
		run(dwCase{h: 4, w: 0, c: 32, stride: stride, y0: -1, y1: -1})
	}
}

// rightShiftsOnly makes rq's shifts non-negative.
func rightShiftsOnly(rq *Requant) {
	for i, s := range rq.Shift {
		rq.Shift[i] = max(s, 0)
	}
}

// Any split of the output rows gives the same output as one call.
func TestDepthwise3x3Split(t *testing.T) {
	forEachImpl(t, "Depthwise3x3", testDepthwise3x3Split)
}

func testDepthwise3x3Split(t *testing.T, _ string) {
	rng := rand.New(rand.NewPCG(22, 23))
	for stride := 1; stride <= 2; stride++ {
		h, w, c := 11, 10, 21
		ho, wo := (h+stride-1)/stride, (w+stride-1)/stride
		src, weights, bias := make([]int8, h*w*c), make([]int8, 9*c), make([]int32, c)
		randInt8s(rng, src)
		randWeights(rng, weights)
		rq := randRequant(rng, c, false, 74*74*3)
		whole := make([]int8, ho*wo*c)
		Depthwise3x3(whole, src, h, w, c, stride, weights, bias, -3, rq, 0, ho)
		for range 10 {
			parts := make([]int8, ho*wo*c)
			for y0 := 0; y0 < ho; {
				y1 := min(ho, y0+1+rng.IntN(4))
				Depthwise3x3(parts, src, h, w, c, stride, weights, bias, -3, rq, y0, y1)
				y0 = y1
			}
			for i := range whole {
				if parts[i] != whole[i] {
					t.Fatalf("stride %d element %d: split %d, whole %d", stride, i, parts[i], whole[i])
				}
			}
		}
	}
}

func TestDepthwise3x3Panics(t *testing.T) {
	rq := &Requant{Mult: []int32{1 << 30}, Shift: []int32{0}}
	h, w, c := 4, 5, 3
	src, dst, wt := make([]int8, h*w*c), make([]int8, h*w*c), make([]int8, 9*c)
	for _, tc := range []struct {
		want string
		f    func()
	}{
		{"negative", func() { Depthwise3x3(dst, src, -1, w, c, 1, wt, nil, 0, rq, 0, 0) }},
		{"stride", func() { Depthwise3x3(dst, src, h, w, c, 3, wt, nil, 0, rq, 0, 1) }},
		{"rows out of range", func() { Depthwise3x3(dst, src, h, w, c, 1, wt, nil, 0, rq, 0, 5) }},
		{"rows out of range", func() { Depthwise3x3(dst, src, h, w, c, 2, wt, nil, 0, rq, 0, 3) }},
		{"rows out of range", func() { Depthwise3x3(dst, src, h, w, c, 1, wt, nil, 0, rq, 2, 1) }},
		{"rows out of range", func() { Depthwise3x3(dst, src, h, w, c, 1, wt, nil, 0, rq, -1, 1) }},
		{"src length", func() { Depthwise3x3(dst, src[1:], h, w, c, 1, wt, nil, 0, rq, 0, 1) }},
		{"short dst", func() { Depthwise3x3(dst[1:], src, h, w, c, 1, wt, nil, 0, rq, 0, 1) }},
		{"short dst", func() { Depthwise3x3(dst[:17], src, h, w, c, 2, wt, nil, 0, rq, 0, 1) }},
		{"weights length", func() { Depthwise3x3(dst, src, h, w, c, 1, wt[1:], nil, 0, rq, 0, 1) }},
		{"bias length", func() { Depthwise3x3(dst, src, h, w, c, 1, wt, make([]int32, 2), 0, rq, 0, 1) }},
		{"1 or one per channel", func() {
			Depthwise3x3(dst, src, h, w, c, 1, wt, nil, 0, &Requant{Mult: []int32{1, 1}, Shift: []int32{0, 0}}, 0, 1)
		}},
		{"nil Requant", func() { Depthwise3x3(dst, src, h, w, c, 1, wt, nil, 0, nil, 0, 1) }},
	} {
		expectPanic(t, tc.want, tc.f)
	}
}

func TestDepthwise3x3NoAllocs(t *testing.T) {
	forEachImpl(t, "Depthwise3x3", testDepthwise3x3NoAllocs)
}

func testDepthwise3x3NoAllocs(t *testing.T, _ string) {
	rng := rand.New(rand.NewPCG(24, 25))
	h, w, c := 9, 8, 33
	src, dst, wt, bias := make([]int8, h*w*c), make([]int8, h*w*c), make([]int8, 9*c), make([]int32, c)
	rq := randRequant(rng, c, false, 1e4)
	for stride := 1; stride <= 2; stride++ {
		if a := testing.AllocsPerRun(10, func() { Depthwise3x3(dst, src, h, w, c, stride, wt, bias, 1, rq, 0, (h+stride-1)/stride) }); a != 0 {
			t.Errorf("Depthwise3x3 stride %d: %v allocations", stride, a)
		}
	}
}

func FuzzDepthwise3x3(f *testing.F) {
	for i, s := range sizes {
		f.Add(uint8(i%9+1), uint8((i*4)%9+1), uint8(s), uint8(i), uint8(0), uint8(255), []byte{byte(i), 0x80, 0x7f, 0x81, 1, 2})
	}
	f.Fuzz(func(t *testing.T, h, w, c, opts, y0, y1 uint8, data []byte) {
		dc := dwCase{h: int(h % 12), w: int(w % 12), c: int(c % 70), stride: 1 + int(opts%2),
			offSrc: int(opts / 2 % 4), offDst: int(opts / 8 % 4), perTensor: opts&0x20 != 0, noBias: opts&0x40 != 0}
		ho, wo := (dc.h+dc.stride-1)/dc.stride, (dc.w+dc.stride-1)/dc.stride
		dc.y0 = int(y0) % (ho + 1)
		dc.y1 = dc.y0 + int(y1)%(ho-dc.y0+1)
		next := byteSource(data)
		src := make([]int8, dc.h*dc.w*dc.c+dc.offSrc)[dc.offSrc:]
		wt := make([]int8, 9*dc.c)
		for i := range src {
			src[i] = int8(next())
		}
		for i := range wt {
			wt[i] = max(int8(next()), -127)
		}
		var bias []int32
		if !dc.noBias {
			bias = make([]int32, dc.c)
			for i := range bias {
				bias[i] = int32(uint32(next())<<24|uint32(next())<<16|uint32(next())<<8|uint32(next())) >> 1
			}
		}
		nq := dc.c
		if dc.perTensor {
			nq = 1
		}
		rq := &Requant{Mult: make([]int32, nq), Shift: make([]int32, nq), ZeroPoint: int32(int8(next()))}
		for i := range nq {
			rq.Mult[i] = int32(uint32(next())<<24 | uint32(next())<<16 | uint32(next())<<8 | uint32(next()))
			rq.Shift[i] = int32(int8(next())) % 32
		}
		pad := int8(next())
		dst := newBuffer[int8](rand.New(rand.NewPCG(uint64(len(data)), 2)), ho*wo*dc.c, dc.offDst)
		Depthwise3x3(dst.s(), src, dc.h, dc.w, dc.c, dc.stride, wt, bias, pad, rq, dc.y0, dc.y1)
		dst.checkGuards(t, dc.String(), func(i int) bool { return i >= dc.y0*wo*dc.c && i < dc.y1*wo*dc.c })
		for oy := dc.y0; oy < dc.y1; oy++ {
			for ox := range wo {
				for ch := range dc.c {
					want := formulaApply(naiveDepthwise(src, dc.h, dc.w, dc.c, dc.stride, wt, bias, pad, oy, ox, ch), rq, ch)
					if got := dst.s()[(oy*wo+ox)*dc.c+ch]; got != want {
						t.Fatalf("%v: (%d,%d,%d) = %d, want %d", dc, oy, ox, ch, got, want)
					}
				}
			}
		}
	})
}

// TestDepthwise3x3RequantLanes puts requantization's corner cases in every
// lane of the vector kernels: accumulators (the biases, all weights zero)
// at the int32 extremes and around them, multipliers including MinInt32
// (SQRDMULH's one saturating case), every shift in [-31, 31] (left shifts
// that saturate) and zero points at the edges of the range the kernels
// take.
func TestDepthwise3x3RequantLanes(t *testing.T) {
	forEachImplChecked(t, "Depthwise3x3", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(26, 27))
		accs := []int32{math.MinInt32, math.MinInt32 + 1, math.MaxInt32, math.MaxInt32 - 1, 0, 1, -1, 1 << 30, -1 << 30, 12345, -54321}
		mults := []int32{math.MinInt32, math.MinInt32 + 1, math.MaxInt32, 1 << 30, -1 << 30, 0, 1, -1}
		const c = 67
		h, w := 2, 3
		src, wt := make([]int8, h*w*c), make([]int8, 9*c)
		randInt8s(rng, src)
		for _, zp := range []int32{0, -128, 127, 32640, -32640, 32641, -32641, 1000} {
			for round := range 8 {
				bias := make([]int32, c)
				rq := &Requant{Mult: make([]int32, c), Shift: make([]int32, c), ZeroPoint: zp}
				for i := range c {
					bias[i] = accs[(i+round*3)%len(accs)]
					rq.Mult[i] = mults[(i/len(accs)+round)%len(mults)]
					rq.Shift[i] = int32((i+round*7)%63 - 31)
				}
				dst := make([]int8, h*w*c)
				Depthwise3x3(dst, src, h, w, c, 1, wt, bias, 0, rq, 0, h)
				for p := range h * w {
					for ch := range c {
						if want := formulaApply(int64(bias[ch]), rq, ch); dst[p*c+ch] != want {
							t.Fatalf("zp %d round %d pixel %d channel %d (acc %d, mult %d, shift %d): %d, want %d",
								zp, round, p, ch, bias[ch], rq.Mult[ch], rq.Shift[ch], dst[p*c+ch], want)
						}
					}
				}
			}
		}
	})
}
