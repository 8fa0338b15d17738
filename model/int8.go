package model

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/coatnet-edge/coatnet-edge/kernels"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
)

// KindInt8 marks a model file holding a quantized program: the graph's
// operations with int8 weights, int32 biases, fixed-point multipliers and
// lookup tables, laid out as the kernels in package arm64 take them
// (convolution weights [out][in], which the engine packs into
// kernels.Weights once when it loads them).
const KindInt8 = "coatnet-int8"

// QParams is an int8 tensor's affine quantization: real = Scale*(q - ZeroPoint).
type QParams struct {
	Scale     float64 `json:"scale"`
	ZeroPoint int32   `json:"zero_point"`
}

// Quantize maps a real value to the nearest int8 code.
func (q QParams) Quantize(x float64) int8 {
	return int8(max(-128, min(127, math.Round(x/q.Scale)+float64(q.ZeroPoint))))
}

// Dequantize maps a code back to its real value.
func (q QParams) Dequantize(v int8) float64 { return q.Scale * float64(int32(v)-q.ZeroPoint) }

// QTensor is a tensor of the quantized program with its scale and how the
// scale was chosen.
type QTensor struct {
	GraphTensor
	QParams
	Method string  `json:"method,omitempty"`  // calibration rule that won (minmax, p99.99, mse, ...)
	SQNR   float64 `json:"sqnr_db,omitempty"` // signal to quantization noise on the calibration set
}

// QOp is one operation of the quantized program. Array parameters live in
// the model file as tensors named Name+"/"+role (weight, bias, mult, shift,
// lut, relpos, scale); scalars are here.
type QOp struct {
	Name    string             `json:"name"`
	Kind    OpKind             `json:"kind"`
	In      []TensorID         `json:"in"`
	Out     TensorID           `json:"out"`
	Kernel  int                `json:"kernel,omitempty"`
	Stride  int                `json:"stride,omitempty"`
	Pool    string             `json:"pool,omitempty"`
	Act     string             `json:"act,omitempty"`
	Heads   int                `json:"heads,omitempty"`
	DimHead int                `json:"dim_head,omitempty"`
	Form    arch.AttentionForm `json:"form,omitempty"`

	Add     *kernels.AddParams     `json:"add,omitempty"`     // add
	Softmax *kernels.SoftmaxParams `json:"softmax,omitempty"` // attention probabilities
	Mult    int32                  `json:"mult,omitempty"`    // per-tensor multiplier (mean, scale, attention PV)
	Shift   int32                  `json:"shift,omitempty"`
	Eps     float64                `json:"eps,omitempty"` // layernorm: eps / input scale^2
}

// Program is a quantized network: tensors with their quantization, and the
// operations that compute them, in order. Tensor 0 is the input.
type Program struct {
	Tensors []QTensor `json:"tensors"`
	Ops     []QOp     `json:"ops"`
}

// Int8Metadata is the description stored in an int8 model file: the
// common description plus how it was calibrated and the program.
type Int8Metadata struct {
	Metadata
	Calibration string  `json:"calibration"`
	Program     Program `json:"program"`
}

// arrays names the array parameters each kind of op reads, with their
// element type: 'b' int8, 'i' int32, 'f' float32.
var arrays = map[OpKind][]struct {
	role string
	typ  byte
}{
	OpConv:      {{"weight", 'b'}, {"bias", 'i'}, {"mult", 'i'}, {"shift", 'i'}},
	OpDepthwise: {{"weight", 'b'}, {"bias", 'i'}, {"mult", 'i'}, {"shift", 'i'}},
	OpAffine:    {{"weight", 'b'}, {"bias", 'i'}, {"mult", 'i'}, {"shift", 'i'}},
	OpLayerNorm: {{"mult", 'i'}, {"shift", 'i'}, {"bias", 'i'}},
	OpAct:       {{"lut", 'b'}},
	OpAttention: {{"relpos", 'i'}},
	OpLogits:    {{"weight", 'b'}, {"bias", 'f'}, {"scale", 'f'}},
}

// maxAttentionTokens is the longest attention row kernels.SoftmaxRow keeps
// within int32 (MaxScratchBytes allows about 14,600 in any case).
const maxAttentionTokens = 32768

// ErrBadProgram wraps every inconsistency found in a quantized program.
var ErrBadProgram = errors.New("invalid int8 program")

