package kernels

// Depthwise3x3 computes output rows [y0, y1) of a depthwise 3x3
// convolution with padding 1 and stride 1 or 2 over an h x w x c NHWC image
// (src, h*w*c values). The output is ho x wo x c with ho = ceil(h/stride),
// wo = ceil(w/stride) (that is (h-1)/stride+1 for h >= 1), and for each
// output pixel (oy, ox) and channel ch
//
//	acc = bias[ch] + sum_{ky,kx<3} weights[(ky*3+kx)*c+ch] * v(oy*stride+ky-1, ox*stride+kx-1, ch)
//	dst[(oy*wo+ox)*c+ch] = rq.Apply(acc, ch)
//
// where v is the input value inside the image and pad (the input zero
// point) outside it. weights is [9][c] (values in [-127, 127]), bias has c
// entries or is nil (zero), rq has 1 or c multipliers. dst is the whole
// output (at least ho*wo*c values); only rows [y0, y1) are written. dst
// must not overlap src.
func Depthwise3x3(dst []int8, src []int8, h, w, c, stride int, weights []int8, bias []int32, pad int8, rq *Requant, y0, y1 int) {
	if h < 0 || w < 0 || c < 0 {
		panic("kernels: negative Depthwise3x3 size")
	}
	if stride != 1 && stride != 2 {
		panic("kernels: Depthwise3x3 stride is not 1 or 2")
	}
	ho, wo := (h+stride-1)/stride, (w+stride-1)/stride
	if y0 < 0 || y0 > y1 || y1 > ho {
		panic("kernels: Depthwise3x3 rows out of range")
	}
	if len(src) != h*w*c {
		panic("kernels: Depthwise3x3 src length is not h*w*c")
	}
	if len(dst) < ho*wo*c {
		panic("kernels: Depthwise3x3 short dst")
	}
	if len(weights) != 9*c {
		panic("kernels: Depthwise3x3 weights length is not 9*c")
	}
	if bias != nil && len(bias) != c {
		panic("kernels: Depthwise3x3 bias length is not c")
	}
	rq.check(c)
	depthwise3x3K.fn(dst, src, h, w, c, stride, weights, bias, pad, rq, y0, y1)
}

type depthwise3x3Fn = func(dst []int8, src []int8, h, w, c, stride int, weights []int8, bias []int32, pad int8, rq *Requant, y0, y1 int)

var depthwise3x3K = newKernel[depthwise3x3Fn](depthwise3x3Ref, NameDepthwise3x3)
