package quant

import (
	"fmt"
	"math"

	"github.com/coatnet-edge/coatnet-edge/internal/parallel"
	"github.com/coatnet-edge/coatnet-edge/kernels"
	"github.com/coatnet-edge/coatnet-edge/model"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
)

// Arrays are a program's array parameters by name (op name + "/" + role).
type Arrays struct {
	Int8    map[string][]int8
	Int32   map[string][]int32
	Float32 map[string][]float32
}

// symmetricTensors are the tensors that must have zero point 0: the inputs
// of attention, whose products go straight into int32 logits.
func symmetricTensors(g *model.Graph) map[model.TensorID]bool {
	sym := map[model.TensorID]bool{}
	for _, op := range g.Ops {
		if op.Kind == model.OpAttention {
			for _, t := range op.In {
				sym[t] = true
			}
		}
	}
	return sym
}

// chooseScales picks each tensor's quantization from the statistics. Pools
// keep their input's quantization, so they compute in the code domain
// without rescaling. Means get their own: an average spans much less than
// the values averaged (the squeeze-excite input after SiLU, for one), and
// keeping the input's scale cost up to 8 dB of SQNR there. Tensors are
// independent: a pool of threads goroutines (0: one per CPU) shares them.
func chooseScales(g *model.Graph, s *Stats, threads int) []model.QTensor {
	out := make([]model.QTensor, len(g.Tensors))
	pool := parallel.New(min(parallel.Count(threads), max(len(g.Tensors), 1)))
	pool.Run(&scaleJob{g: g, s: s, sym: symmetricTensors(g), out: out}, len(g.Tensors), 1)
	pool.Close()
	for _, op := range g.Ops {
		switch op.Kind {
		case model.OpPool:
			out[op.Out].QParams = out[op.In[0]].QParams
			out[op.Out].Method = "input's"
		case model.OpLogits:
			out[op.Out].QParams = model.QParams{Scale: 1}
			out[op.Out].Method = "float"
		}
	}
	return out
}

// scaleJob chooses the quantization of tensors [lo, hi): task i is tensor i.
type scaleJob struct {
	g   *model.Graph
	s   *Stats
	sym map[model.TensorID]bool
	out []model.QTensor
}

func (j *scaleJob) Do(_, lo, hi int) {
	for i := lo; i < hi; i++ {
		c := choose(j.s.tensors[i].candidates(j.sym[model.TensorID(i)]))
		j.out[i] = model.QTensor{GraphTensor: j.g.Tensors[i], QParams: c.QParams, Method: c.Method}
	}
}

// multipliers encodes per-channel reals as fixed-point multipliers.
func multipliers(reals []float64) (mult, shift []int32) {
	mult, shift = make([]int32, len(reals)), make([]int32, len(reals))
	for i, r := range reals {
		mult[i], shift[i] = kernels.QuantizeMultiplier(r)
	}
	return mult, shift
}

// quantizeRows quantizes m rows of W symmetrically per row into
// [-127, 127], returning the codes and each row's scale.
func quantizeRows(w []float32, m int) ([]int8, []float64) {
	k := len(w) / m
	q := make([]int8, len(w))
	scales := make([]float64, m)
	for r := 0; r < m; r++ {
		var a float64
		for _, v := range w[r*k : r*k+k] {
			a = max(a, math.Abs(float64(v)))
		}
		s := a / 127
		if s == 0 {
			s = 1
		}
		scales[r] = s
		for i, v := range w[r*k : r*k+k] {
			q[r*k+i] = int8(max(-127, min(127, math.Round(float64(v)/s))))
		}
	}
	return q, scales
}

// clamp32 rounds x to the nearest int32, saturating.
func clamp32(x float64) int32 {
	return int32(max(math.MinInt32, min(math.MaxInt32, math.Round(x))))
}

