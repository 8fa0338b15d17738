package quant

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/coatnet-edge/coatnet-edge/kernels"
	"github.com/coatnet-edge/coatnet-edge/model/graph"
	"github.com/coatnet-edge/coatnet-edge/model/int8net"
)

// symmetricTensors are the tensors that must have zero point 0: the inputs
// of attention, whose products go straight into int32 logits.
func symmetricTensors(g *graph.Graph) map[graph.TensorID]bool {
	sym := map[graph.TensorID]bool{}
	for _, op := range g.Ops {
		if op.Kind == graph.OpAttention {
			for _, t := range op.In {
				sym[t] = true
			}
		}
	}
	return sym
}

// chooseScales picks each tensor's quantization from the statistics. Pools
// (the kinds of keepsInputQuant) keep their input's quantization, so they
// compute in the code domain without rescaling. Means get their own: an
// average spans much less than the values averaged (the squeeze-excite
// input after SiLU, for one), and keeping the input's scale cost up to
// 8 dB of SQNR there. Tensors are
// independent: threads goroutines (0: one per CPU) share them. cands are
// every tensor's candidates, for refine; the tensors deriveScales sets
// have none.
func chooseScales(g *graph.Graph, s *Stats, threads int) (out []int8net.QTensor, cands [][]Candidate) {
	sym := symmetricTensors(g)
	out = make([]int8net.QTensor, len(g.Tensors))
	cands = make([][]Candidate, len(g.Tensors))
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(threads, len(g.Tensors)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < len(g.Tensors); i = int(next.Add(1)) - 1 {
				cands[i] = s.tensors[i].candidates(sym[graph.TensorID(i)])
				c := choose(cands[i])
				out[i] = int8net.QTensor{GraphTensor: g.Tensors[i], QParams: c.QParams, Method: c.Method}
			}
		}()
	}
	wg.Wait()
	for _, t := range deriveScales(g, out) {
		cands[t] = nil
	}
	return out, cands
}

// deriveScales sets the quantization of the tensors that have no choice
// of their own, and returns them: pools keep their input's, the logits
// stay float.
func deriveScales(g *graph.Graph, out []int8net.QTensor) (derived []graph.TensorID) {
	for _, op := range g.Ops {
		switch {
		case keepsInputQuant[op.Kind]:
			out[op.Out].QParams = out[op.In[0]].QParams
			out[op.Out].Method = "input's"
		case op.Kind == graph.OpLogits:
			out[op.Out].QParams = int8net.QParams{Scale: 1}
			out[op.Out].Method = "float"
		default:
			continue
		}
		derived = append(derived, op.Out)
	}
	return derived
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
// program whose operations hold their arrays: each op by its kind's rule
// (rules.go). inputMeans, when not nil, gives each tensor's per-channel
// calibration mean: convolutions then get bias correction (Nagel et al.
// 2019), which cancels the mean shift their weight rounding causes.
func Build(g *graph.Graph, tensors []int8net.QTensor, inputMeans [][]float64) (*int8net.Program, error) {
	p := &int8net.Program{Tensors: tensors}
	for i := range g.Ops {
		op := &g.Ops[i]
		rule, ok := rules[op.Kind]
		if !ok {
			return nil, fmt.Errorf("%s: no quantization rule for %s", op.Name, op.Kind)
		}
		var means []float64
		if inputMeans != nil {
			means = inputMeans[op.In[0]]
		}
		params, err := rule(op, tensors, means)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op.Name, err)
		}
		p.Ops = append(p.Ops, int8net.QOp{Name: op.Name, Kind: op.Kind, In: op.In, Out: op.Out, Params: params})
	}
	return p, nil
}

// biasCorrection is, per output channel, the expected output change the
// weight rounding causes on inputs with the given per-channel means:
// sum over taps of (dequantized - float weight) * mean. Zero without means.
func biasCorrection(op *graph.Op, wq []int8, ws []float64, m int, means []float64) []float64 {
	corr := make([]float64, m)
	if means == nil {
		return corr
	}
	cin := len(means)
	if op.Kind == graph.OpDepthwise {
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
