//go:build !purego

package amd64

// AvgPool2x2 runs a run of output pixels of one output row of AvgPool2x2,
// c >= 16, AVX2 (pool_amd64.s).
//
//go:noescape
func AvgPool2x2(ctx *PoolCtx)

// PoolCtx is the argument block of AvgPool2x2 (offsets checked by a test).
type PoolCtx struct {
	Src     *int8 // the first output's window, top left, channel 0
	Dst     *int8 // the first output, channel 0
	RowStep int   // bytes from a window's top row to its bottom row: w*c
	N       int   // output pixels, at least 1
	C       int   // channels, at least 16
}
