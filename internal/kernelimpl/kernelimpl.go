// Package kernelimpl lets tests outside package arm64 run the int8 engine
// on every kernel implementation: package arm64 installs the two functions
// when it initializes, so importing arm64 is enough to use them. It is a
// test hook, not an API: production code never switches implementations
// (arm64 chooses them once at start-up from the CPU's features).
package kernelimpl

// Levels returns the implementation levels this build and CPU can run,
// best first: "sdot" (the NEON kernels, with the dot-product GEMM; only
// where the CPU has it), "neon" (the NEON kernels without the dot
// product), "go" (every kernel's portable reference; the only level of a
// purego or non-arm64 build).
var Levels func() []string

// Use switches every kernel of package arm64 to level and returns a
// function that restores the previous choice; ok is false (and nothing
// changes) when this CPU cannot run level. Weights packed before the
// switch keep the layout, and so the GEMM, they were packed for: build the
// engine after calling Use. Not safe while kernels run.
var Use func(level string) (restore func(), ok bool)
