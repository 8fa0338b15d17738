package preprocess

import (
	"image"
	"math"
)

// This file reimplements, in Go, the 8-bit path of Pillow's
// ImagingResample (libImaging/Resample.c), which is what Image.resize does
// when reducing_gap is None and what torchvision's Resize calls for PIL
// images. Bit-exactness with Pillow is the point, so the arithmetic follows
// Pillow's step by step:
//
//   - scale = in/out; the kernel is stretched by max(scale, 1), so
//     downscaling antialiases and upscaling does not;
//   - output sample i is centred on input coordinate (i + 0.5) * scale and
//     uses inputs [int(centre - support + 0.5), int(centre + support + 0.5)),
//     clamped to the picture, with weights normalised to sum 1 in float64;
//   - the weights become int32 fixed point with 22 fraction bits, rounded
//     half away from zero; sums start at one half and are shifted and
//     clipped to 0..255 after each pass;
//   - the horizontal pass runs first and the vertical pass second, and a
//     pass is skipped when its axis keeps its size.
//
// Only a window of the resized picture is computed (the centre crop): each
// output pixel depends on its own weights alone, so this equals resizing
// everything and cropping afterwards.
//
// Go may fuse x*y+z into one FMA on arm64; Pillow on amd64 rounds every
// product. The float64(...) conversions below force that rounding so the
// weights are the same on every architecture.

const (
	// precisionBits is Pillow's PRECISION_BITS for 8-bit images: 32 bits
	// minus 8 for the value minus 2 of headroom for weights that overshoot.
	precisionBits = 32 - 8 - 2
	// half starts every sum so that the final shift rounds.
	half = 1 << (precisionBits - 1)
)

// kernel is a resampling filter and its support at scale 1.
type kernel struct {
	support float64
	eval    func(x float64) float64
}

var (
	bilinearKernel = kernel{support: 1, eval: triangle}
	bicubicKernel  = kernel{support: 2, eval: cubic}
)

// triangle is Pillow's bilinear filter.
func triangle(x float64) float64 {
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return 1 - x
	}
	return 0
}

// cubic is Pillow's bicubic filter (Keys, a = -0.5), evaluated in the same
// order as Pillow with every product rounded.
func cubic(x float64) float64 {
	const a = -0.5
	if x < 0 {
		x = -x
	}
	if x < 1 {
		t := float64((a+2)*x) - (a + 3)
		return float64(float64(t*x)*x) + 1
	}
	if x < 2 {
		t := float64(float64(float64((x-5)*x)+8)*x) - 4
		return t * a
	}
	return 0
}

// axis holds the fixed-point weights that map one input axis onto a run of
// output samples.
type axis struct {
	// ksize is the stride of k: Pillow's ceil(support)*2 + 1.
	ksize int
	// first[i] and n[i] are the first input sample and the number of taps
	// of output sample lo+i.
	first, n []int
	// k holds ksize weights per output sample, the first n[i] of them used.
	k []int32
	// w is float64 scratch for one output sample's weights.
	w []float64
}

// compute fills a with the weights of output samples [lo, hi) when an axis
// of inSize samples is resized to outSize.
func (a *axis) compute(inSize, outSize int, kern kernel, lo, hi int) {
	// Pillow passes the box edges as float and subtracts them in float32.
	scale := float64(float32(inSize)) / float64(outSize)
	filterscale := max(scale, 1)
	support := kern.support * filterscale
	ss := 1 / filterscale
	a.ksize = int(math.Ceil(support))*2 + 1

	count := hi - lo
	a.first = grow(a.first, count)
	a.n = grow(a.n, count)
	a.k = grow(a.k, count*a.ksize)
	a.w = grow(a.w, a.ksize)
	clear(a.k)

	for i := range count {
		center := float64((float64(lo+i) + 0.5) * scale)
		xmin := max(int(center-support+0.5), 0)
		xmax := min(int(center+support+0.5), inSize)
		n := xmax - xmin

		w := a.w[:n]
		var sum float64
		for x := range w {
			w[x] = kern.eval(float64((float64(x+xmin) - center + 0.5) * ss))
			sum += w[x]
		}
		k := a.k[i*a.ksize : i*a.ksize+n]
		for x := range w {
			v := w[x]
			if sum != 0 {
				v /= sum
			}
			if v < 0 {
				k[x] = int32(-0.5 + float64(v*(1<<precisionBits)))
			} else {
				k[x] = int32(0.5 + float64(v*(1<<precisionBits)))
			}
		}
		a.first[i] = xmin
		a.n[i] = n
	}
}

