//go:build !(arm64 || amd64) || purego

package kernels

// Without assembly, every kernel keeps the reference it is registered with
// (newKernel in each kernel's file): nothing registers a faster one. An
// architecture with assembly registers its implementations from init
// functions in its own files (x_arm64.go, guarded by !purego).
