package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// The naive formulas below restate the package documentation with plain
// loops and int64 arithmetic; the kernels must match them bit for bit.

// sizes are the lengths around every plausible tile and unroll boundary.
var sizes = []int{0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65}

func clamp(v, lo, hi int64) int64 { return min(max(v, lo), hi) }

// formulaRequantNoZP is steps 1-3 of the requantization.
func formulaRequantNoZP(acc, mult, shift int32) int64 {
	a := int64(acc)
	if shift < 0 {
		a = clamp(a<<-shift, math.MinInt32, math.MaxInt32)
	}
	var x int64
	if a == math.MinInt32 && mult == math.MinInt32 {
		x = math.MaxInt32
	} else {
		x = (2*a*int64(mult) + 1<<31) >> 32
	}
	if shift > 0 {
		x = (x + 1<<(shift-1)) >> shift
	}
	return x
}

// formulaApply is the full requantization of acc as channel c.
func formulaApply(acc int64, rq *Requant, c int) int8 {
	i := c
	if len(rq.Mult) == 1 {
		i = 0
	}
	return int8(clamp(formulaRequantNoZP(int32(acc), rq.Mult[i], rq.Shift[i])+int64(rq.ZeroPoint), -128, 127))
}

// buffer is a slice of n elements at a misaligned start inside a larger
// backing array whose other elements are random canaries that the kernels
// must leave alone.
type buffer[T int8 | int32] struct {
	back, orig []T
	lo, n      int
}

const guardLen = 19

func newBuffer[T int8 | int32](rng *rand.Rand, n, off int) *buffer[T] {
	b := &buffer[T]{back: make([]T, off+guardLen+n+guardLen), lo: off + guardLen, n: n}
	for i := range b.back {
		b.back[i] = T(rng.Uint32())
	}
	b.orig = append([]T(nil), b.back...)
	return b
}

// s is the slice handed to a kernel; its capacity reaches into the guard.
func (b *buffer[T]) s() []T { return b.back[b.lo : b.lo+b.n] }

// checkGuards reports any element outside the written ones (a predicate on
// the index into s) that changed.
func (b *buffer[T]) checkGuards(t *testing.T, name string, written func(i int) bool) {
	t.Helper()
	bad := 0
	for j := range b.back {
		i := j - b.lo
		if i >= 0 && i < b.n && written(i) {
			continue
		}
		if b.back[j] != b.orig[j] {
			if bad < 5 {
				t.Errorf("%s: element %d (outside the output) changed from %d to %d", name, i, b.orig[j], b.back[j])
			}
			bad++
		}
	}
}

func randInt8s(rng *rand.Rand, s []int8) {
	for i := range s {
		s[i] = int8(rng.Uint32())
	}
}

// randWeights fills s with values in [-127, 127].
func randWeights(rng *rand.Rand, s []int8) {
	for i := range s {
		s[i] = int8(rng.IntN(255) - 127)
	}
}

// randRequant returns requantization parameters for n channels (1 when
// perTensor): mostly multipliers that map accumulators of typical size
// onto the int8 range, some arbitrary ones over the whole int32 range.
func randRequant(rng *rand.Rand, n int, perTensor bool, typicalAcc float64) *Requant {
	if perTensor {
		n = 1
	}
	rq := &Requant{Mult: make([]int32, n), Shift: make([]int32, n), ZeroPoint: int32(rng.IntN(256) - 128)}
	for i := range n {
		if rng.IntN(4) == 0 {
			rq.Mult[i], rq.Shift[i] = int32(rng.Uint32()), int32(rng.IntN(63)-31)
			continue
		}
		real := 40 / max(typicalAcc, 1) * math.Exp2(rng.Float64()*4-2)
		if rng.IntN(8) == 0 {
			real = -real
		}
		rq.Mult[i], rq.Shift[i] = QuantizeMultiplier(real)
	}
	return rq
}

// expectPanic checks that f panics with a message containing want.
func expectPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Errorf("no panic, want %q", want)
			return
		}
		if s, ok := r.(string); !ok || !strings.Contains(s, want) {
			t.Errorf("panic %v, want %q", r, want)
		}
	}()
	f()
}

// allOps are the operations Implementation reports.
var allOps = []string{NameGemmRequant, NameGemmInt32, NameDepthwise3x3, NameLUT, NameAdd, NameSoftmaxRow, NameAttentionSoftmax,
	NameAffine, NameMeanChannels, NameAvgPool2x2, NameLayerNorm, NameIm2col3x3, NamePackStrided, NamePackTransposed, NameQuantizeInput}

// Every operation has an implementation, the best this build and CPU
// run: with assembly (arm64 without purego) every kernel but the GEMMs,
// Depthwise3x3 and LUT is neon, and those sdot where the CPU has the dot
// product (neon elsewhere); on amd64,
// avx512 or avx2 where the kernel has them and the CPU runs them.
func TestImplementation(t *testing.T) {
	impl := Implementation()
	if len(impl) != len(allOps) {
		t.Errorf("Implementation() has %d entries, want %d: %v", len(impl), len(allOps), impl)
	}
	asm := slices.Contains(gemmImplNames(), "neon")
	for _, op := range allOps {
		want := "go"
		switch {
		case op == "GemmRequant" || op == "GemmInt32" || asm && (op == NameDepthwise3x3 || op == NameLUT):
			want = gemmImplNames()[0]
		case asm:
			want = "neon"
		case amd64Best(op) != "":
			want = amd64Best(op)
		}
		if impl[op] != want {
			t.Errorf("Implementation()[%q] = %q, want %q", op, impl[op], want)
		}
	}
	t.Logf("%v", impl)
}
