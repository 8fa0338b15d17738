package kernels

// meanChannelsRef is the reference of MeanChannels.
func meanChannelsRef(dst, src []int8, n, c int, zero int32, rq *Requant, c0, c1 int) {
	for ch := c0; ch < c1; ch++ {
		var s int32
		for p := 0; p < n; p++ {
			s += int32(src[p*c+ch]) - zero
		}
		mult, shift := rq.params(ch)
		dst[ch] = sat8(int64(requantize(s, mult, shift)) + int64(rq.ZeroPoint))
	}
}
