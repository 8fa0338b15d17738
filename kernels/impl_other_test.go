//go:build !amd64 || purego

package kernels

// amd64Best: no amd64 assembly in this build.
func amd64Best(string) string { return "" }
