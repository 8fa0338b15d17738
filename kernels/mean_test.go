package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

type meanCase struct {
	n, c, c0, c1 int
	off          int
	perTensor    bool
	extremes     bool
}

func runMeanCase(t *testing.T, rng *rand.Rand, tc meanCase) {
	t.Helper()
	src := newBuffer[int8](rng, tc.n*tc.c, tc.off)
	dst := newBuffer[int8](rng, tc.c, 3-tc.off)
	randInt8s(rng, src.s())
	zero := int32(rng.IntN(256) - 128)
	if tc.extremes {
		zero = 127
		for i := range src.s() {
			src.s()[i] = -128
		}
	}
	rq := randRequant(rng, tc.c, tc.perTensor, 128*float64(tc.n))
	MeanChannels(dst.s(), src.s(), tc.n, tc.c, zero, rq, tc.c0, tc.c1)
	name := fmt.Sprintf("%+v", tc)
	dst.checkGuards(t, name, func(i int) bool { return i >= tc.c0 && i < tc.c1 })
	for ch := tc.c0; ch < tc.c1; ch++ {
		var s int64
		for p := range tc.n {
			s += int64(src.s()[p*tc.c+ch]) - int64(zero)
		}
		if got, want := dst.s()[ch], formulaApply(int64(int32(s)), rq, ch); got != want {
			t.Fatalf("%s: channel %d = %d, want %d", name, ch, got, want)
		}
	}
}

// TestMeanChannels covers pixel counts around the 4-pixel unroll and the
// 256-pixel int16 chunks, channel ranges around the 16-channel blocks,
// misaligned buffers, per-tensor and per-channel requantization and the
// extremes.
func TestMeanChannels(t *testing.T) { forEachImplChecked(t, "MeanChannels", testMeanChannels) }

func testMeanChannels(t *testing.T) {
	rng := rand.New(rand.NewPCG(84, 85))
	i := 0
	for _, n := range []int{0, 1, 3, 4, 5, 49, 255, 256, 257, 600} {
		for _, c := range []int{1, 7, 8, 9, 15, 16, 17, 33, 40, 63, 64, 65, 100, 129} {
			i++
			runMeanCase(t, rng, meanCase{n: n, c: c, c0: 0, c1: c, off: i % 4, perTensor: i%3 == 0, extremes: i%5 == 0})
			c0 := rng.IntN(c + 1)
			runMeanCase(t, rng, meanCase{n: n, c: c, c0: c0, c1: c0 + rng.IntN(c-c0+1), off: i % 4, perTensor: i%2 == 0})
		}
	}
}

func TestMeanChannelsPanics(t *testing.T) {
	rq := &Requant{Mult: []int32{1 << 30}, Shift: []int32{0}}
	s := make([]int8, 6)
	expectPanic(t, "negative", func() { MeanChannels(s, s, -1, 3, 0, rq, 0, 3) })
	expectPanic(t, "length", func() { MeanChannels(s[:3], s[:5], 2, 3, 0, rq, 0, 3) })
	expectPanic(t, "length", func() { MeanChannels(s[:2], s, 2, 3, 0, rq, 0, 3) })
	expectPanic(t, "out of range", func() { MeanChannels(s[:3], s, 2, 3, 0, rq, 2, 1) })
	expectPanic(t, "out of range", func() { MeanChannels(s[:3], s, 2, 3, 0, rq, 0, 4) })
	expectPanic(t, "zero point", func() { MeanChannels(s[:3], s, 2, 3, -129, rq, 0, 3) })
}

func TestMeanChannelsNoAllocs(t *testing.T) {
	forEachImplChecked(t, "MeanChannels", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(86, 87))
		src, dst := make([]int8, 49*64), make([]int8, 64)
		rq := randRequant(rng, 1, true, 1e3)
		if a := testing.AllocsPerRun(10, func() { MeanChannels(dst, src, 49, 64, 3, rq, 0, 64) }); a != 0 {
			t.Errorf("MeanChannels: %v allocations", a)
		}
	})
}

func FuzzMeanChannels(f *testing.F) {
	for i, c := range sizes {
		f.Add(int64(i), uint16(i*37), uint8(c), uint8(i), uint8(255))
	}
	f.Fuzz(func(t *testing.T, seed int64, n uint16, c, c0, c1 uint8) {
		rng := rand.New(rand.NewPCG(uint64(seed), 6))
		tc := meanCase{n: int(n % 700), c: int(c % 70), off: int(seed & 3), perTensor: seed&4 != 0, extremes: seed&8 != 0}
		tc.c0 = int(c0) % (tc.c + 1)
		tc.c1 = tc.c0 + int(c1)%(tc.c-tc.c0+1)
		runMeanCase(t, rng, tc)
	})
}
