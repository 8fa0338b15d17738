//go:build !purego

package amd64

// LUTAVX2 maps n bytes (n a multiple of 32) through table, 16 bytes of
// the table at a time with VPSHUFB (lut_amd64.s).
//
//go:noescape
func LUTAVX2(dst, src *int8, n int, table *[256]int8)

// LUTVBMI maps n > 0 bytes through table with VPERMI2B, the last partial
// block of 64 masked (lut_amd64.s; AVX-512 VBMI).
//
//go:noescape
func LUTVBMI(dst, src *int8, n int, table *[256]int8)
