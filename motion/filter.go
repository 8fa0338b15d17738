package motion

// The filters on the w x h working picture. Each is separable: a pass
// along the rows into tmp, then one down the columns; the picture's edge
// pixels stand in for those beyond it.

// blur5 is src filtered with weights 1 2 3 2 1 (/9) along both axes: a
// 3x3 mean applied twice. It damps what a shift by a fraction of a pixel
// does to thin lines, which a plain mean leaves bright in one frame and
// spread over two in the next.
func blur5(dst, src, tmp []float32, w, h int) {
	const ninth = 1.0 / 9
	for y := range h {
		s, t := src[y*w:(y+1)*w], tmp[y*w:(y+1)*w]
		for x := range w {
			t[x] = (s[max(x-2, 0)] + 2*s[max(x-1, 0)] + 3*s[x] + 2*s[min(x+1, w-1)] + s[min(x+2, w-1)]) * ninth
		}
	}
	for y := range h {
		r := func(k int) []float32 { k = min(max(k, 0), h-1); return tmp[k*w : (k+1)*w] }
		a, b, c, d, e := r(y-2), r(y-1), r(y), r(y+1), r(y+2)
		o := dst[y*w : (y+1)*w]
		for x := range o {
			o[x] = (a[x] + 2*b[x] + 3*c[x] + 2*d[x] + e[x]) * ninth
		}
	}
}

// minMax is the minimum and maximum of src over the (2r+1)x(2r+1) square
// around each pixel. (Plain comparisons: the built-in min and max of
// floats are slower for their NaN rules, and there are no NaNs here.)
func minMax(lo, hi, src, tmpLo, tmpHi []float32, w, h, r int) {
	for y := range h {
		s := src[y*w : (y+1)*w]
		tl, th := tmpLo[y*w:(y+1)*w], tmpHi[y*w:(y+1)*w]
		for x := range w {
			a, b := s[x], s[x]
			for _, v := range s[max(x-r, 0):min(x+r+1, w)] {
				if v < a {
					a = v
				}
				if v > b {
					b = v
				}
			}
			tl[x], th[x] = a, b
		}
	}
	for y := range h {
		l, u := lo[y*w:(y+1)*w], hi[y*w:(y+1)*w]
		copy(l, tmpLo[y*w:(y+1)*w])
		copy(u, tmpHi[y*w:(y+1)*w])
		for k := max(y-r, 0); k <= min(y+r, h-1); k++ {
			tl, th := tmpLo[k*w:(k+1)*w], tmpHi[k*w:(k+1)*w]
			for x := range l {
				if tl[x] < l[x] {
					l[x] = tl[x]
				}
				if th[x] > u[x] {
					u[x] = th[x]
				}
			}
		}
	}
}

// dilate3 sets each pixel of dst that has a set pixel of src (0 or 1)
// within its 3x3 neighbourhood.
func dilate3(dst, src, tmp []uint8, w, h int) {
	for y := range h {
		s, t := src[y*w:(y+1)*w], tmp[y*w:(y+1)*w]
		for x := range w {
			t[x] = s[max(x-1, 0)] | s[x] | s[min(x+1, w-1)]
		}
	}
	for y := range h {
		y0, y1 := max(y-1, 0)*w, min(y+1, h-1)*w
		o := dst[y*w : (y+1)*w]
		for x := range o {
			o[x] = tmp[y0+x] | tmp[y*w+x] | tmp[y1+x]
		}
	}
}
