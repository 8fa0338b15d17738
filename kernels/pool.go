package kernels

// AvgPool2x2 averages each 2x2 window of an h x w x c NHWC image (h and w
// even) in the code domain, rounding half up, for output pixels [p0, p1)
// of the h/2 x w/2 x c output:
//
//	dst[(oy*w/2+ox)*c+ch] = (a + b + d + e + 2) >> 2
//
// where a, b, d, e are the channel's values at (2oy, 2ox), (2oy, 2ox+1),
// (2oy+1, 2ox), (2oy+1, 2ox+1). The quantization is unchanged. dst is the
// whole output; only pixels [p0, p1) are written. dst must not overlap src.
func AvgPool2x2(dst, src []int8, h, w, c int, p0, p1 int) {
	if h < 0 || w < 0 || c < 0 || h%2 != 0 || w%2 != 0 {
		panic("kernels: AvgPool2x2 size negative or odd")
	}
	if len(src) != h*w*c || len(dst) != h*w*c/4 {
		panic("kernels: AvgPool2x2 src length is not h*w*c or dst not h*w*c/4")
	}
	if p0 < 0 || p0 > p1 || p1 > h*w/4 {
		panic("kernels: AvgPool2x2 pixels out of range")
	}
	avgPoolK.fn(dst, src, h, w, c, p0, p1)
}

var avgPoolK = newKernel[func(dst, src []int8, h, w, c int, p0, p1 int)](avgPool2x2Ref, NameAvgPool2x2)
