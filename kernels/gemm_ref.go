package kernels

// gemmRequantRef is the reference of GemmRequant.
func gemmRequantRef(dst []int8, ldDst int, src []int8, ldSrc int, rows int, w []int8, m, k int, bias []int32, rq *Requant) {
	var acc [4]int32
	for r := range rows {
		a := src[r*ldSrc : r*ldSrc+k]
		d := dst[r*ldDst : r*ldDst+m]
		for c0 := 0; c0 < m; c0 += 4 {
			n := min(4, m-c0)
			dot4(&acc, a, w[c0*k:(c0+n)*k], n)
			for i, s := range acc[:n] {
				c := c0 + i
				if bias != nil {
					s += bias[c]
				}
				mult, shift := rq.params(c)
				d[c] = sat8(int64(requantize(s, mult, shift)) + int64(rq.ZeroPoint))
			}
		}
	}
}

// gemmInt32Ref is the reference of GemmInt32.
func gemmInt32Ref(dst []int32, ldDst int, src []int8, ldSrc int, rows int, w []int8, m, k int) {
	var acc [4]int32
	for r := range rows {
		a := src[r*ldSrc : r*ldSrc+k]
		d := dst[r*ldDst : r*ldDst+m]
		for c0 := 0; c0 < m; c0 += 4 {
			n := min(4, m-c0)
			dot4(&acc, a, w[c0*k:(c0+n)*k], n)
			copy(d[c0:c0+n], acc[:n])
		}
	}
}

// dot4 sets acc[i] for i < n (1..4) to the int32 (wrapping) dot product of
// a with row i of the n x len(a) matrix w; four rows share each load of a.
func dot4(acc *[4]int32, a, w []int8, n int) {
	k := len(a)
	if n < 4 {
		for i := range n {
			acc[i] = 0
			wi := w[i*k : i*k+k]
			for j, x := range a {
				acc[i] += int32(x) * int32(wi[j])
			}
		}
		return
	}
	w0, w1, w2, w3 := w[:k], w[k:2*k], w[2*k:3*k], w[3*k:4*k]
	var s0, s1, s2, s3 int32
	for j, x := range a {
		v := int32(x)
		s0 += v * int32(w0[j])
		s1 += v * int32(w1[j])
		s2 += v * int32(w2[j])
		s3 += v * int32(w3[j])
	}
	*acc = [4]int32{s0, s1, s2, s3}
}
