package kernels

import (
	"slices"
	"sort"
)

// The kernels' names: the keys of [Implementation] and of [Select], the
// names the int8 engine and the bench command give the kernels they run,
// and the operations tools/armbench attributes instructions to.
const (
	NameGemmRequant      = "GemmRequant"
	NameGemmInt32        = "GemmInt32"
	NameDepthwise3x3     = "Depthwise3x3"
	NameIm2col3x3        = "Im2col3x3"
	NameLUT              = "LUT"
	NameAdd              = "Add"
	NameAffine           = "Affine"
	NameMeanChannels     = "MeanChannels"
	NameAvgPool2x2       = "AvgPool2x2"
	NameLayerNorm        = "LayerNorm"
	NameSoftmaxRow       = "SoftmaxRow"
	NameAttentionSoftmax = "AttentionSoftmax"
	NamePackStrided      = "PackStrided"
	NamePackTransposed   = "PackTransposed"
	NameQuantizeInput    = "QuantizeInput"
)

// Ref is the name of every kernel's portable reference implementation.
const Ref = "go"

// Implementation maps each kernel to the implementation it runs: "go" for
// the portable reference; on arm64 "sdot" on cores with the dot product
// (Cortex-A55/A76/A78: the GEMM and depthwise kernels that use it, and
// the LUT kernel for those cores), "neon" for NEON assembly without it
// (every other kernel, and those on the Cortex-A53 and A72);
// on amd64 "avx512vnni", "avxvnni" or "avx2" for the GEMM micro-kernels
// and the names the other kernels register (see [SelectLevel]). Each is
// chosen once, at start-up, from the CPU's features; [Weights] are packed
// for the GEMM's.
func Implementation() map[string]string {
	m := map[string]string{}
	for _, k := range registry {
		for _, n := range k.kernels() {
			m[n] = k.current()
		}
	}
	return m
}

// Names returns the name of every kernel, sorted.
func Names() []string {
	var n []string
	for _, k := range registry {
		n = append(n, k.kernels()...)
	}
	sort.Strings(n)
	return n
}

// List returns the implementations registered for kernel, best first,
// whether this CPU can run them or not; the reference [Ref] is last. It
// returns nil for an unknown kernel.
func List(kernel string) []string {
	k := lookup(kernel)
	if k == nil {
		return nil
	}
	return k.list()
}

// Select makes impl the implementation of kernel (for tests; production
// code keeps the start-up choice) and reports whether it could: false,
// and nothing changes, when this CPU cannot run impl. The two GEMMs
// share one selection, and [Weights] keep the layout, and so the GEMM,
// they were packed for: pack after selecting. Not safe while kernels run.
// It panics for an unknown kernel or implementation.
func Select(kernel, impl string) bool {
	k := lookup(kernel)
	if k == nil {
		panic("kernels: Select of an unknown kernel")
	}
	return k.use(impl)
}

// Reset restores kernel's start-up choice: the best implementation this
// CPU runs.
func Reset(kernel string) {
	if k := lookup(kernel); k != nil {
		k.reset()
	}
}

// Levels returns the implementation levels this build and CPU run, best
// first, for [SelectLevel]: the GEMM implementations this CPU runs, then
// "go" (every kernel's reference; the only level of a purego build or of
// a GOARCH without assembly). On arm64: "sdot" (only where the CPU has
// the dot product), "neon". On amd64: "avx512vnni", "avxvnni", "avx2",
// each where the CPU has it.
func Levels() []string {
	var l []string
	for _, name := range gemmK.list() {
		if gemmK.available(name) {
			l = append(l, name)
		}
	}
	return l
}

// levelFallback is the one definition of the levels' chains: a kernel
// that has no implementation of a level's name takes the next level's,
// down to the reference. Non-GEMM kernels name their implementations
// after the instruction set they need ("neon", "avx2", "avx512").
var levelFallback = map[string]string{
	"sdot":       "neon",
	"neon":       Ref,
	"avx512vnni": "avx512",
	"avx512":     "avx2",
	"avxvnni":    "avx2",
	"avx2":       Ref,
}

