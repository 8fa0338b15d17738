package kernels

// attentionSoftmaxRef is the reference of AttentionSoftmax: the bias row
// into scratch, then softmaxRowRef.
func attentionSoftmaxRef(dst []int8, logits []int32, side int, relBias []int32, post bool, p *SoftmaxParams, i0, i1 int, scratch []int32) {
	n, span := side*side, 2*side-1
	row := scratch[:n]
	for i := i0; i < i1; i++ {
		iy, ix := i/side, i%side
		l := logits[i*n : i*n+n]
		for j := range row {
			b := relBias[(j/side-iy+side-1)*span+j%side-ix+side-1]
			if post {
				row[j] = b
			} else {
				row[j] = l[j] + b
			}
		}
		if post {
			softmaxRowRef(dst[i*n:i*n+n], l, row, p)
		} else {
			softmaxRowRef(dst[i*n:i*n+n], row, nil, p)
		}
	}
}
