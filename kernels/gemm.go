package kernels

import (
	"encoding/binary"
	"unsafe"
)

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
	if p.impl.sumPanels != nil {
		p.impl.sumPanels(p)
		return
	}
	if kc == 4 && nr%2 == 0 {
		p.setSums4()
		return
	}
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

// setSums4 is setSums for groups of 4 k (the x86 VNNI layouts), two
// channels' groups (8 bytes) at a time as a uint64: each byte biased to
// unsigned by XOR 0x80, the bytes added pairwise into 16-bit lanes (at most
// 510 a group, so 128 groups fit), the lanes folded into each channel's
// sum every 128 groups. It reads what setSums reads (every group, padding
// included: panels and groups are whole) in a fifth of the time.
func (p *Weights) setSums4() {
	const lo8 = 0x00FF00FF00FF00FF
	nr, kp := p.impl.nr, p.kp
	if len(p.data) == 0 {
		return
	}
	data := unsafe.Slice((*byte)(unsafe.Pointer(&p.data[0])), len(p.data)) // the same bytes, for binary
	for c0 := 0; c0 < p.m; c0 += nr {
		panel := data[c0*kp : (c0+nr)*kp]
		for j := 0; j < nr && c0+j < p.m; j += 2 {
			var s0, s1 int32
			for g0 := 0; g0 < kp; g0 += 4 * 128 {
				var acc uint64
				for g := g0; g < min(kp, g0+4*128); g += 4 {
					x := binary.LittleEndian.Uint64(panel[g*nr+j*4:]) ^ 0x8080808080808080
					acc += x&lo8 + x>>8&lo8
				}
				s0 += int32(acc&0xFFFF + acc>>16&0xFFFF)
				s1 += int32(acc>>32&0xFFFF + acc>>48)
			}
			// Each channel has kp values, each biased by 128.
			p.sums[c0+j] = -128 * (s0 - 128*int32(kp))
			if c0+j+1 < p.m {
				p.sums[c0+j+1] = -128 * (s1 - 128*int32(kp))
			}
		}
	}
}

// ChannelStep is what a [Weights.Channels] view must start at a multiple
// of: the implementation's panel of channels (1 for the plain layout).
func (p *Weights) ChannelStep() int { return max(p.impl.nr, 1) }

// Channels is a view of output channels [c0, c1) of p, sharing its packed
// values: a GEMM on it computes those channels alone, with the same
// results, reading only their weights. An engine splits a layer by
// channels with it where the weights outweigh the rows, so that each
// thread reads its share of the weights once. c0 must be a multiple of
// ChannelStep and c1 one too unless it is M.
func (p *Weights) Channels(c0, c1 int) *Weights {
	step := p.ChannelStep()
	if c0 < 0 || c1 > p.m || c0 > c1 || c0%step != 0 || c1 != p.m && c1%step != 0 {
		panic("kernels: Weights.Channels range is not on panel boundaries within m")
	}
	// Panels are kp*nr bytes apart; a ragged last one keeps its padding.
	end := (c1 + step - 1) / step * step
	v := &Weights{m: c1 - c0, k: p.k, kp: p.kp, impl: p.impl, data: p.data[c0*p.kp : end*p.kp]}
	if p.sums != nil {
		v.sums = p.sums[c0:end]
	}
	return v
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
	// nr is the number of channels of a packed panel (a power of two),
	// kc (4 or 16) the bytes of one channel that lie together; nr = 0 is
	// the plain [m][k] layout. K is padded to a multiple of 16 in panels.
	nr, kc int
	// sums: Pack also sets Weights.sums (the x+128 correction of VNNI);
	// sumPanels, where set, computes them from the packed panels in place
	// of setSums4.
	sums      bool
	sumPanels func(p *Weights)
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