// clip8 turns a fixed-point sum into a pixel value.
func clip8(s int32) uint8 {
	v := s >> precisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// resampler resizes interleaved 8-bit pictures of c channels the way
// Pillow does and keeps the weights and scratch buffers between calls.
type resampler struct {
	kern kernel
	c    int

	// The current plan; compute rebuilds it only when these change.
	inW, inH, outW, outH int
	win                  image.Rectangle
	planned              bool

	needH, needV bool
	h, v         axis
	// rowLo, rowHi are the input rows the horizontal pass must produce.
	rowLo, rowHi int

	tmp []uint8
	acc []int32
	out []uint8
}

// plan prepares a resize of an inW x inH picture to outW x outH of which
// only the window win (inside the output) is produced.
func (r *resampler) plan(inW, inH, outW, outH int, win image.Rectangle) {
	if r.planned && r.inW == inW && r.inH == inH && r.outW == outW && r.outH == outH && r.win == win {
		return
	}
	r.inW, r.inH, r.outW, r.outH, r.win, r.planned = inW, inH, outW, outH, win, true
	r.needH = outW != inW
	r.needV = outH != inH
	if r.needH {
		r.h.compute(inW, outW, r.kern, win.Min.X, win.Max.X)
	}
	if r.needV {
		r.v.compute(inH, outH, r.kern, win.Min.Y, win.Max.Y)
		// Pillow's bounds only ever move forward, so the first and the
		// last output rows bracket every input row the window reads.
		last := len(r.v.n) - 1
		r.rowLo, r.rowHi = r.v.first[0], r.v.first[last]+r.v.n[last]
	} else {
		r.rowLo, r.rowHi = win.Min.Y, win.Max.Y
	}
	cw := win.Dx() * r.c
	if r.needH {
		r.tmp = grow(r.tmp, (r.rowHi-r.rowLo)*cw)
	}
	r.acc = grow(r.acc, cw)
	r.out = grow(r.out, win.Dy()*cw)
}

// run resizes src (inH rows of stride bytes) according to the current plan
// and returns the window as tightly packed rows of win.Dx()*c bytes. The
// result aliases the resampler's buffer.
func (r *resampler) run(src []uint8, stride int) []uint8 {
	c, cw := r.c, r.win.Dx()*r.c

	// view is the picture after the horizontal pass: input row y (for y in
	// [rowLo, rowHi)) starts at view[(y-rowLo)*vstride].
	var view []uint8
	var vstride int
	switch {
	case !r.needH:
		// Same width: the window's columns are the input's.
		view, vstride = src[r.rowLo*stride+r.win.Min.X*c:], stride
	case c == 3:
		horizontal3(r.tmp, cw, src[r.rowLo*stride:], stride, r.rowHi-r.rowLo, &r.h)
		view, vstride = r.tmp, cw
	default:
		horizontal1(r.tmp, cw, src[r.rowLo*stride:], stride, r.rowHi-r.rowLo, &r.h)
		view, vstride = r.tmp, cw
	}

	if r.needV {
		vertical(r.out, cw, view, vstride, r.rowLo, &r.v, r.acc[:cw])
	} else {
		for y := range r.win.Dy() {
			copy(r.out[y*cw:(y+1)*cw], view[y*vstride:])
		}
	}
	return r.out[:r.win.Dy()*cw]
}

// horizontal1 is the horizontal pass for one channel: rows of src into rows
// of dst, one output column per weight set in a.
func horizontal1(dst []uint8, dstStride int, src []uint8, srcStride, rows int, a *axis) {
	cols := len(a.n)
	for y := range rows {
		in := src[y*srcStride:]
		out := dst[y*dstStride : y*dstStride+cols]
		for j := range out {
			x0, n := a.first[j], a.n[j]
			k := a.k[j*a.ksize : j*a.ksize+n]
			p := in[x0 : x0+n]
			s := int32(half)
			for t, w := range k {
				s += int32(p[t]) * w
			}
			out[j] = clip8(s)
		}
	}
}

// horizontal3 is horizontal1 for interleaved three-channel pixels, sharing
// each weight across the channels.
func horizontal3(dst []uint8, dstStride int, src []uint8, srcStride, rows int, a *axis) {
	cols := len(a.n)
	for y := range rows {
		in := src[y*srcStride:]
		out := dst[y*dstStride : y*dstStride+3*cols]
		for j := range cols {
			x0, n := a.first[j], a.n[j]
			k := a.k[j*a.ksize : j*a.ksize+n]
			p := in[3*x0 : 3*(x0+n)]
			s0, s1, s2 := int32(half), int32(half), int32(half)
			for t, w := range k {
				q := p[3*t : 3*t+3]
				s0 += int32(q[0]) * w
				s1 += int32(q[1]) * w
				s2 += int32(q[2]) * w
			}
			o := out[3*j : 3*j+3]
			o[0], o[1], o[2] = clip8(s0), clip8(s1), clip8(s2)
		}
	}
}

// vertical is the vertical pass: output row i of dst combines the rows of
// src that a names (row y of the picture at src[(y-rowBase)*srcStride]).
// It sweeps whole rows tap by tap, which adds the same integers as Pillow
// in another order; the sums are exact, so the result is identical.
func vertical(dst []uint8, dstStride int, src []uint8, srcStride, rowBase int, a *axis, acc []int32) {
	width := len(acc)
	for i := range a.n {
		y0, n := a.first[i]-rowBase, a.n[i]
		k := a.k[i*a.ksize : i*a.ksize+n]
		for x := range acc {
			acc[x] = half
		}
		for t, w := range k {
			row := src[(y0+t)*srcStride : (y0+t)*srcStride+width]
			for x, v := range row {
				acc[x] += int32(v) * w
			}
		}
		out := dst[i*dstStride : i*dstStride+width]
		for x, s := range acc {
			out[x] = clip8(s)
		}
	}
}

// grow returns s resized to n elements, reusing its array when it can.
func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}
