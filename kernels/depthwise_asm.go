//go:build (amd64 || arm64) && !purego

package kernels

// depthwiseTaps points taps at the input pixel of each of the nine taps
// of output pixel (oy, ox), at channel 0, and returns the mask of the taps
// that read padding, which point at the center tap's pixel instead: the
// assembly kernels' view of a run of pixels that read padding alike.
func depthwiseTaps(taps *[9]*int8, src []int8, h, w, c, stride, oy, ox int) (padMask int) {
	iy0, ix0 := oy*stride-1, ox*stride-1
	center := &src[((iy0+1)*w+ix0+1)*c]
	for t := range 9 {
		iy, ix := iy0+t/3, ix0+t%3
		if iy < 0 || iy >= h || ix < 0 || ix >= w {
			padMask |= 1 << t
			taps[t] = center
		} else {
			taps[t] = &src[(iy*w+ix)*c]
		}
	}
	return padMask
}
