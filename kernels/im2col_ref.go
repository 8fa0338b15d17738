package kernels

// im2col3x3Ref is the reference of Im2col3x3.
func im2col3x3Ref(dst, src []int8, h, w, c, stride int, pad int8, p0, p1 int) {
	wo := (w + stride - 1) / stride
	k := 9 * c
	for p := p0; p < p1; p++ {
		oy, ox := p/wo, p%wo
		row := dst[(p-p0)*k : (p-p0+1)*k]
		for t := range 9 {
			iy, ix := oy*stride+t/3-1, ox*stride+t%3-1
			d := row[t*c : t*c+c]
			if iy < 0 || iy >= h || ix < 0 || ix >= w {
				for i := range d {
					d[i] = pad
				}
			} else {
				copy(d, src[(iy*w+ix)*c:])
			}
		}
	}
}
