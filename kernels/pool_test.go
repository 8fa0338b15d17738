package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestAvgPool2x2 covers channel counts around the 16-channel blocks,
// image sizes, ranges of output pixels that start and end inside rows,
// misaligned buffers and the extremes.
func TestAvgPool2x2(t *testing.T) { forEachImplChecked(t, "AvgPool2x2", testAvgPool2x2) }

func testAvgPool2x2(t *testing.T) {
	rng := rand.New(rand.NewPCG(88, 89))
	i := 0
	for _, c := range []int{1, 3, 15, 16, 17, 31, 32, 33, 64, 100} {
		for _, hw := range [][2]int{{0, 4}, {2, 2}, {2, 6}, {4, 4}, {6, 10}, {8, 2}} {
			i++
			h, w := hw[0], hw[1]
			np := h * w / 4
			p0 := rng.IntN(np + 1)
			p1 := p0 + rng.IntN(np-p0+1)
			if i%3 == 0 {
				p0, p1 = 0, np
			}
			src := newBuffer[int8](rng, h*w*c, i%4)
			randInt8s(rng, src.s())
			if i%4 == 0 {
				for j := range src.s() {
					src.s()[j] = [...]int8{-128, 127}[(j/c)%2]
				}
			}
			if i%7 == 0 {
				for j := range src.s() {
					src.s()[j] = -128
				}
			}
			dst := newBuffer[int8](rng, np*c, (i+1)%4)
			AvgPool2x2(dst.s(), src.s(), h, w, c, p0, p1)
			name := fmt.Sprintf("h=%d w=%d c=%d p=%d..%d", h, w, c, p0, p1)
			dst.checkGuards(t, name, func(j int) bool { return j >= p0*c && j < p1*c })
			for p := p0; p < p1; p++ {
				oy, ox := p/(w/2), p%(w/2)
				for ch := range c {
					var s int64
					for _, d := range [][2]int{{0, 0}, {0, 1}, {1, 0}, {1, 1}} {
						s += int64(src.s()[((2*oy+d[0])*w+2*ox+d[1])*c+ch])
					}
					if got, want := dst.s()[p*c+ch], int8((s+2)>>2); got != want {
						t.Fatalf("%s: (%d, %d) = %d, want %d", name, p, ch, got, want)
					}
				}
			}
		}
	}
}

func TestAvgPool2x2Panics(t *testing.T) {
	s := make([]int8, 16*3)
	expectPanic(t, "odd", func() { AvgPool2x2(s[:12], s, 4, 3, 4, 0, 1) })
	expectPanic(t, "odd", func() { AvgPool2x2(s[:12], s, -4, 4, 3, 0, 1) })
	expectPanic(t, "length", func() { AvgPool2x2(s[:12], s[1:], 4, 4, 3, 0, 1) })
	expectPanic(t, "length", func() { AvgPool2x2(s[:11], s, 4, 4, 3, 0, 1) })
	expectPanic(t, "out of range", func() { AvgPool2x2(s[:12], s, 4, 4, 3, 0, 5) })
	expectPanic(t, "out of range", func() { AvgPool2x2(s[:12], s, 4, 4, 3, 2, 1) })
}

func TestAvgPool2x2NoAllocs(t *testing.T) {
	forEachImplChecked(t, "AvgPool2x2", func(t *testing.T) {
		src, dst := make([]int8, 8*8*40), make([]int8, 4*4*40)
		if a := testing.AllocsPerRun(10, func() { AvgPool2x2(dst, src, 8, 8, 40, 0, 16) }); a != 0 {
			t.Errorf("AvgPool2x2: %v allocations", a)
		}
	})
}

func FuzzAvgPool2x2(f *testing.F) {
	for i, c := range sizes {
		f.Add(uint8(2*i), uint8(i), uint8(c), uint8(i), uint8(255), []byte{0x80, 0x7f, byte(i)})
	}
	f.Fuzz(func(t *testing.T, hh, ww, c, p0, p1 uint8, data []byte) {
		h, w, ch := 2*int(hh%6), 2*int(ww%6), int(c%70)
		np := h * w / 4
		a := int(p0) % (np + 1)
		b := a + int(p1)%(np-a+1)
		src := make([]int8, h*w*ch)
		for i := range src {
			if len(data) > 0 {
				src[i] = int8(data[i%len(data)] + byte(i/len(data)))
			}
		}
		dst := make([]int8, np*ch)
		want := make([]int8, np*ch)
		AvgPool2x2(dst, src, h, w, ch, a, b)
		avgPool2x2Ref(want, src, h, w, ch, a, b)
		for i := range dst {
			if dst[i] != want[i] {
				t.Fatalf("h=%d w=%d c=%d p=%d..%d: dst[%d] = %d, want %d", h, w, ch, a, b, i, dst[i], want[i])
			}
		}
	})
}
