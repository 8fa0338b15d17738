//go:build !arm64 || purego

package arm64

// gemmImpls lists the implementations this build runs: the reference only.
var gemmImpls = []*gemmKernel{&gemmGo}
