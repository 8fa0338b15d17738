package arm64

import (
	"slices"

	"github.com/coatnet-edge/coatnet-edge/internal/kernelimpl"
)

// Implementation maps each kernel to the implementation it runs: "go" for
// the portable reference, "sdot" for the NEON GEMM micro-kernel with the
// dot product (Cortex-A55/A76/A78), "neon" for NEON assembly without it
// (every other kernel, and the GEMM on the Cortex-A53 and A72). Each is
// chosen once, at start-up, from the CPU's features; [Weights] are packed
// for the GEMM's.
func Implementation() map[string]string {
	m := map[string]string{
		"GemmRequant": gemmImpl.name,
		"GemmInt32":   gemmImpl.name,
	}
	for _, k := range kernels {
		m[k.op()] = k.current()
	}
	return m
}

// kernel is one operation's implementations: fn is the one in use, impls
// those this build and CPU can run, best first (the reference "go" last).
type kernel[F any] struct {
	name  string
	fn    F
	cur   string
	impls []kernelFn[F]
}

type kernelFn[F any] struct {
	name string
	fn   F
}

// newKernel registers op with its reference implementation.
func newKernel[F any](op string, ref F) *kernel[F] {
	k := &kernel[F]{name: op, fn: ref, cur: "go", impls: []kernelFn[F]{{"go", ref}}}
	kernels = append(kernels, k)
	return k
}

// prefer adds a better implementation and makes it the one in use (called
// from init functions, once, at start-up).
func (k *kernel[F]) prefer(name string, fn F) {
	k.impls = slices.Insert(k.impls, 0, kernelFn[F]{name, fn})
	k.fn, k.cur = fn, name
}

func (k *kernel[F]) op() string      { return k.name }
func (k *kernel[F]) current() string { return k.cur }

func (k *kernel[F]) names() []string {
	var n []string
	for _, f := range k.impls {
		n = append(n, f.name)
	}
	return n
}

// use switches to the named implementation; false if there is none.
func (k *kernel[F]) use(name string) bool {
	for _, f := range k.impls {
		if f.name == name {
			k.fn, k.cur = f.fn, f.name
			return true
		}
	}
	return false
}

// switchable is a kernel of any signature.
type switchable interface {
	op() string
	current() string
	names() []string
	use(name string) bool
}

// kernels are every non-GEMM kernel, in registration order.
var kernels []switchable

// levels are the kernelimpl levels this CPU runs, best first.
func levels() []string {
	var l []string
	for _, g := range gemmImpls {
		l = append(l, g.name)
	}
	return l
}

// useLevel switches every kernel to level: the GEMM to the implementation
// of that name, the others to "neon" for sdot and neon, or "go".
func useLevel(level string) (restore func(), ok bool) {
	if !slices.Contains(levels(), level) {
		return nil, false
	}
	other := level
	if level == "sdot" {
		other = "neon"
	}
	oldGemm := gemmImpl
	old := make([]string, len(kernels))
	for i, k := range kernels {
		old[i] = k.current()
	}
	for _, g := range gemmImpls {
		if g.name == level {
			gemmImpl = g
		}
	}
	for _, k := range kernels {
		if !k.use(other) {
			k.use("go")
		}
	}
	return func() {
		gemmImpl = oldGemm
		for i, k := range kernels {
			k.use(old[i])
		}
	}, true
}

func init() {
	kernelimpl.Levels = levels
	kernelimpl.Use = useLevel
}

//go:generate go run ./internal/neongen

// asmHook, when set (by tests), is called with the operation's name each
// time a non-GEMM assembly kernel is entered.
var asmHook func(op string)
