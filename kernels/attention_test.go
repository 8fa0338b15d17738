package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

type attnCase struct {
	side, i0, i1 int
	post         bool
	mode         int // randLogits mode
}

func runAttnCase(t *testing.T, rng *rand.Rand, tc attnCase) {
	t.Helper()
	n, span := tc.side*tc.side, 2*tc.side-1
	p := randSoftmaxParams(rng)
	logits := make([]int32, n*n)
	randLogits(rng, logits, tc.mode)
	rel := make([]int32, span*span)
	for j := range rel {
		rel[j] = rng.Int32N(1<<12) - 1<<11
		if tc.post {
			rel[j] = rng.Int32N(4*256*p.Q) - 2*256*p.Q
		}
		if rng.IntN(32) == 0 {
			rel[j] = [...]int32{math.MinInt32, math.MaxInt32}[rng.IntN(2)]
		}
	}
	in := append([]int32(nil), logits...)
	scratch := make([]int32, 2*n+rng.IntN(3))
	dst := newBuffer[int8](rng, n*n, tc.side%4)
	AttentionSoftmax(dst.s(), logits, tc.side, rel, tc.post, &p, tc.i0, tc.i1, scratch)
	name := fmt.Sprintf("%+v %+v", tc, p)
	dst.checkGuards(t, name, func(i int) bool { return i >= tc.i0*n && i < tc.i1*n })
	for i := range logits {
		if logits[i] != in[i] {
			t.Fatalf("%s: logits[%d] changed", name, i)
		}
	}
	row, bias := make([]int32, n), make([]int32, n)
	for i := tc.i0; i < tc.i1; i++ {
		iy, ix := i/tc.side, i%tc.side
		for j := range n {
			bias[j] = rel[(j/tc.side-iy+tc.side-1)*span+j%tc.side-ix+tc.side-1]
			row[j] = logits[i*n+j] + bias[j]
		}
		var want []int8
		if tc.post {
			want = naiveSoftmax(logits[i*n:i*n+n], bias, &p)
		} else {
			want = naiveSoftmax(row, nil, &p)
		}
		for j := range n {
			if got := dst.s()[i*n+j]; got != want[j] {
				t.Fatalf("%s: row %d [%d] = %d, want %d", name, i, j, got, want[j])
			}
		}
	}
}

// TestAttentionSoftmax covers grids whose rows (side values per key row,
// side^2 per query) fall around the kernels' 4-, 8- and 16-value steps, both
// forms, ranges of rows, the logit modes of TestSoftmaxRow and int32
// extremes in the table.
func TestAttentionSoftmax(t *testing.T) {
	forEachImplChecked(t, "AttentionSoftmax", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(94, 95))
		for _, side := range []int{0, 1, 2, 3, 4, 5, 6, 7, 9, 14, 15, 16, 17} {
			for mode := range 4 {
				for _, post := range []bool{false, true} {
					n := side * side
					runAttnCase(t, rng, attnCase{side: side, i0: 0, i1: n, post: post, mode: mode})
					i0 := rng.IntN(n + 1)
					runAttnCase(t, rng, attnCase{side: side, i0: i0, i1: i0 + rng.IntN(n-i0+1), post: post, mode: mode})
				}
			}
		}
	})
}

func TestAttentionSoftmaxPanics(t *testing.T) {
	p := NewSoftmaxParams(0.01, 255, -128)
	l, d, rel, s := make([]int32, 16), make([]int8, 16), make([]int32, 9), make([]int32, 8)
	expectPanic(t, "negative", func() { AttentionSoftmax(d, l, -2, rel, false, &p, 0, 0, s) })
	expectPanic(t, "n*n", func() { AttentionSoftmax(d[:15], l, 2, rel, false, &p, 0, 4, s) })
	expectPanic(t, "relBias", func() { AttentionSoftmax(d, l, 2, rel[:8], false, &p, 0, 4, s) })
	expectPanic(t, "rows out of range", func() { AttentionSoftmax(d, l, 2, rel, false, &p, 0, 5, s) })
	expectPanic(t, "scratch", func() { AttentionSoftmax(d, l, 2, rel, false, &p, 0, 4, s[:7]) })
	expectPanic(t, "nil SoftmaxParams", func() { AttentionSoftmax(d, l, 2, rel, false, nil, 0, 4, s) })
}

func TestAttentionSoftmaxNoAllocs(t *testing.T) {
	forEachImplChecked(t, "AttentionSoftmax", func(t *testing.T) {
		p := NewSoftmaxParams(0.01, 255, -128)
		n := 49
		l, d, rel, s := make([]int32, n*n), make([]int8, n*n), make([]int32, 13*13), make([]int32, 2*n)
		if a := testing.AllocsPerRun(10, func() { AttentionSoftmax(d, l, 7, rel, true, &p, 0, n, s) }); a != 0 {
			t.Errorf("AttentionSoftmax: %v allocations", a)
		}
	})
}

func FuzzAttentionSoftmax(f *testing.F) {
	for i := range 10 {
		f.Add(int64(i), uint8(i), uint8(0), uint8(255), i%2 == 0, uint8(i))
	}
	f.Fuzz(func(t *testing.T, seed int64, side, i0, i1 uint8, post bool, mode uint8) {
		rng := rand.New(rand.NewPCG(uint64(seed), 9))
		tc := attnCase{side: int(side % 18), post: post, mode: int(mode % 4)}
		n := tc.side * tc.side
		tc.i0 = int(i0) % (n + 1)
		tc.i1 = tc.i0 + int(i1)%(n-tc.i0+1)
		runAttnCase(t, rng, tc)
	})
}