// levelChain returns level and the levels it falls back to, ending with
// [Ref].
func levelChain(level string) []string {
	l := []string{level}
	for level != Ref {
		next, ok := levelFallback[level]
		if !ok {
			next = Ref
		}
		l, level = append(l, next), next
	}
	return l
}

// SelectLevel selects level on every kernel, so that a test can run a
// whole model on it: the GEMMs that implementation, every other kernel
// the first implementation it has and this CPU runs along the level's
// chain: avx512vnni, avx512, avx2, go; avxvnni, avx2, go; avx2, go;
// sdot, neon, go; neon, go. It reports false, and changes nothing, when
// this CPU cannot run level. [ResetAll] undoes it. Not safe while
// kernels run.
func SelectLevel(level string) bool {
	if !slices.Contains(Levels(), level) {
		return false
	}
	chain := levelChain(level)
	for _, k := range registry {
		if k == entry(gemmK) {
			k.use(level)
			continue
		}
		for _, l := range chain {
			if slices.Contains(k.list(), l) && k.use(l) {
				break
			}
		}
	}
	return true
}

// ResetAll restores every kernel's start-up choice.
func ResetAll() {
	for _, k := range registry {
		k.reset()
	}
}

// kernel is one entry of the registry: the implementations of one
// operation (or of several sharing one selection, the GEMMs), fn the one
// in use.
type kernel[F any] struct {
	names []string
	fn    F
	cur   string
	impls []kernelFn[F] // best first, the reference last
}

type kernelFn[F any] struct {
	name      string
	fn        F
	available bool
}

// entry is a kernel of any signature.
type entry interface {
	kernels() []string
	current() string
	list() []string
	available(impl string) bool
	use(impl string) bool
	reset()
}

// registry holds every kernel, in the order they were made.
var registry []entry

func lookup(name string) entry {
	for _, k := range registry {
		if slices.Contains(k.kernels(), name) {
			return k
		}
	}
	return nil
}

// newKernel adds the kernels named to the registry with their reference.
func newKernel[F any](ref F, names ...string) *kernel[F] {
	k := &kernel[F]{names: names, fn: ref, cur: Ref, impls: []kernelFn[F]{{Ref, ref, true}}}
	registry = append(registry, k)
	return k
}

// register adds an implementation, after those registered before it and
// before the reference, and makes the best one this CPU runs (available)
// the one in use. Called from init functions, once, at start-up.
func (k *kernel[F]) register(name string, fn F, available bool) {
	if slices.Contains(k.list(), name) {
		panic("kernels: implementation registered twice")
	}
	k.impls = slices.Insert(k.impls, len(k.impls)-1, kernelFn[F]{name, fn, available})
	k.reset()
}

func (k *kernel[F]) kernels() []string { return k.names }
func (k *kernel[F]) current() string   { return k.cur }

func (k *kernel[F]) list() []string {
	var n []string
	for _, f := range k.impls {
		n = append(n, f.name)
	}
	return n
}

func (k *kernel[F]) available(name string) bool {
	for _, f := range k.impls {
		if f.name == name {
			return f.available
		}
	}
	panic("kernels: unknown implementation " + name)
}

func (k *kernel[F]) use(name string) bool {
	if !k.available(name) {
		return false
	}
	for _, f := range k.impls {
		if f.name == name {
			k.fn, k.cur = f.fn, f.name
		}
	}
	return true
}

func (k *kernel[F]) reset() {
	for _, f := range k.impls {
		if f.available {
			k.fn, k.cur = f.fn, f.name
			return
		}
	}
}

// asmHook, when set (by tests), is called with the kernel's name each
// time a non-GEMM assembly kernel is entered.
var asmHook func(kernel string)

// gemmHook, when set (by tests), is called with the implementation's name
// each time an optimized GEMM micro-kernel is entered.
var gemmHook func(impl string)
