package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func runIm2colCase(t *testing.T, rng *rand.Rand, h, w, c, stride, p0, p1, off int) {
	t.Helper()
	wo := (w + stride - 1) / stride
	src := newBuffer[int8](rng, h*w*c, off)
	randInt8s(rng, src.s())
	pad := int8(rng.Uint32())
	k := 9 * c
	dst := newBuffer[int8](rng, (p1-p0)*k+rng.IntN(3), (off+1)%4)
	Im2col3x3(dst.s(), src.s(), h, w, c, stride, pad, p0, p1)
	name := fmt.Sprintf("h=%d w=%d c=%d s=%d p=%d..%d", h, w, c, stride, p0, p1)
	dst.checkGuards(t, name, func(i int) bool { return i < (p1-p0)*k })
	for p := p0; p < p1; p++ {
		oy, ox := p/wo, p%wo
		for tap := range 9 {
			iy, ix := oy*stride+tap/3-1, ox*stride+tap%3-1
			for ch := range c {
				want := pad
				if iy >= 0 && iy < h && ix >= 0 && ix < w {
					want = src.s()[(iy*w+ix)*c+ch]
				}
				if got := dst.s()[(p-p0)*k+tap*c+ch]; got != want {
					t.Fatalf("%s: pixel %d tap %d channel %d = %d, want %d", name, p, tap, ch, got, want)
				}
			}
		}
	}
}

// TestIm2col3x3 covers channel counts whose kernel rows (3*c bytes) fall
// around every copy size (1, 2, 4, 8, 16, 32, 64 bytes), images of every
// small size in both strides, ranges of pixels that start and end inside
// output rows, and misaligned buffers.
func TestIm2col3x3(t *testing.T) { forEachImplChecked(t, "Im2col3x3", testIm2col3x3) }

func testIm2col3x3(t *testing.T) {
	rng := rand.New(rand.NewPCG(90, 91))
	i := 0
	for _, c := range []int{1, 2, 3, 5, 6, 11, 16, 21, 22, 32, 43, 64, 65, 96} {
		for stride := 1; stride <= 2; stride++ {
			for _, hw := range [][2]int{{1, 1}, {1, 5}, {3, 3}, {4, 7}, {6, 2}, {5, 9}} {
				i++
				h, w := hw[0], hw[1]
				np := ((h + stride - 1) / stride) * ((w + stride - 1) / stride)
				runIm2colCase(t, rng, h, w, c, stride, 0, np, i%4)
				p0 := rng.IntN(np + 1)
				runIm2colCase(t, rng, h, w, c, stride, p0, p0+rng.IntN(np-p0+1), (i+2)%4)
			}
		}
	}
	runIm2colCase(t, rng, 0, 4, 3, 1, 0, 0, 0)
	runIm2colCase(t, rng, 4, 4, 0, 1, 0, 16, 0)
}

func TestIm2col3x3Panics(t *testing.T) {
	s := make([]int8, 4*4*2*9)
	expectPanic(t, "negative", func() { Im2col3x3(s, s[:32], -4, 4, 2, 1, 0, 0, 1) })
	expectPanic(t, "stride", func() { Im2col3x3(s, s[:32], 4, 4, 2, 3, 0, 0, 1) })
	expectPanic(t, "out of range", func() { Im2col3x3(s, s[:32], 4, 4, 2, 1, 0, 0, 17) })
	expectPanic(t, "out of range", func() { Im2col3x3(s, s[:32], 4, 4, 2, 2, 0, 0, 5) })
	expectPanic(t, "src length", func() { Im2col3x3(s, s[:31], 4, 4, 2, 1, 0, 0, 1) })
	expectPanic(t, "short dst", func() { Im2col3x3(s[:35], s[:32], 4, 4, 2, 1, 0, 0, 2) })
}

func TestIm2col3x3NoAllocs(t *testing.T) {
	forEachImplChecked(t, "Im2col3x3", func(t *testing.T) {
		src, dst := make([]int8, 9*9*32), make([]int8, 32*9*32)
		if a := testing.AllocsPerRun(10, func() { Im2col3x3(dst, src, 9, 9, 32, 1, 3, 10, 42) }); a != 0 {
			t.Errorf("Im2col3x3: %v allocations", a)
		}
	})
}

func FuzzIm2col3x3(f *testing.F) {
	for i, c := range sizes {
		f.Add(int64(i), uint8(i%9+1), uint8(i%7+1), uint8(c), uint8(i), uint8(0), uint8(255))
	}
	f.Fuzz(func(t *testing.T, seed int64, h, w, c, opts, p0, p1 uint8) {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		hh, ww, cc, stride := int(h%12), int(w%12), int(c%100), 1+int(opts%2)
		np := ((hh + stride - 1) / stride) * ((ww + stride - 1) / stride)
		a := int(p0) % (np + 1)
		runIm2colCase(t, rng, hh, ww, cc, stride, a, a+int(p1)%(np-a+1), int(opts/2%4))
	})
}