// Build turns a graph with chosen tensor quantization into an int8
// program and its arrays. inputMeans, when not nil, gives each tensor's
// per-channel calibration mean: convolutions then get bias correction
// (Nagel et al. 2019), which cancels the mean shift their weight
// rounding causes.
func Build(g *model.Graph, tensors []model.QTensor, inputMeans [][]float64) (*model.Program, *Arrays, error) {
	p := &model.Program{Tensors: tensors}
	a := &Arrays{Int8: map[string][]int8{}, Int32: map[string][]int32{}, Float32: map[string][]float32{}}
	for i := range g.Ops {
		op := &g.Ops[i]
		q := model.QOp{Name: op.Name, Kind: op.Kind, In: op.In, Out: op.Out, Kernel: op.Kernel, Stride: op.Stride,
			Pool: op.Pool, Act: op.Act, Heads: op.Heads, DimHead: op.DimHead, Form: op.Form}
		in, out := tensors[op.In[0]].QParams, tensors[op.Out].QParams
		key := op.Name + "/"
		switch op.Kind {
		case model.OpConv, model.OpDepthwise:
			m := tensors[op.Out].Channels
			var wq []int8
			var ws []float64
			if op.Kind == model.OpConv {
				wq, ws = quantizeRows(op.W, m)
			} else {
				wq, ws = quantizeDepthwise(op.W, m)
			}
			k := len(wq) / m
			bias := make([]int32, m)
			reals := make([]float64, m)
			var means []float64
			if inputMeans != nil {
				means = inputMeans[op.In[0]]
			}
			corr := biasCorrection(op, wq, ws, m, means)
			for c := 0; c < m; c++ {
				var sum int64
				if op.Kind == model.OpConv {
					for _, v := range wq[c*k : c*k+k] {
						sum += int64(v)
					}
				} else {
					for t := 0; t < 9; t++ {
						sum += int64(wq[t*m+c])
					}
				}
				// Inputs are codes q = x/s + z: subtract z * sum(w) once here.
				bias[c] = clamp32((float64(op.B[c])-corr[c])/(in.Scale*ws[c]) - float64(in.ZeroPoint)*float64(sum))
				reals[c] = in.Scale * ws[c] / out.Scale
			}
			a.Int8[key+"weight"], a.Int32[key+"bias"] = wq, bias
			a.Int32[key+"mult"], a.Int32[key+"shift"] = multipliers(reals)
		case model.OpAffine:
			m := len(op.W)
			wq := make([]int8, m)
			bias := make([]int32, m)
			reals := make([]float64, m)
			for c, w := range op.W {
				s := math.Abs(float64(w)) / 127
				if s == 0 {
					s = 1
				} else {
					wq[c] = int8(math.Copysign(127, float64(w)))
				}
				bias[c] = clamp32(float64(op.B[c])/(in.Scale*s) - float64(in.ZeroPoint)*float64(wq[c]))
				reals[c] = in.Scale * s / out.Scale
			}
			a.Int8[key+"weight"], a.Int32[key+"bias"] = wq, bias
			a.Int32[key+"mult"], a.Int32[key+"shift"] = multipliers(reals)
		case model.OpAct:
			a.Int8[key+"lut"] = lut(op.Act, in, out)
		case model.OpMean:
			n := tensors[op.In[0]].Pixels()
			q.Mult, q.Shift = kernels.QuantizeMultiplier(in.Scale / (float64(n) * out.Scale))
		case model.OpScale:
			gate := tensors[op.In[1]].QParams
			q.Mult, q.Shift = kernels.QuantizeMultiplier(in.Scale * gate.Scale / out.Scale)
		case model.OpAdd:
			b := tensors[op.In[1]].QParams
			ap := kernels.NewAddParams(in.Scale, in.ZeroPoint, b.Scale, b.ZeroPoint, out.Scale, out.ZeroPoint)
			q.Add = &ap
		case model.OpLayerNorm:
			m := len(op.W)
			reals := make([]float64, m)
			bias := make([]int32, m)
			for c := range reals {
				reals[c] = float64(op.W[c]) / (out.Scale * 4096)
				bias[c] = clamp32(float64(op.B[c])/out.Scale) + out.ZeroPoint
			}
			a.Int32[key+"mult"], a.Int32[key+"shift"] = multipliers(reals)
			a.Int32[key+"bias"] = bias
			q.Eps = op.Eps / (in.Scale * in.Scale)
		case model.OpAttention:
			if err := buildAttention(&q, op, tensors, a); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", op.Name, err)
			}
		case model.OpLogits:
			m := len(op.B)
			wq, ws := quantizeRows(op.W, m)
			scale := make([]float32, m)
			for c := range scale {
				scale[c] = float32(in.Scale * ws[c])
			}
			a.Int8[key+"weight"], a.Float32[key+"bias"], a.Float32[key+"scale"] = wq, op.B, scale
		}
		p.Ops = append(p.Ops, q)
	}
	return p, a, nil
}

