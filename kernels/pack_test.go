package kernels

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// packWant packs the clamped dense matrix w (m x k) with Pack.
func packWant(m, k int, w []int8) *Weights {
	c := make([]int8, len(w))
	for i, v := range w {
		c[i] = max(v, -127)
	}
	return PackWeights(c, m, k)
}

func runPackCase(t *testing.T, rng *rand.Rand, m, k, extra int, transposed bool) {
	t.Helper()
	name := fmt.Sprintf("m=%d k=%d ld+%d transposed=%v", m, k, extra, transposed)
	dense := make([]int8, m*k)
	randInt8s(rng, dense)
	for i := range dense {
		if rng.IntN(5) == 0 {
			dense[i] = -128
		}
	}
	var src []int8
	var ld int
	if transposed {
		ld = m + extra
		src = make([]int8, max(0, (k-1)*ld+m))
		randInt8s(rng, src)
		for i := range m {
			for j := range k {
				src[j*ld+i] = dense[i*k+j]
			}
		}
	} else {
		ld = k + extra
		src = make([]int8, max(0, (m-1)*ld+k))
		randInt8s(rng, src)
		for i := range m {
			copy(src[i*ld:], dense[i*k:i*k+k])
		}
	}
	want := packWant(m, k, dense)
	p := NewWeights(m, k)
	junk := make([]int8, m*k)
	randWeights(rng, junk)
	p.Pack(junk) // stale values must all be replaced
	var sums []int32
	if transposed {
		if m > 0 && rng.IntN(4) != 0 {
			sums = make([]int32, m)
			for i := range sums {
				sums[i] = int32(rng.Uint32())
			}
		}
		p.PackTransposed(src, ld, sums)
	} else {
		p.PackStrided(src, ld)
	}
	if !slices.Equal(p.data, want.data) {
		t.Fatalf("%s: packed data differs", name)
	}
	if !slices.Equal(p.sums, want.sums) { // the VNNI kernels' -128*sum(w)
		t.Fatalf("%s: weight sums differ", name)
	}
	for i := range sums {
		var s int32
		for j := range k {
			s += int32(max(dense[i*k+j], -127))
		}
		if sums[i] != s {
			t.Fatalf("%s: sums[%d] = %d, want %d", name, i, sums[i], s)
		}
	}
}

// TestPack packs strided and transposed sources for every GEMM layout,
// shapes around the panels (4 and 16 rows) and chunks (4 and 16 values),
// with -128 clamped, over stale contents.
func TestPack(t *testing.T) {
	for _, op := range []string{"PackStrided", "PackTransposed"} {
		forEachGemm(t, func(t *testing.T, layout string) {
			forEachImpl(t, op, func(t *testing.T, impl string) {
				calls := countAsmCalls(t)
				rng := rand.New(rand.NewPCG(92, 93))
				for _, m := range []int{0, 1, 3, 4, 5, 15, 16, 17, 32, 33, 49, 196} {
					for _, k := range []int{0, 1, 3, 4, 5, 15, 16, 17, 32, 33, 49} {
						runPackCase(t, rng, m, k, rng.IntN(3)*5, op == "PackTransposed")
					}
				}
				runPackCase(t, rng, 196, 32, 224, false)
				runPackCase(t, rng, 32, 196, 224, true)
				if impl != "go" && layout != "go" && calls[op] == 0 {
					t.Errorf("%s on %s: the assembly never ran", impl, layout)
				}
			})
		})
	}
}

func TestPackPanics(t *testing.T) {
	p := NewWeights(3, 4)
	s := make([]int8, 12)
	expectPanic(t, "short src", func() { p.PackStrided(s, 3) })
	expectPanic(t, "short src", func() { p.PackStrided(s[:11], 4) })
	expectPanic(t, "short src", func() { p.PackTransposed(s, 2, nil) })
	expectPanic(t, "short src", func() { p.PackTransposed(s[:11], 3, nil) })
	expectPanic(t, "sums length", func() { p.PackTransposed(s, 3, make([]int32, 2)) })
}

func TestPackNoAllocs(t *testing.T) {
	forEachGemm(t, func(t *testing.T, _ string) {
		k, v := NewWeights(196, 32), NewWeights(32, 196)
		src, sums := make([]int8, 196*256), make([]int32, 32)
		if a := testing.AllocsPerRun(10, func() { k.PackStrided(src, 256); v.PackTransposed(src, 256, sums) }); a != 0 {
			t.Errorf("packs: %v allocations", a)
		}
	})
}

