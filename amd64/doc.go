// Package amd64 holds the x86-64 assembly of the int8 kernels: for each
// kernel of package kernels that has one, its entry point (a //go:noescape
// function with no Go body) and the argument struct it takes. It is a
// leaf, like package arm64: callers are package kernels' x_amd64.go files.
package amd64

//go:generate go run ./internal/gemmgen
