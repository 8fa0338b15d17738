package int8net

import (
	"errors"
	"fmt"
	"math"

	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/graph"
)

// FileKind marks a model file holding a quantized program: the graph's
// operations with int8 weights, int32 biases, fixed-point multipliers and
// lookup tables, laid out as the kernels of package kernels take them
// (convolution weights [out][in], which the engine packs into
// kernels.Weights once when it loads them).
const FileKind = "coatnet-int8"

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
	graph.GraphTensor

	QParams
	Method string  `json:"method,omitempty"`  // calibration rule that won (minmax, p99.99, mse, ...)
	SQNR   float64 `json:"sqnr_db,omitempty"` // signal to quantization noise on the calibration set
}

// QOp is one operation of the quantized program: its tensors and its
// kind's typed parameters and arrays (*ConvParams for OpConv, and so on:
// see Params). The file stores it as a FileOp.
type QOp struct {
	Name   string
	Kind   graph.OpKind
	In     []graph.TensorID
	Out    graph.TensorID
	Params Params // of Kind
}

// Program is a quantized network: tensors with their quantization, and the
// operations that compute them, in order. Tensor 0 is the input.
type Program struct {
	Tensors []QTensor
	Ops     []QOp
}

// Description is the description of an int8 model: the common
// description plus how it was calibrated and the program. The file stores
// it as an File.
type Description struct {
	arch.Metadata

	Calibration string
	Program     Program
}

// ErrBadProgram wraps every inconsistency found in a quantized program.
var ErrBadProgram = errors.New("invalid int8 program")

// validate checks the program's structure: tensor references, and each
// operation's shapes, scalars and array lengths (its kind's check).
func (p *Program) validate(cfg *arch.Config) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	nt := graph.TensorID(len(p.Tensors))
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
		k, known := int8Kinds[op.Kind]
		if !known || op.Params == nil || op.Params.Kind() != op.Kind {
			bad("op %d %q: unknown kind %q or parameters not of it", i, op.Name, op.Kind)
			continue
		}
		if ins := k.inputs; len(op.In) != ins {
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
		if err := op.Params.check(p.shape(op, i == len(p.Ops)-1)); err != nil {
			bad("op %d %q: %v", i, op.Name, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrBadProgram, errors.Join(errs...))
	}
	if last := p.Ops[len(p.Ops)-1]; last.Kind != graph.OpLogits || p.Tensors[last.Out].Channels != cfg.NumClasses {
		bad("the program must end with %d logits", cfg.NumClasses)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrBadProgram, errors.Join(errs...))
	}
	return nil
}

// shape is op's tensors.
func (p *Program) shape(op *QOp, last bool) *opShape {
	s := &opShape{out: &p.Tensors[op.Out], last: last}
	for _, t := range op.In {
		s.in = append(s.in, &p.Tensors[t])
	}
	return s
}
