package arm64

import "testing"

// gemmImplNames lists the GEMM implementations this CPU runs (sdot only
// with the dot product, neon on every arm64 build without purego, go
// everywhere).
func gemmImplNames() []string {
	var names []string
	for _, k := range gemmImpls {
		names = append(names, k.name)
	}
	return names
}

// setGemmImpl makes name the implementation new Weights are packed for
// (and so the one that multiplies them) until the test ends; it returns
// false when this CPU cannot run it.
func setGemmImpl(t testing.TB, name string) bool {
	for _, k := range gemmImpls {
		if k.name == name {
			old := gemmImpl
			gemmImpl = k
			t.Cleanup(func() { gemmImpl = old })
			return true
		}
	}
	return false
}

// countGemmCalls counts the micro-kernel calls of each implementation until
// the test ends.
func countGemmCalls(t testing.TB) map[string]int {
	calls := map[string]int{}
	old := gemmHook
	gemmHook = func(impl string) { calls[impl]++ }
	t.Cleanup(func() { gemmHook = old })
	return calls
}

// forEachGemm runs f as a subtest for every GEMM implementation, with it
// selected.
func forEachGemm(t *testing.T, f func(t *testing.T, impl string)) {
	for _, name := range gemmImplNames() {
		t.Run("impl="+name, func(t *testing.T) {
			setGemmImpl(t, name)
			f(t, name)
		})
	}
}
