package kernels

import (
	"maps"
	"slices"
	"testing"
)

// The registry knows every kernel by its Name constant, and Implementation
// reports each of them.
func TestNames(t *testing.T) {
	want := slices.Sorted(slices.Values(allOps))
	if got := Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	if got := slices.Sorted(maps.Keys(Implementation())); !slices.Equal(got, want) {
		t.Errorf("Implementation() has %v, want %v", got, want)
	}
	if List("NoSuchKernel") != nil {
		t.Errorf("List of an unknown kernel is not nil")
	}
}

// Select switches one kernel (both GEMMs together) and Reset restores the
// start-up choice, the best implementation this CPU runs; an
// implementation the CPU cannot run is refused without a change.
func TestSelectReset(t *testing.T) {
	defer ResetAll()
	start := Implementation()
	for _, k := range Names() {
		impls := List(k)
		if len(impls) == 0 || impls[len(impls)-1] != Ref {
			t.Fatalf("List(%s) = %v: the reference is not last", k, impls)
		}
		if avail := implNames(k); start[k] != avail[0] {
			t.Errorf("%s starts on %s, want the best available of %v", k, start[k], avail)
		}
		for _, impl := range impls {
			ok := Select(k, impl)
			if ok != lookup(k).available(impl) {
				t.Errorf("Select(%s, %s) = %v", k, impl, ok)
			}
			want := impl
			if !ok {
				want = start[k]
			}
			if got := Implementation()[k]; got != want {
				t.Errorf("after Select(%s, %s): %s runs %s, want %s", k, impl, k, got, want)
			}
			Reset(k)
			if got := Implementation()[k]; got != start[k] {
				t.Errorf("after Reset(%s): %s, want %s", k, got, start[k])
			}
		}
	}
	Select(NameGemmInt32, Ref)
	if got := Implementation()[NameGemmRequant]; got != Ref {
		t.Errorf("GemmRequant runs %s after selecting go for GemmInt32: the GEMMs share their layout", got)
	}
	Reset(NameGemmRequant)
	if got := Implementation()[NameGemmInt32]; got != start[NameGemmInt32] {
		t.Errorf("GemmInt32 runs %s after Reset(GemmRequant), want %s", got, start[NameGemmInt32])
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("Select of an unknown implementation did not panic")
			}
		}()
		Select(NameAdd, "no-such-impl")
	}()
}

// SelectLevel puts every kernel on one level: the GEMMs on it, the others
// on the first implementation they have along the level's chain.
func TestSelectLevel(t *testing.T) {
	defer ResetAll()
	start := Implementation()
	levels := Levels()
	if !slices.Equal(levels, gemmImplNames()) {
		t.Errorf("Levels() = %v, want the GEMM implementations %v", levels, gemmImplNames())
	}
	chains := map[string][]string{
		"sdot": {"sdot", "neon", Ref}, "neon": {"neon", Ref},
		"avx512vnni": {"avx512vnni", "avx512", "avx2", Ref}, "avxvnni": {"avxvnni", "avx2", Ref},
		"avx2": {"avx2", Ref}, Ref: {Ref},
	}
	for _, level := range levels {
		if !SelectLevel(level) {
			t.Fatalf("SelectLevel(%s) = false", level)
		}
		chain, ok := chains[level]
		if !ok {
			t.Fatalf("level %s has no chain in this test", level)
		}
		for k, impl := range Implementation() {
			want := level
			if k != NameGemmRequant && k != NameGemmInt32 {
				for _, want = range chain {
					if slices.Contains(implNames(k), want) {
						break
					}
				}
			}
			if impl != want {
				t.Errorf("level %s: %s runs %s, want %s", level, k, impl, want)
			}
		}
		ResetAll()
		if got := Implementation(); !maps.Equal(got, start) {
			t.Errorf("after ResetAll: %v, want %v", got, start)
		}
	}
	if SelectLevel("avx512") {
		t.Errorf("SelectLevel of a level this CPU lacks = true")
	}
	if got := Implementation(); !maps.Equal(got, start) {
		t.Errorf("a refused SelectLevel changed %v to %v", start, got)
	}
}

// The chains of the levels, and SelectLevel following them on a kernel
// that has only some of a chain's implementations.
func TestLevelChains(t *testing.T) {
	for level, want := range map[string][]string{
		"avx512vnni": {"avx512vnni", "avx512", "avx2", Ref},
		"avxvnni":    {"avxvnni", "avx2", Ref},
		"avx2":       {"avx2", Ref},
		"sdot":       {"sdot", "neon", Ref},
		"neon":       {"neon", Ref},
		Ref:          {Ref},
	} {
		if got := levelChain(level); !slices.Equal(got, want) {
			t.Errorf("levelChain(%s) = %v, want %v", level, got, want)
		}
	}
	levels := Levels()
	if len(levels) < 2 {
		t.Skip("no assembly level on this build")
	}
	level := levels[0]
	chain := levelChain(level)
	// A kernel of the test's own with the chain's last assembly level
	// before the reference (not the GEMM's name), and one it cannot run.
	n := len(registry)
	k := newKernel(0, "TestChainKernel")
	defer func() { registry = registry[:n] }()
	fallback := chain[len(chain)-2]
	k.register(fallback, 1, true)
	if fallback != level {
		k.register(level+"-unavailable", 2, false)
	}
	defer ResetAll()
	if !SelectLevel(level) {
		t.Fatalf("SelectLevel(%s) = false", level)
	}
	if k.cur != fallback {
		t.Errorf("level %s: the kernel with only %s runs %s", level, fallback, k.cur)
	}
}
