package kernels

// avgPool2x2Ref is the reference of AvgPool2x2.
func avgPool2x2Ref(dst, src []int8, h, w, c int, p0, p1 int) {
	wo := w / 2
	for p := p0; p < p1; p++ {
		oy, ox := p/wo, p%wo
		i := (2*oy*w + 2*ox) * c
		a, b, d, e := src[i:i+c], src[i+c:i+2*c], src[i+w*c:i+w*c+c], src[i+w*c+c:i+w*c+2*c]
		o := dst[p*c : p*c+c]
		for ch := range o {
			o[ch] = int8((int32(a[ch]) + int32(b[ch]) + int32(d[ch]) + int32(e[ch]) + 2) >> 2)
		}
	}
}
