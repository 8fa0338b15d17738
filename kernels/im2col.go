package kernels

// Im2col3x3 gathers the patches of output pixels [p0, p1) of a 3x3
// convolution with padding 1 and stride 1 or 2 over an h x w x c NHWC
// image: row p-p0 of dst (9*c values, rows 9*c apart) is, for taps t =
// ky*3+kx in order, the c values of input pixel (oy*stride+ky-1,
// ox*stride+kx-1), or c times pad outside the image, where (oy, ox) is
// output pixel p of the ceil(h/stride) x ceil(w/stride) output. The GEMM
// then multiplies the rows by the [out][9*c] weights. dst has at least
// (p1-p0)*9*c values; only those are written.
func Im2col3x3(dst, src []int8, h, w, c, stride int, pad int8, p0, p1 int) {
	if h < 0 || w < 0 || c < 0 {
		panic("kernels: negative Im2col3x3 size")
	}
	if stride != 1 && stride != 2 {
		panic("kernels: Im2col3x3 stride is not 1 or 2")
	}
	ho, wo := (h+stride-1)/stride, (w+stride-1)/stride
	if p0 < 0 || p0 > p1 || p1 > ho*wo {
		panic("kernels: Im2col3x3 pixels out of range")
	}
	if len(src) != h*w*c {
		panic("kernels: Im2col3x3 src length is not h*w*c")
	}
	if len(dst) < (p1-p0)*9*c {
		panic("kernels: Im2col3x3 short dst")
	}
	im2colK.fn(dst, src, h, w, c, stride, pad, p0, p1)
}

var im2colK = newKernel[func(dst, src []int8, h, w, c, stride int, pad int8, p0, p1 int)](im2col3x3Ref, NameIm2col3x3)
