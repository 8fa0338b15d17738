package quant

import (
	"math"

	"github.com/coatnet-edge/coatnet-edge/kernels"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/graph"
	"github.com/coatnet-edge/coatnet-edge/model/int8net"
)

// rule quantizes one float operation: tensors hold every tensor's chosen
// quantization, means (nil without calibration statistics) the
// per-channel means of the op's first input.
type rule func(op *graph.Op, tensors []int8net.QTensor, means []float64) (int8net.Params, error)

// rules holds how each kind of operation is quantized, one entry per kind.
var rules = map[graph.OpKind]rule{
	graph.OpConv:      quantizeConv,
	graph.OpDepthwise: quantizeDepthwiseOp,
	graph.OpAct:       quantizeAct,
	graph.OpAffine:    quantizeAffine,
	graph.OpPool:      quantizePool,
	graph.OpMean:      quantizeMean,
	graph.OpMaxPixels: quantizeMaxPixels,
	graph.OpScale:     quantizeScale,
	graph.OpAdd:       quantizeAdd,
	graph.OpLayerNorm: quantizeLayerNorm,
	graph.OpAttention: quantizeAttention,
	graph.OpLogits:    quantizeLogits,
}

// keepsInputQuant are the kinds whose output keeps their input's
// quantization (chooseScales): they pick codes or average them, so they
// compute in the code domain with no requantization.
var keepsInputQuant = map[graph.OpKind]bool{graph.OpPool: true, graph.OpMaxPixels: true}

// ioParams are the quantization of op's first input and its output.
func ioParams(op *graph.Op, tensors []int8net.QTensor) (in, out int8net.QParams) {
	return tensors[op.In[0]].QParams, tensors[op.Out].QParams
}

// convWeights quantizes a convolution's or depthwise convolution's
// weights per output channel and folds the input zero point and the bias
// correction into int32 biases.
func convWeights(op *graph.Op, tensors []int8net.QTensor, means []float64) (wq []int8, bias, mult, shift []int32) {
	in, out := ioParams(op, tensors)
	m := tensors[op.Out].Channels
	var ws []float64
	if op.Kind == graph.OpConv {
		wq, ws = quantizeRows(op.W, m)
	} else {
		wq, ws = quantizeDepthwise(op.W, m)
	}
	k := len(wq) / m
	bias = make([]int32, m)
	reals := make([]float64, m)
	corr := biasCorrection(op, wq, ws, m, means)
	for c := 0; c < m; c++ {
		var sum int64
		if op.Kind == graph.OpConv {
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
	mult, shift = multipliers(reals)
	return wq, bias, mult, shift
}

func quantizeConv(op *graph.Op, tensors []int8net.QTensor, means []float64) (int8net.Params, error) {
	p := &int8net.ConvParams{Kernel: op.Kernel, Stride: op.Stride}
	p.Weight, p.Bias, p.Mult, p.Shift = convWeights(op, tensors, means)
	return p, nil
}

func quantizeDepthwiseOp(op *graph.Op, tensors []int8net.QTensor, means []float64) (int8net.Params, error) {
	p := &int8net.DepthwiseParams{Stride: op.Stride}
	p.Weight, p.Bias, p.Mult, p.Shift = convWeights(op, tensors, means)
	return p, nil
}

func quantizeAffine(op *graph.Op, tensors []int8net.QTensor, _ []float64) (int8net.Params, error) {
	in, out := ioParams(op, tensors)
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
	p := &int8net.AffineParams{Weight: wq, Bias: bias}
	p.Mult, p.Shift = multipliers(reals)
	return p, nil
}

func quantizeAct(op *graph.Op, tensors []int8net.QTensor, _ []float64) (int8net.Params, error) {
	in, out := ioParams(op, tensors)
	return &int8net.ActParams{Func: op.Act, LUT: lut(op.Act, in, out)}, nil
}

// lut tabulates an activation from input codes to output codes.
func lut(act string, in, out int8net.QParams) []int8 {
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

// quantizePool needs nothing: chooseScales gave the output its input's
// quantization.
func quantizePool(op *graph.Op, _ []int8net.QTensor, _ []float64) (int8net.Params, error) {
	return &int8net.PoolParams{Mode: op.Pool}, nil
}

func quantizeMean(op *graph.Op, tensors []int8net.QTensor, _ []float64) (int8net.Params, error) {
	in, out := ioParams(op, tensors)
	n := tensors[op.In[0]].Pixels()
	p := &int8net.MeanParams{}
	p.Mult, p.Shift = kernels.QuantizeMultiplier(in.Scale / (float64(n) * out.Scale))
	return p, nil
}

// quantizeMaxPixels needs nothing: quantization is increasing, so the
// largest input code is exactly the code of the float maximum at the
// input's quantization, which chooseScales gives the output. An own scale
// would gain nothing: unlike a mean, whose values fall between the
// input's codes, a maximum only takes values those codes hold, so a finer
// grid would add a requantization's rounding and no information.
func quantizeMaxPixels(*graph.Op, []int8net.QTensor, []float64) (int8net.Params, error) {
	return &int8net.MaxPixelsParams{}, nil
}

func quantizeScale(op *graph.Op, tensors []int8net.QTensor, _ []float64) (int8net.Params, error) {
	in, out := ioParams(op, tensors)
	gate := tensors[op.In[1]].QParams
	p := &int8net.ScaleParams{}
	p.Mult, p.Shift = kernels.QuantizeMultiplier(in.Scale * gate.Scale / out.Scale)
	return p, nil
}

func quantizeAdd(op *graph.Op, tensors []int8net.QTensor, _ []float64) (int8net.Params, error) {
	in, out := ioParams(op, tensors)
	b := tensors[op.In[1]].QParams
	return &int8net.AddParams{Add: kernels.NewAddParams(in.Scale, in.ZeroPoint, b.Scale, b.ZeroPoint, out.Scale, out.ZeroPoint)}, nil
}

func quantizeLayerNorm(op *graph.Op, tensors []int8net.QTensor, _ []float64) (int8net.Params, error) {
	in, out := ioParams(op, tensors)
	m := len(op.W)
	reals := make([]float64, m)
	bias := make([]int32, m)
	for c := range reals {
		reals[c] = float64(op.W[c]) / (out.Scale * 4096)
		bias[c] = clamp32(float64(op.B[c])/out.Scale) + out.ZeroPoint
	}
	p := &int8net.LayerNormParams{Bias: bias, Eps: op.Eps / (in.Scale * in.Scale)}
	p.Mult, p.Shift = multipliers(reals)
	return p, nil
}

// quantizeAttention sets the softmax and PV parameters and the
// relative-position table: in logit units for the pre-softmax form, in Q8
// probability units for the post-softmax form.
func quantizeAttention(op *graph.Op, tensors []int8net.QTensor, _ []float64) (int8net.Params, error) {
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
	p := &int8net.AttentionParams{Heads: op.Heads, DimHead: op.DimHead, Form: op.Form,
		Softmax: kernels.NewSoftmaxParams(logitScale, steps, zp), RelPos: table}
	p.Mult, p.Shift = kernels.QuantizeMultiplier(sv / (float64(steps) * out.Scale))
	return p, nil
}

func quantizeLogits(op *graph.Op, tensors []int8net.QTensor, _ []float64) (int8net.Params, error) {
	in, _ := ioParams(op, tensors)
	m := len(op.B)
	wq, ws := quantizeRows(op.W, m)
	scale := make([]float32, m)
	for c := range scale {
		scale[c] = float32(in.Scale * ws[c])
	}
	return &int8net.LogitsParams{Weight: wq, Bias: op.B, Scale: scale}, nil
}
