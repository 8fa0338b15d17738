package kernels

// addRef is the reference of Add.
func addRef(dst, a, b []int8, p *AddParams) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		ra := (int32(a[i]) - p.ZeroA) << addInputShift
		rb := (int32(b[i]) - p.ZeroB) << addInputShift
		s := sat32(int64(requantize(ra, p.MultA, p.ShiftA)) + int64(requantize(rb, p.MultB, p.ShiftB)))
		dst[i] = sat8(int64(requantize(s, p.MultOut, p.ShiftOut)) + int64(p.ZeroOut))
	}
}