// biasCorrection is, per output channel, the expected output change the
// weight rounding causes on inputs with the given per-channel means:
// sum over taps of (dequantized - float weight) * mean. Zero without means.
func biasCorrection(op *model.Op, wq []int8, ws []float64, m int, means []float64) []float64 {
	corr := make([]float64, m)
	if means == nil {
		return corr
	}
	cin := len(means)
	if op.Kind == model.OpDepthwise {
		for c := 0; c < m; c++ {
			for t := 0; t < 9; t++ {
				corr[c] += (float64(wq[t*m+c])*ws[c] - float64(op.W[t*m+c])) * means[c]
			}
		}
		return corr
	}
	k := len(wq) / m
	for c := 0; c < m; c++ {
		for i := 0; i < k; i++ {
			corr[c] += (float64(wq[c*k+i])*ws[c] - float64(op.W[c*k+i])) * means[i%cin]
		}
	}
	return corr
}

// quantizeDepthwise quantizes [9][C] weights per channel.
func quantizeDepthwise(w []float32, c int) ([]int8, []float64) {
	t := make([]float32, len(w))
	for ch := 0; ch < c; ch++ {
		for tap := 0; tap < 9; tap++ {
			t[ch*9+tap] = w[tap*c+ch]
		}
	}
	rows, scales := quantizeRows(t, c)
	q := make([]int8, len(w))
	for ch := 0; ch < c; ch++ {
		for tap := 0; tap < 9; tap++ {
			q[tap*c+ch] = rows[ch*9+tap]
		}
	}
	return q, scales
}

// lut tabulates an activation from input codes to output codes.
func lut(act string, in, out model.QParams) []int8 {
	f := map[string]func(float64) float64{
		"silu":    func(x float64) float64 { return x / (1 + math.Exp(-x)) },
		"gelu":    func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) },
		"relu":    func(x float64) float64 { return max(x, 0) },
		"sigmoid": func(x float64) float64 { return 1 / (1 + math.Exp(-x)) },
		"tanh":    math.Tanh,
	}[act]
	t := make([]int8, 256)
	for code := -128; code <= 127; code++ {
		t[uint8(int8(code))] = out.Quantize(f(in.Dequantize(int8(code))))
	}
	return t
}

// buildAttention sets the softmax and PV parameters and the
// relative-position table: in logit units for the pre-softmax form, in Q8
// probability units for the post-softmax form.
func buildAttention(q *model.QOp, op *model.Op, tensors []model.QTensor, a *Arrays) error {
	sq, sk, sv := tensors[op.In[0]].Scale, tensors[op.In[1]].Scale, tensors[op.In[2]].Scale
	out := tensors[op.Out].QParams
	logitScale := sq * sk
	table := make([]int32, len(op.RelTable))
	var steps, zp int32 = 255, -128
	if op.Form == arch.PostSoftmax {
		lo, hi := 0.0, 1.0
		for _, b := range op.RelTable {
			lo, hi = min(lo, float64(b)), max(hi, 1+float64(b))
		}
		steps = int32(max(1, min(255, math.Floor(255/(hi-lo)))))
		zp = int32(max(-128, min(127, -128-math.Round(lo*float64(steps)))))
		for i, b := range op.RelTable {
			table[i] = clamp32(float64(b) * float64(steps) * 256)
		}
	} else {
		for i, b := range op.RelTable {
			table[i] = clamp32(float64(b) / logitScale)
		}
	}
	sp := kernels.NewSoftmaxParams(logitScale, steps, zp)
	q.Softmax = &sp
	q.Mult, q.Shift = kernels.QuantizeMultiplier(sv / (float64(steps) * out.Scale))
	a.Int32[op.Name+"/relpos"] = table
	return nil
}
