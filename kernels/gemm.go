package kernels

// Weights is the weight matrix of [GemmRequant] and [GemmInt32]: m rows
// (output channels, or the columns of the product) of k int8 values,
// stored in the panel layout of the GEMM implementation that was selected
// when it was made ([Implementation]): plain [m][k] for the Go reference,
// zero-padded panels for the NEON micro-kernels (see the package
// documentation). A
// Weights value is always multiplied by the implementation it was packed
// for. Values must lie in [-127, 127] (see the package documentation).
//
// Pack once when a model is loaded ([PackWeights]); for operands that
// change per inference (the keys and values of attention), make one
// [NewWeights] per shape and re-[Weights.Pack] it, which does not allocate.
// A Weights may be read by any number of concurrent GEMMs, but not while
// it is being packed.
type Weights struct {
	m, k int
	kp   int // k rounded up to the implementation's K granule
	impl *gemmKernel
	data []int8
	sums []int32 // per padded channel: -128*sum(w), for kernels with sums set
}

// NewWeights returns zero m x k weights, laid out for the current GEMM
// implementation.
func NewWeights(m, k int) *Weights {
	if m < 0 || k < 0 {
		panic("kernels: negative Weights size")
	}
	impl := gemmK.fn
	kp, mp := k, m
	if impl.nr > 0 {
		kp = (k + 15) &^ 15
		mp = (m + impl.nr - 1) / impl.nr * impl.nr
	}
	p := &Weights{m: m, k: k, kp: kp, impl: impl, data: make([]int8, mp*kp)}
	if impl.sums {
		p.sums = make([]int32, mp)
	}
	return p
}

// PackWeights returns the m x k row-major matrix w (m*k values) packed for
// the current GEMM implementation. w is not retained.
func PackWeights(w []int8, m, k int) *Weights {
	p := NewWeights(m, k)
	p.Pack(w)
	return p
}

// Pack replaces the values with those of the m x k row-major matrix w (m*k
// values), without allocating.
func (p *Weights) Pack(w []int8) {
	if len(w) != p.m*p.k {
		panic("kernels: Weights.Pack length is not m*k")
	}
	p.impl.pack(p, w)
}

// setSums sets p.sums, where the implementation has them, from the
// packed values: for packers that write p.data directly.
func (p *Weights) setSums() {
	if p.sums == nil {
		return
	}
	nr, kc := p.impl.nr, p.impl.kc
	for c := range p.m {
		var s int32
		o := c/nr*p.kp*nr + c%nr*kc
		for g := 0; g < p.kp; g += kc {
			for _, v := range p.data[o+g*nr : o+g*nr+kc] {
				s += int32(v)
			}
		}
		p.sums[c] = -128 * s
	}
}

// M is the number of rows (output channels).
func (p *Weights) M() int { return p.m }

// K is the number of values per row.
func (p *Weights) K() int { return p.k }

// GemmRequant computes, for rows r in [0, rows) and output channels c in
// [0, m), with the m x k matrix w packed as w,
//
//	acc = bias[c] + sum_{i<k} src[r*ldSrc+i] * w[c][i]   (mod 2^32)
//	dst[r*ldDst+c] = rq.Apply(acc, c)
//
// src is a rows x k matrix with leading dimension ldSrc >= k, bias has m
// entries or is nil (zero), and dst is a rows x m matrix with leading
// dimension ldDst >= m. Only those rows x m elements of dst are written,
// and nothing outside src is read. To run a range of rows, pass
// src[r0*ldSrc:] and dst[r0*ldDst:]. dst must not overlap src.
func GemmRequant(dst []int8, ldDst int, src []int8, ldSrc int, rows int, w *Weights, bias []int32, rq *Requant) {
	if w == nil {
		panic("kernels: nil Weights")
	}
	checkGemm(len(dst), ldDst, len(src), ldSrc, rows, w.m, w.k)
	if bias != nil && len(bias) != w.m {
		panic("kernels: GemmRequant bias length is not m")
	}
	rq.check(w.m)
	w.impl.requant(dst, ldDst, src, ldSrc, rows, w, bias, rq)
}

// GemmInt32 computes the raw accumulators, without bias, for rows r in
// [0, rows) and columns c in [0, m):
//
//	dst[r*ldDst+c] = sum_{i<k} src[r*ldSrc+i] * w[c][i]   (mod 2^32)
//
// with the shapes of [GemmRequant]. For the attention logits Q.K^T, src is
// Q [rows][d] and w is K [m][d]. dst must not overlap src.
func GemmInt32(dst []int32, ldDst int, src []int8, ldSrc int, rows int, w *Weights) {
	if w == nil {
		panic("kernels: nil Weights")
	}
	checkGemm(len(dst), ldDst, len(src), ldSrc, rows, w.m, w.k)
	w.impl.int32(dst, ldDst, src, ldSrc, rows, w)
}

func checkGemm(lenDst, ldDst, lenSrc, ldSrc, rows, m, k int) {
	if rows < 0 {
		panic("kernels: negative GEMM size")
	}
	if ldSrc < k || ldDst < m {
		panic("kernels: GEMM leading dimension smaller than the row")
	}
	if rows > 0 && (lenSrc < (rows-1)*ldSrc+k || lenDst < (rows-1)*ldDst+m) {
		panic("kernels: GEMM short src or dst")
	}
}

// gemmKernel is one implementation of the GEMMs with its weight layout.
type gemmKernel struct {
	name string
	// nr is the number of channels of a packed panel, kc (4 or 16) the
	// bytes of one channel that lie together; nr = 0 is the plain [m][k]
	// layout. K is padded to a multiple of 16 in panels.
	nr, kc int
	// sums: Pack also sets Weights.sums (the x+128 correction of VNNI).
	sums bool
	// tailLast: a ragged last group of kc k (k%kc values) holds its values
	// at its end, after kc - k%kc zeros (the x86 kernels read it at the
	// row's last kc bytes).
	tailLast bool
	pack     func(p *Weights, w []int8) // w is m*k values
	requant  func(dst []int8, ldDst int, src []int8, ldSrc int, rows int, w *Weights, bias []int32, rq *Requant)
	int32    func(dst []int32, ldDst int, src []int8, ldSrc int, rows int, w *Weights)
}

// gemmGo is the portable reference on the plain layout.
var gemmGo = gemmKernel{
	name: "go",
	pack: func(p *Weights, w []int8) { copy(p.data, w) },
	requant: func(dst []int8, ldDst int, src []int8, ldSrc int, rows int, w *Weights, bias []int32, rq *Requant) {
		gemmRequantRef(dst, ldDst, src, ldSrc, rows, w.data, w.m, w.k, bias, rq)
	},
	int32: func(dst []int32, ldDst int, src []int8, ldSrc int, rows int, w *Weights) {
		gemmInt32Ref(dst, ldDst, src, ldSrc, rows, w.data, w.m, w.k)
	},
}

// gemmK is the GEMMs' entry in the registry: the implementation new
// Weights are packed for, chosen once from the CPU's features
// (gemm_arm64.go registers the assembly).
var gemmK = newKernel(&gemmGo, NameGemmRequant, NameGemmInt32)
