//go:build !purego

package amd64

// Im2col3x3 gathers the patches of a run of interior output pixels of one
// output row, AVX2 (im2col_amd64.s).
//
//go:noescape
func Im2col3x3(ctx *Im2colCtx)

// Im2colCtx is the argument block of Im2col3x3 (offsets checked by a
// test).
type Im2colCtx struct {
	Rows [3]*int8 // kernel row ky's leftmost tap of the first pixel, or nil: padding
	Dst  *int8    // the first pixel's patch row
	N    int      // pixels, at least 1
	Seg  int      // 3*c: the bytes of a kernel row, at least 1
	Step int      // stride*c
	Ld   int      // 9*c
	Pad  int
}
