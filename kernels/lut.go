package kernels

// LUT maps every value through a 256-entry table: dst[i] =
// table[uint8(src[i])], indexing by the two's-complement bits of the byte
// (as TBL does), so table[0:128] holds the outputs for 0..127 and
// table[128:256] those for -128..-1. dst and src have the same length; dst
// may be src itself.
func LUT(dst, src []int8, table *[256]int8) {
	if len(dst) != len(src) {
		panic("kernels: LUT dst and src lengths differ")
	}
	if table == nil {
		panic("kernels: nil LUT table")
	}
	lutK.fn(dst, src, table)
}

var lutK = newKernel[func(dst, src []int8, table *[256]int8)](lutRef, NameLUT)
