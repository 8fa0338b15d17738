package kernels

// lutRef is the reference of LUT.
func lutRef(dst, src []int8, table *[256]int8) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = table[uint8(v)]
	}
}
