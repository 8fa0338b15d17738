//go:build !purego

package amd64

// PackStrided copies one row of PackStrided into its packed chunks,
// clamping every value to [-127, 127], AVX2 (pack_amd64.s).
//
//go:noescape
func PackStrided(ctx *PackCtx)

// PackCtx is the argument block of PackStrided (offsets checked by a
// test).
type PackCtx struct {
	Src     *int8 // the row's first value
	Dst     *int8 // its first chunk
	N       int   // chunks, at least 1
	Chunk   int   // bytes per chunk: 4, 8, 16, or at least 32
	DStride int   // bytes between the chunks in Dst
}
