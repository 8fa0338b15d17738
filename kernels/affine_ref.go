package kernels

// affineRef is the reference of Affine.
func affineRef(dst, src []int8, c int, zero int32, w []int16, bias []int32, rq *Requant) {
	dst = dst[:len(src)]
	for p := 0; p < len(src); p += c {
		s, d := src[p:p+c], dst[p:p+c]
		for ch, x := range s {
			acc := int32(w[ch]) * (int32(x) - zero)
			if bias != nil {
				acc += bias[ch]
			}
			mult, shift := rq.params(ch)
			d[ch] = sat8(int64(requantize(acc, mult, shift)) + int64(rq.ZeroPoint))
		}
	}
}
