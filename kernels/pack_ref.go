package kernels

// packStridedRef is the reference of Weights.PackStrided.
func packStridedRef(p *Weights, src []int8, ld int) {
	for c := range p.m {
		for i, v := range src[c*ld : c*ld+p.k] {
			p.data[p.at(c, i)] = max(v, -127)
		}
	}
}

// packTransposedRef is the reference of Weights.PackTransposed.
func packTransposedRef(p *Weights, src []int8, ld int, sums []int32) {
	for c := range p.m {
		var s int32
		for i := range p.k {
			v := max(src[i*ld+c], -127)
			p.data[p.at(c, i)] = v
			s += int32(v)
		}
		if sums != nil {
			sums[c] = s
		}
	}
}