// validate checks the program's structure: tensor references, shapes of
// each operation, and that every array parameter is present with the right
// length. Arrays are passed by name.
func (p *Program) validate(cfg *arch.Config, int8s map[string][]int8, int32s map[string][]int32, f32s map[string][]float32) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	nt := TensorID(len(p.Tensors))
	if nt == 0 || len(p.Ops) == 0 {
		return fmt.Errorf("%w: no tensors or no operations", ErrBadProgram)
	}
	if t := p.Tensors[0]; t.Side != cfg.ImgSize || t.Channels != cfg.InChans {
		bad("input tensor is %dx%dx%d, the config says %dx%dx%d", t.Side, t.Side, t.Channels, cfg.ImgSize, cfg.ImgSize, cfg.InChans)
	}
	for i, t := range p.Tensors {
		if t.Side < 1 || t.Side > 4096 || t.Channels < 1 || t.Channels > 1<<16 {
			bad("tensor %d %q: shape %dx%dx%d out of range", i, t.Name, t.Side, t.Side, t.Channels)
		}
		if !(t.Scale > 0) || math.IsInf(t.Scale, 0) || t.ZeroPoint < -128 || t.ZeroPoint > 127 {
			bad("tensor %d %q: scale %v zero point %d", i, t.Name, t.Scale, t.ZeroPoint)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrBadProgram, errors.Join(errs...))
	}
	written := make([]bool, nt)
	written[0] = true
	for i := range p.Ops {
		op := &p.Ops[i]
		if op.Out <= 0 || op.Out >= nt || written[op.Out] {
			bad("op %d %q: output tensor %d invalid or written twice", i, op.Name, op.Out)
			continue
		}
		ins := map[OpKind]int{OpAdd: 2, OpScale: 2, OpAttention: 3}[op.Kind]
		if ins == 0 {
			ins = 1
		}
		if len(op.In) != ins {
			bad("op %d %q: %d inputs, %s takes %d", i, op.Name, len(op.In), op.Kind, ins)
			continue
		}
		ok := true
		for _, in := range op.In {
			if in < 0 || in >= nt || !written[in] {
				bad("op %d %q: input tensor %d not computed before it", i, op.Name, in)
				ok = false
			}
		}
		if !ok {
			continue
		}
		written[op.Out] = true
		if err := op.check(p, i == len(p.Ops)-1, cfg, int8s, int32s, f32s); err != nil {
			bad("op %d %q: %v", i, op.Name, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrBadProgram, errors.Join(errs...))
	}
	if last := p.Ops[len(p.Ops)-1]; last.Kind != OpLogits || p.Tensors[last.Out].Channels != cfg.NumClasses {
		bad("the program must end with %d logits", cfg.NumClasses)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrBadProgram, errors.Join(errs...))
	}
	return nil
}

