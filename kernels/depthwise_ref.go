package kernels

// depthwise3x3Ref is the reference of Depthwise3x3. It accumulates each
// output pixel a block of channels at a time, tap by tap.
func depthwise3x3Ref(dst []int8, src []int8, h, w, c, stride int, weights []int8, bias []int32, pad int8, rq *Requant, y0, y1 int) {
	wo := (w + stride - 1) / stride
	var taps [9][]int8 // input pixel of each tap; nil outside the image
	var acc [64]int32
	for oy := y0; oy < y1; oy++ {
		for ox := range wo {
			for t := range taps {
				iy, ix := oy*stride+t/3-1, ox*stride+t%3-1
				taps[t] = nil
				if iy >= 0 && iy < h && ix >= 0 && ix < w {
					taps[t] = src[(iy*w+ix)*c : (iy*w+ix+1)*c]
				}
			}
			d := dst[(oy*wo+ox)*c : (oy*wo+ox+1)*c]
			for c0 := 0; c0 < c; c0 += len(acc) {
				a := acc[:min(len(acc), c-c0)]
				if bias != nil {
					copy(a, bias[c0:])
				} else {
					clear(a)
				}
				for t, px := range taps {
					wt := weights[t*c+c0 : t*c+c0+len(a)]
					if px == nil {
						for i := range a {
							a[i] += int32(wt[i]) * int32(pad)
						}
						continue
					}
					v := px[c0 : c0+len(a)]
					for i := range a {
						a[i] += int32(wt[i]) * int32(v[i])
					}
				}
				for i, s := range a {
					mult, shift := rq.params(c0 + i)
					d[c0+i] = sat8(int64(requantize(s, mult, shift)) + int64(rq.ZeroPoint))
				}
			}
		}
	}
}
