package kernels

import "math/bits"

// PackStrided replaces the values with those of the m x k matrix whose
// row i is src[i*ld : i*ld+k], each clamped to [-127, 127], the weights'
// range: activations used as the weight operand of a product, like the
// keys of attention (Q.K^T). It does not allocate.
func (p *Weights) PackStrided(src []int8, ld int) {
	if ld < p.k || p.m > 0 && len(src) < (p.m-1)*ld+p.k {
		panic("kernels: PackStrided short src or leading dimension")
	}
	packStridedK.fn(p, src, ld)
	p.setSums()
}

// PackTransposed replaces the values with the transpose of the k x m
// matrix whose row j is src[j*ld : j*ld+m], each value clamped to
// [-127, 127]: W[i][j] = src[j*ld+i], the values of attention as the
// weights of P.V (V^T). If sums is not nil, it gets the m row sums of the
// packed matrix, sums[i] = sum_j W[i][j]. It does not allocate.
func (p *Weights) PackTransposed(src []int8, ld int, sums []int32) {
	if ld < p.m || p.k > 0 && len(src) < (p.k-1)*ld+p.m {
		panic("kernels: PackTransposed short src or leading dimension")
	}
	if sums != nil && len(sums) != p.m {
		panic("kernels: PackTransposed sums length is not m")
	}
	packTransposedK.fn(p, src, ld, sums)
	p.setSums()
}

var (
	packStridedK    = newKernel[func(p *Weights, src []int8, ld int)](packStridedRef, NamePackStrided)
	packTransposedK = newKernel[func(p *Weights, src []int8, ld int, sums []int32)](packTransposedRef, NamePackTransposed)
)

// at is the index in p.data of value i of row c. It stays small enough
// to inline for the plain layout (the portable build packs attention's
// operands per value every inference).
func (p *Weights) at(c, i int) int {
	if p.impl.nr == 0 {
		return c*p.k + i
	}
	return p.panelAt(c, i)
}

// panelAt is at for the panel layouts. It shifts where the formula
// divides (nr and kc are powers of two): the arm64 packers' Go tails call
// it per value every inference, and four divisions a value took 1.3 M
// cycles an inference on the A72 model.
func (p *Weights) panelAt(c, i int) int {
	nr, kc := p.impl.nr, p.impl.kc
	if t := p.k & (kc - 1); p.impl.tailLast && t != 0 && i >= p.k-t {
		i += kc - t // a ragged last group holds its values at its end
	}
	nrLog, kcLog := bits.TrailingZeros(uint(nr)), bits.TrailingZeros(uint(kc))
	return c>>nrLog*p.kp<<nrLog + c&(nr-1)<<kcLog + i>>kcLog<<(kcLog+nrLog) + i&(kc-1)
}