func FuzzPack(f *testing.F) {
	for i, s := range sizes {
		f.Add(int64(i), uint8(s), uint8(sizes[(i+3)%len(sizes)]), uint8(i), false)
		f.Add(int64(i), uint8(s), uint8(sizes[(i+5)%len(sizes)]), uint8(i), true)
	}
	f.Fuzz(func(t *testing.T, seed int64, m, k, extra uint8, transposed bool) {
		rng := rand.New(rand.NewPCG(uint64(seed), 8))
		runPackCase(t, rng, int(m%80), int(k%80), int(extra%8), transposed)
	})
}

// TestPackTransposedLayouts packs V^T into hand-made panel layouts (those
// of the GEMMs of every architecture and some it could have) with every
// implementation, against the reference, with guard bands after the data
// and the sums, over stale contents.
func TestPackTransposedLayouts(t *testing.T) {
	forEachImpl(t, NamePackTransposed, func(t *testing.T, impl string) {
		calls := countAsmCalls(t)
		rng := rand.New(rand.NewPCG(94, 95))
		for _, l := range []struct{ nr, kc int }{{0, 0}, {4, 4}, {8, 4}, {16, 4}, {32, 4}, {16, 16}, {32, 16}, {8, 16}} {
			layout := &gemmKernel{name: "test", nr: l.nr, kc: l.kc}
			for _, m := range []int{1, 15, 16, 17, 31, 32, 33, 39, 40, 41, 47, 63, 64, 65, 96} {
				for _, k := range []int{1, 3, 4, 5, 15, 16, 17, 31, 32, 33, 49, 196} {
					runPackTransposedLayout(t, rng, layout, m, k, m+rng.IntN(3)*7)
				}
			}
			runPackTransposedLayout(t, rng, layout, 32, 196, 512)
			runPackTransposedLayout(t, rng, layout, 32, 49, 1024)
			runPackTransposedLayout(t, rng, layout, 33, 520, -40) // all 127: past the int16 sums' flush
		}
		if impl != Ref && calls[NamePackTransposed] == 0 {
			t.Errorf("%s: the assembly never ran", impl)
		}
	})
}

// runPackTransposedLayout packs a random k x m source, or one of 127s
// where ld is negative (-ld is the leading dimension).
func runPackTransposedLayout(t *testing.T, rng *rand.Rand, layout *gemmKernel, m, k, ld int) {
	t.Helper()
	max127 := ld < 0
	ld = max(ld, -ld)
	name := fmt.Sprintf("nr=%d kc=%d m=%d k=%d ld=%d", layout.nr, layout.kc, m, k, ld)
	kp, mp := k, m
	if layout.nr > 0 {
		kp, mp = (k+15)&^15, (m+layout.nr-1)/layout.nr*layout.nr
	}
	src := make([]int8, (k-1)*ld+m)
	randInt8s(rng, src)
	for i := range src {
		if max127 {
			src[i] = 127
		} else if rng.IntN(5) == 0 {
			src[i] = -128
		}
	}
	want := &Weights{m: m, k: k, kp: kp, impl: layout, data: make([]int8, mp*kp)}
	wantSums := make([]int32, m)
	packTransposedRef(want, src, ld, wantSums)
	for _, withSums := range []bool{false, true} {
		data, sums := newBuffer[int8](rng, mp*kp, rng.IntN(32)), newBuffer[int32](rng, m, 0)
		got := &Weights{m: m, k: k, kp: kp, impl: layout, data: data.s()}
		// Padding stays as it was: the reference writes only the values.
		copy(got.data, want.data)
		for c := range m {
			for j := range k {
				got.data[got.at(c, j)] = int8(rng.Uint32())
			}
		}
		var s []int32
		if withSums {
			s = sums.s()
		}
		got.PackTransposed(src, ld, s)
		if !slices.Equal(got.data, want.data) {
			t.Fatalf("%s: packed data differs", name)
		}
		data.checkGuards(t, name+" data", func(int) bool { return true })
		if withSums {
			if !slices.Equal(s, wantSums) {
				t.Fatalf("%s: sums %v, want %v", name, s, wantSums)
			}
			sums.checkGuards(t, name+" sums", func(int) bool { return true })
		}
	}
}

// Weights.at shifts where its layout formula divides: every layout's
// panel width and chunk are powers of two.
func TestLayoutsArePowersOfTwo(t *testing.T) {
	pow2 := func(n int) bool { return n > 0 && n&(n-1) == 0 }
	for _, name := range gemmImplNames() {
		if !setGemmImpl(t, name) {
			continue
		}
		if l := gemmK.fn; l.nr != 0 && (!pow2(l.nr) || !pow2(l.kc)) {
			t.Errorf("%s: nr %d, kc %d", name, l.nr, l.kc)
		}
	}
}