// check verifies one operation's shapes and arrays.
func (op *QOp) check(p *Program, last bool, cfg *arch.Config, int8s map[string][]int8, int32s map[string][]int32, f32s map[string][]float32) error {
	in, out := &p.Tensors[op.In[0]], &p.Tensors[op.Out]
	c, ic := out.Channels, in.Channels
	half := (in.Side-1)/2 + 1
	want := map[string]int{}
	switch op.Kind {
	case OpConv:
		if op.Kernel != 1 && op.Kernel != 3 || op.Stride != 1 && op.Stride != 2 || op.Kernel == 1 && op.Stride != 1 {
			return fmt.Errorf("kernel %d stride %d", op.Kernel, op.Stride)
		}
		if side := []int{in.Side, half}[op.Stride-1]; out.Side != side {
			return fmt.Errorf("output side %d, want %d", out.Side, side)
		}
		want["weight"] = c * op.Kernel * op.Kernel * ic
		want["bias"], want["mult"], want["shift"] = c, c, c
	case OpDepthwise, OpAffine:
		stride := 1
		if op.Kind == OpDepthwise {
			stride = op.Stride
		}
		if stride != 1 && stride != 2 || c != ic || out.Side != []int{in.Side, half}[stride-1] {
			return fmt.Errorf("shape %dx%d -> %dx%d stride %d", in.Side, ic, out.Side, c, stride)
		}
		want["weight"] = c
		if op.Kind == OpDepthwise {
			want["weight"] = 9 * c
		}
		want["bias"], want["mult"], want["shift"] = c, c, c
	case OpAct:
		if c != ic || out.Side != in.Side {
			return errors.New("shape changes")
		}
		want["lut"] = 256
	case OpPool:
		if op.Pool != "avg2" && op.Pool != "max" && op.Pool != "sub" || c != ic || out.Side != half || in.Side%2 != 0 && op.Pool == "avg2" {
			return fmt.Errorf("pool %q %dx%d -> %dx%d", op.Pool, in.Side, ic, out.Side, c)
		}
		if out.QParams != in.QParams {
			return errors.New("a pool must keep its input's quantization")
		}
	case OpMean:
		if c != ic || out.Side != 1 {
			return errors.New("shape")
		}
	case OpScale:
		g := &p.Tensors[op.In[1]]
		if c != ic || out.Side != in.Side || g.Channels != c || g.Side != 1 {
			return errors.New("shape")
		}
	case OpAdd:
		b := &p.Tensors[op.In[1]]
		if c != ic || b.Channels != c || b.Side != in.Side || out.Side != in.Side || op.Add == nil {
			return errors.New("shape or parameters")
		}
	case OpLayerNorm:
		if c != ic || out.Side != in.Side || !(op.Eps >= 0) || math.IsInf(op.Eps, 1) {
			return errors.New("shape or eps")
		}
		want["mult"], want["shift"], want["bias"] = c, c, c
	case OpAttention:
		k, v := &p.Tensors[op.In[1]], &p.Tensors[op.In[2]]
		if op.Heads < 1 || op.DimHead < 1 || op.Heads*op.DimHead != c || ic != c || k.Channels != c || v.Channels != c ||
			in.Side != out.Side || k.Side != out.Side || v.Side != out.Side || op.Softmax == nil ||
			op.Form != arch.PreSoftmax && op.Form != arch.PostSoftmax {
			return errors.New("shape or parameters")
		}
		if in.ZeroPoint != 0 || k.ZeroPoint != 0 || v.ZeroPoint != 0 {
			return errors.New("q, k and v must be symmetric")
		}
		if n := out.Pixels(); n > maxAttentionTokens {
			return fmt.Errorf("attention over %d tokens, the integer softmax takes at most %d", n, maxAttentionTokens)
		}
		span := 2*out.Side - 1
		want["relpos"] = op.Heads * span * span
	case OpLogits:
		if !last || out.Side != 1 || in.Side != 1 {
			return errors.New("logits must be last and take a vector")
		}
		want["weight"], want["bias"], want["scale"] = c*ic, c, c
	default:
		return fmt.Errorf("unknown kind %q", op.Kind)
	}
	for _, a := range arrays[op.Kind] {
		key := op.Name + "/" + a.role
		n, ok := 0, false
		switch a.typ {
		case 'b':
			var v []int8
			v, ok = int8s[key]
			n = len(v)
		case 'i':
			var v []int32
			v, ok = int32s[key]
			n = len(v)
		case 'f':
			var v []float32
			v, ok = f32s[key]
			n = len(v)
		}
		if !ok {
			return fmt.Errorf("array %s is missing", key)
		}
		if w, set := want[a.role]; set && n != w {
			return fmt.Errorf("array %s has %d values, want %d", key, n, w)
		}
	}
	badShift := func(v int32) bool { return v < -31 || v > 31 }
	if s, ok := int32s[op.Name+"/shift"]; ok && slices.ContainsFunc(s, badShift) {
		return errors.New("a shift is outside [-31, 31]")
	}
	shifts := []int32{op.Shift}
	if a := op.Add; a != nil {
		shifts = append(shifts, a.ShiftA, a.ShiftB, a.ShiftOut)
		for _, z := range []int32{a.ZeroA, a.ZeroB, a.ZeroOut} {
			if z < -128 || z > 127 {
				return errors.New("an add zero point is outside [-128, 127]")
			}
		}
	}
	if sm := op.Softmax; sm != nil {
		shifts = append(shifts, sm.ExpShift)
		if sm.Q < 1 || sm.Q > 255 || sm.ZeroPoint < -128 || sm.ZeroPoint > 127 {
			return errors.New("softmax steps or zero point out of range")
		}
	}
	if slices.ContainsFunc(shifts, badShift) {
		return errors.New("a shift is outside [-31, 31]")
	}
	return nil
}
