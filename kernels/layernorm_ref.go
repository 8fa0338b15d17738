package kernels

import "math"

// layerNormRef is the reference of LayerNorm.
func layerNormRef(dst, src []int8, c int, p *LayerNormParams) {
	cc := int64(c)
	z := int64(p.Zero)
	for i := 0; i < len(src); i += c {
		x, o := src[i:i+c], dst[i:i+c]
		var s, q int64
		for _, v := range x {
			d := int64(v) - z
			s += d
			q += d * d
		}
		r := layerNormR(c, s, q, p.Eps)
		for ch, v := range x {
			d := int64(v) - z
			nv := int32(min(max(((cc*d-s)*r+1<<11)>>12, math.MinInt32), math.MaxInt32))
			o[ch] = sat8(int64(requantize(nv, p.Mult[ch], p.Shift[ch])) + int64(p.Bias[ch]))
		}
	}
}
