package kernels

import "testing"

// gemmImplNames lists the GEMM implementations this CPU runs (sdot only
// with the dot product, neon on every arm64 build without purego, go
// everywhere).
func gemmImplNames() []string { return implNames(NameGemmRequant) }

// setGemmImpl makes name the implementation new Weights are packed for
// (and so the one that multiplies them) until the test ends; it returns
// false when this CPU cannot run it.
func setGemmImpl(t testing.TB, name string) bool { return setImpl(t, NameGemmRequant, name) }

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

// implNames returns the implementations of kernel this build and CPU
// run, best first, from the registry.
func implNames(kernel string) []string {
	var n []string
	for _, name := range List(kernel) {
		if lookup(kernel).available(name) {
			n = append(n, name)
		}
	}
	return n
}

// setImpl makes name kernel's implementation until the test ends; false
// when this build and CPU have no such implementation.
func setImpl(t testing.TB, kernel, name string) bool {
	old := Implementation()[kernel]
	if !Select(kernel, name) {
		return false
	}
	t.Cleanup(func() { Select(kernel, old) })
	return true
}

// forEachImpl runs f as a subtest for every implementation of kernel this
// build and CPU run, with it selected.
func forEachImpl(t *testing.T, kernel string, f func(t *testing.T, impl string)) {
	for _, name := range implNames(kernel) {
		t.Run("impl="+name, func(t *testing.T) {
			setImpl(t, kernel, name)
			f(t, name)
		})
	}
}

// countAsmCalls counts the assembly calls of each kernel until the test
// ends.
func countAsmCalls(t testing.TB) map[string]int {
	calls := map[string]int{}
	old := asmHook
	asmHook = func(op string) { calls[op]++ }
	t.Cleanup(func() { asmHook = old })
	return calls
}

// forEachImplChecked is forEachImpl for a test body that must enter the
// assembly of every implementation but the reference.
func forEachImplChecked(t *testing.T, op string, f func(t *testing.T)) {
	forEachImpl(t, op, func(t *testing.T, impl string) {
		calls := countAsmCalls(t)
		f(t)
		if impl != "go" && calls[op] == 0 {
			t.Errorf("impl %s of %s: the assembly never ran", impl, op)
		}
	})
}
