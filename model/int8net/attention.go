package int8net

import (
	"errors"
	"fmt"
	"slices"

	"github.com/coatnet-edge/coatnet-edge/kernels"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/engine"
	"github.com/coatnet-edge/coatnet-edge/model/graph"
)

// AttentionParams is relative multi-head attention of q, k and v tensors
// (zero point 0): Heads heads of DimHead channels, the integer softmax,
// the P.V requantization and the relative-position table, Heads x
// (2*side-1)^2 in timm's (query - key) offset order, in logit units
// (pre-softmax form) or Q8 probability units (post-softmax form).
type AttentionParams struct {
	Heads, DimHead int
	Form           arch.AttentionForm
	Softmax        kernels.SoftmaxParams
	Mult, Shift    int32 // P.V
	RelPos         []int32
}

func init() { registerInt8(graph.OpAttention, 3, func() Params { return new(AttentionParams) }) }

func (p *AttentionParams) Kind() graph.OpKind { return graph.OpAttention }
func (p *AttentionParams) Variant() string    { return "attention " + string(p.Form) }

func (p *AttentionParams) Kernels() []string {
	return []string{kernels.NamePackStrided, kernels.NamePackTransposed, kernels.NameGemmInt32, kernels.NameAttentionSoftmax, kernels.NameGemmRequant}
}

func (p *AttentionParams) arrays() []int8Array { return []int8Array{i32Array("relpos", &p.RelPos)} }

// maxAttentionTokens is the longest attention row kernels.SoftmaxRow keeps
// within int32 (MaxScratchBytes allows about 14,600 in any case).
const maxAttentionTokens = 32768

func (p *AttentionParams) check(s *opShape) error {
	in, k, v, out := s.in[0], s.in[1], s.in[2], s.out
	c := s.c()
	if p.Heads < 1 || p.DimHead < 1 || p.Heads*p.DimHead != c || s.ic() != c || k.Channels != c || v.Channels != c ||
		in.Side != out.Side || k.Side != out.Side || v.Side != out.Side ||
		p.Form != arch.PreSoftmax && p.Form != arch.PostSoftmax {
		return errors.New("shape or parameters")
	}
	if in.ZeroPoint != 0 || k.ZeroPoint != 0 || v.ZeroPoint != 0 {
		return errors.New("q, k and v must be symmetric")
	}
	if n := out.Pixels(); n > maxAttentionTokens {
		return fmt.Errorf("attention over %d tokens, the integer softmax takes at most %d", n, maxAttentionTokens)
	}
	span := 2*out.Side - 1
	if err := s.lengths(p, p.Heads*span*span); err != nil {
		return err
	}
	sm := &p.Softmax
	if sm.Q < 1 || sm.Q > 255 || sm.ZeroPoint < -128 || sm.ZeroPoint > 127 {
		return errors.New("softmax steps or zero point out of range")
	}
	return checkShifts(p.Shift, sm.ExpShift)
}

func (p *AttentionParams) cost(s *opShape, pl *int8Plan) int64 {
	px, c := int64(s.out.Pixels()), int64(s.c())
	span := int64(2*s.out.Side - 1)
	pl.weightBytes = engine.AddSat(pl.weightBytes, engine.MulSat(4, int64(p.Heads), span, span))
	pl.attnN, pl.attnD = max(pl.attnN, px), max(pl.attnD, int64(p.DimHead))
	if sh := [2]int{int(px), p.DimHead}; !slices.Contains(pl.attnShapes, sh) {
		pl.attnShapes = append(pl.attnShapes, sh)
		pl.packs = engine.AddSat(pl.packs, engine.AddSat(packedBytes(sh[0], sh[1]), packedBytes(sh[1], sh[0])))
	}
	return engine.MulSat(2, px, px, c)
}

func (p *AttentionParams) fromFile(f *FileOp) error {
	if f.Softmax == nil {
		return errors.New("shape or parameters")
	}
	p.Heads, p.DimHead, p.Form, p.Mult, p.Shift = f.Heads, f.DimHead, f.Form, f.Mult, f.Shift
	p.Softmax = f.Softmax.params()
	return nil
}

func (p *AttentionParams) toFile(f *FileOp) {
	f.Heads, f.DimHead, f.Form, f.Mult, f.Shift = p.Heads, p.DimHead, p.Form, p.Mult, p.Shift
	f.Softmax = fileSoftmax(&p.Softmax)
}

type attentionRun struct {
	int8Base
	p      *AttentionParams
	attn   int     // index of its shape in the plan's attnShapes
	relpos []int32 // the bias tables reversed, as kernels.AttentionSoftmax takes them
	rq     kernels.Requant
}

func (p *AttentionParams) prepare(b int8Base) int8Runner {
	r := &attentionRun{int8Base: b, p: p, rq: requant([]int32{p.Mult}, []int32{p.Shift}, b.out)}
	r.attn = slices.Index(b.net.plan.attnShapes, [2]int{b.out.Pixels(), p.DimHead})
	// timm indexes the table by the query's offset from the key; the
	// kernel by the key's from the query: each head's table reversed.
	tab := p.RelPos
	r.relpos = make([]int32, len(tab))
	span2 := len(tab) / p.Heads
	for h := range p.Heads {
		for j := range span2 {
			r.relpos[h*span2+j] = tab[h*span2+span2-1-j]
		}
	}
	return r
}

// run splits the heads.
func (r *attentionRun) run()             { r.net.runTasks(r, r.split()) }
func (r *attentionRun) split() taskSplit { return even(r.p.Heads, 1) }

// Do runs heads [lo, hi): logits Q.K^T in int32, the integer softmax with
// the relative position bias added before it (pre-softmax form, in logit
// units) or after it (post-softmax form, in probability units), and P.V
// as an int8 GEMM.
func (r *attentionRun) Do(worker, lo, hi int) {
	n := r.net
	side := r.out.Side
	np, d := side*side, r.p.DimHead
	a := r.p.Heads * d
	span2 := (2*side - 1) * (2*side - 1)
	q, k, v := r.input(0), r.input(1), r.input(2)
	out := r.output()
	scores := n.scores[worker][:np*np]
	probs := n.probs[worker][:np*np]
	kw, vw := n.kw[worker][r.attn], n.vw[worker][r.attn]
	vsum, vbias := n.vsum[worker][:d], n.vbias[worker][:d]
	tmp := n.attnTmp[worker][:2*np]
	zp := r.p.Softmax.ZeroPoint
	post := r.p.Form == arch.PostSoftmax
	for h := lo; h < hi; h++ {
		// Keys and values are the weight operand of their products, which
		// the kernels take in [-127, 127] (a pair of -128 x -128 products
		// overflows the int16 sums of the pre-dot-product NEON path): the
		// packs clamp them.
		kw.PackStrided(k[h*d:], a)
		vw.PackTransposed(v[h*d:], a, vsum)
		kernels.GemmInt32(scores, np, q[h*d:], a, np, kw)
		kernels.AttentionSoftmax(probs, scores, side, r.relpos[h*span2:(h+1)*span2], post, &r.p.Softmax, 0, np, tmp)
		// sum_j (p_j - zp) v_j = sum_j p_j v_j - zp * sum_j v_j
		for e, s := range vsum {
			vbias[e] = -zp * s
		}
		kernels.GemmRequant(out[h*d:], a, probs, np, np, vw, vbias, &r.rq)
	}
}
