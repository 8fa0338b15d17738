package arm64

// GemmRequant computes, for rows r in [0, rows) and output channels c in
// [0, m),
//
//	acc = bias[c] + sum_{i<k} src[r*ldSrc+i] * w[c*k+i]   (mod 2^32)
//	dst[r*ldDst+c] = rq.Apply(acc, c)
//
// src is a rows x k matrix with leading dimension ldSrc >= k, w is m x k
// row-major (values in [-127, 127]), bias has m entries or is nil (zero),
// and dst is a rows x m matrix with leading dimension ldDst >= m. Only those
// rows x m elements of dst are written. To run a range of rows, pass
// src[r0*ldSrc:] and dst[r0*ldDst:]. dst must not overlap src or w.
func GemmRequant(dst []int8, ldDst int, src []int8, ldSrc int, rows int, w []int8, m, k int, bias []int32, rq *Requant) {
	checkGemm(len(dst), ldDst, len(src), ldSrc, rows, len(w), m, k)
	if bias != nil && len(bias) != m {
		panic("arm64: GemmRequant bias length is not m")
	}
	rq.check(m)
	gemmRequantImpl(dst, ldDst, src, ldSrc, rows, w, m, k, bias, rq)
}

var gemmRequantImpl = gemmRequantRef

// GemmInt32 computes the raw accumulators, without bias, for rows r in
// [0, rows) and columns c in [0, m):
//
//	dst[r*ldDst+c] = sum_{i<k} src[r*ldSrc+i] * w[c*k+i]   (mod 2^32)
//
// with the shapes of [GemmRequant] (w in [-127, 127]). For the attention
// logits Q.K^T, src is Q [rows][d] and w is K [m][d]. dst must not overlap
// src or w.
func GemmInt32(dst []int32, ldDst int, src []int8, ldSrc int, rows int, w []int8, m, k int) {
	checkGemm(len(dst), ldDst, len(src), ldSrc, rows, len(w), m, k)
	gemmInt32Impl(dst, ldDst, src, ldSrc, rows, w, m, k)
}

var gemmInt32Impl = gemmInt32Ref

func checkGemm(lenDst, ldDst, lenSrc, ldSrc, rows, lenW, m, k int) {
	if rows < 0 || m < 0 || k < 0 {
		panic("arm64: negative GEMM size")
	}
	if ldSrc < k || ldDst < m {
		panic("arm64: GEMM leading dimension smaller than the row")
	}
	if lenW != m*k {
		panic("arm64: GEMM weights length is not m*k")
	}
	if rows > 0 && (lenSrc < (rows-1)*ldSrc+k || lenDst < (rows-1)*ldDst+m) {
		panic("arm64: GEMM short src or dst")
	}
}
