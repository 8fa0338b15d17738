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

// kernelOf returns the registered kernel of op.
func kernelOf(t testing.TB, op string) switchable {
	for _, k := range kernels {
		if k.op() == op {
			return k
		}
	}
	t.Fatalf("no kernel %q", op)
	return nil
}

// setImpl makes name op's implementation until the test ends; false when
// this build and CPU have no such implementation.
func setImpl(t testing.TB, op, name string) bool {
	k := kernelOf(t, op)
	old := k.current()
	if !k.use(name) {
		return false
	}
	t.Cleanup(func() { k.use(old) })
	return true
}

// forEachImpl runs f as a subtest for every implementation of op this
// build and CPU run, with it selected.
func forEachImpl(t *testing.T, op string, f func(t *testing.T, impl string)) {
	for _, name := range kernelOf(t, op).names() {
		t.Run("impl="+name, func(t *testing.T) {
			setImpl(t, op, name)
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
