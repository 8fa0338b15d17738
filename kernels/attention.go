package kernels

// AttentionSoftmax computes the probabilities of query rows [i0, i1) of
// one attention head whose n = side*side queries and keys lie on a side x
// side grid, with a relative position bias: for query i = iy*side+ix and
// key j = jy*side+jx,
//
//	b_ij = relBias[(jy-iy+side-1)*span + (jx-ix+side-1)],  span = 2*side-1
//
// indexed by the key's offset from the query (timm's table, indexed by the
// query's offset from the key, reversed). Row i of the n x n logits
// (Q.K^T, row-major) becomes row i of the n x n int8 probabilities dst as
// [SoftmaxRow] computes it: with post false, the bias is added to the
// logits first (int32, wrapping: SoftmaxRow(dst_i, logits_i + b_i, nil)),
// with post true it is the static kernel added after the softmax
// (SoftmaxRow(dst_i, logits_i, b_i)). scratch has at least 2*n values, which
// it overwrites. Only rows [i0, i1) of dst are written.
func AttentionSoftmax(dst []int8, logits []int32, side int, relBias []int32, post bool, p *SoftmaxParams, i0, i1 int, scratch []int32) {
	if side < 0 {
		panic("kernels: negative AttentionSoftmax side")
	}
	n := side * side
	span := 2*side - 1
	if len(logits) != n*n || len(dst) != n*n {
		panic("kernels: AttentionSoftmax logits or dst length is not n*n")
	}
	if n > 0 && len(relBias) != span*span {
		panic("kernels: AttentionSoftmax relBias length is not (2*side-1)^2")
	}
	if i0 < 0 || i0 > i1 || i1 > n {
		panic("kernels: AttentionSoftmax rows out of range")
	}
	if len(scratch) < 2*n {
		panic("kernels: AttentionSoftmax scratch shorter than 2*n")
	}
	if p == nil {
		panic("kernels: nil SoftmaxParams")
	}
	p.check()
	attentionSoftmaxK.fn(dst, logits, side, relBias, post, p, i0, i1, scratch)
}

var attentionSoftmaxK = newKernel[func(dst []int8, logits []int32, side int, relBias []int32, post bool, p *SoftmaxParams, i0, i1 int, scratch []int32)](attentionSoftmaxRef, NameAttentionSoftmax)
