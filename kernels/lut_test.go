package kernels

import (
	"math/rand/v2"
	"testing"
)

func naiveLUT(v int8, table *[256]int8) int8 {
	i := int(v)
	if i < 0 {
		i += 256 // the byte"s two"s-complement bits
	}
	return table[i]
}

func randTable(rng *rand.Rand) *[256]int8 {
	var t [256]int8
	randInt8s(rng, t[:])
	return &t
}

func TestLUT(t *testing.T) { forEachImplChecked(t, "LUT", testLUT) }

func testLUT(t *testing.T) {
	rng := rand.New(rand.NewPCG(30, 31))
	lens := append([]int{127, 128, 129, 255, 256, 257, 1000}, sizes...)
	for i, n := range lens {
		table := randTable(rng)
		src := newBuffer[int8](rng, n, i%4)
		for j := range src.s() {
			src.s()[j] = int8(j + i) // every value once n >= 256
		}
		for _, alias := range []bool{false, true} {
			dst := src
			if !alias {
				dst = newBuffer[int8](rng, n, 3-i%4)
			}
			in := append([]int8(nil), src.s()...)
			LUT(dst.s(), src.s(), table)
			dst.checkGuards(t, "LUT", func(int) bool { return true })
			for j, v := range in {
				if got, want := dst.s()[j], naiveLUT(v, table); got != want {
					t.Fatalf("n=%d alias=%v: dst[%d] = %d for %d, want %d", n, alias, j, got, v, want)
				}
			}
		}
	}
}

func TestLUTPanics(t *testing.T) {
	var table [256]int8
	expectPanic(t, "lengths differ", func() { LUT(make([]int8, 3), make([]int8, 4), &table) })
	expectPanic(t, "nil LUT table", func() { LUT(nil, nil, nil) })
}

func TestLUTNoAllocs(t *testing.T) { forEachImplChecked(t, "LUT", testLUTNoAllocs) }

func testLUTNoAllocs(t *testing.T) {
	var table [256]int8
	src, dst := make([]int8, 1000), make([]int8, 1000)
	if a := testing.AllocsPerRun(10, func() { LUT(dst, src, &table) }); a != 0 {
		t.Errorf("LUT: %v allocations", a)
	}
}

func FuzzLUT(f *testing.F) {
	for _, n := range sizes {
		f.Add(uint8(n%4), false, make([]byte, n))
		f.Add(uint8(3-n%4), true, []byte{0x80, 0x7f, 0xff, 0, 1}[:min(n, 5)])
	}
	f.Fuzz(func(t *testing.T, off uint8, alias bool, data []byte) {
		rng := rand.New(rand.NewPCG(uint64(len(data)), 3))
		table := randTable(rng)
		src := newBuffer[int8](rng, len(data), int(off%4))
		for i, b := range data {
			src.s()[i] = int8(b)
		}
		in := append([]int8(nil), src.s()...)
		dst := src
		if !alias {
			dst = newBuffer[int8](rng, len(data), int(off/4%4))
		}
		LUT(dst.s(), src.s(), table)
		dst.checkGuards(t, "LUT", func(int) bool { return true })
		for i, v := range in {
			if got, want := dst.s()[i], naiveLUT(v, table); got != want {
				t.Fatalf("dst[%d] = %d for %d, want %d", i, got, v, want)
			}
		}
	})
}

// TestLUTTables runs every input byte through tables that tell every entry
// apart: the identity, its reverse, and for each entry a table that is
// zero but there (so a lookup in the wrong 16- or 128-byte slice shows).
func TestLUTTables(t *testing.T) { forEachImplChecked(t, "LUT", testLUTTables) }

func testLUTTables(t *testing.T) {
	src := make([]int8, 512+7)
	for i := range src {
		src[i] = int8(i * 37) // every byte, in a scrambled order, twice
	}
	dst := make([]int8, len(src))
	check := func(name string, table *[256]int8) {
		t.Helper()
		LUT(dst, src, table)
		for i, v := range src {
			if got, want := dst[i], naiveLUT(v, table); got != want {
				t.Fatalf("%s: LUT(%d) = %d, want %d", name, v, got, want)
			}
		}
	}
	var id, rev [256]int8
	for i := range id {
		id[i], rev[i] = int8(i), int8(255-i)
	}
	check("identity", &id)
	check("reverse", &rev)
	for e := range 256 {
		var one [256]int8
		one[e] = int8(e) | 1
		if e == 0 {
			one[e] = -128
		}
		check("one entry", &one)
	}
}
