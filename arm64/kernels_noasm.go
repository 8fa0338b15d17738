//go:build !arm64 || purego

package arm64

// Without assembly, every kernel but the GEMMs keeps the reference it is
// registered with (newKernel in each kernel's file): there is nothing to
// forward. gemm_noasm.go does the same for the GEMMs.
