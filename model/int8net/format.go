package int8net

import (
	"errors"
	"fmt"

	"github.com/coatnet-edge/coatnet-edge/kernels"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/graph"
	"github.com/coatnet-edge/coatnet-edge/model/modelfile"
)

// The int8 model file's description, as stored. These structs own the
// format's key names, frozen as the first release wrote them (the "add"
// and "softmax" objects kept the Go field names of the kernel structs of
// the time); the engine's typed parameters convert to and from them, so
// renaming a kernel's field changes no file. Array parameters are tensors
// of the container named op name + "/" + role.

// File is the description stored in an int8 model file.
type File struct {
	arch.Metadata

	Calibration string      `json:"calibration"`
	Program     FileProgram `json:"program"`
}

// FileProgram is the program as stored: tensors, then operations.
type FileProgram struct {
	Tensors []QTensor `json:"tensors"`
	Ops     []FileOp  `json:"ops"`
}

// FileOp is one operation as stored: the scalars of every kind side by
// side, each kind reading its own.
type FileOp struct {
	Name    string             `json:"name"`
	Kind    graph.OpKind       `json:"kind"`
	In      []graph.TensorID   `json:"in"`
	Out     graph.TensorID     `json:"out"`
	Kernel  int                `json:"kernel,omitempty"`
	Stride  int                `json:"stride,omitempty"`
	Pool    string             `json:"pool,omitempty"`
	Act     string             `json:"act,omitempty"`
	Heads   int                `json:"heads,omitempty"`
	DimHead int                `json:"dim_head,omitempty"`
	Form    arch.AttentionForm `json:"form,omitempty"`

	Add     *FileAdd     `json:"add,omitempty"`     // add
	Softmax *FileSoftmax `json:"softmax,omitempty"` // attention probabilities
	Mult    int32        `json:"mult,omitempty"`    // per-tensor multiplier (mean, scale, attention PV)
	Shift   int32        `json:"shift,omitempty"`
	Eps     float64      `json:"eps,omitempty"` // layernorm: eps / input scale^2
}

// FileAdd is an add's requantization as stored.
type FileAdd struct {
	ZeroA    int32 `json:"ZeroA"`
	ZeroB    int32 `json:"ZeroB"`
	ZeroOut  int32 `json:"ZeroOut"`
	MultA    int32 `json:"MultA"`
	ShiftA   int32 `json:"ShiftA"`
	MultB    int32 `json:"MultB"`
	ShiftB   int32 `json:"ShiftB"`
	MultOut  int32 `json:"MultOut"`
	ShiftOut int32 `json:"ShiftOut"`
}

// FileSoftmax is an attention's integer softmax as stored.
type FileSoftmax struct {
	ExpMult   int32 `json:"ExpMult"`
	ExpShift  int32 `json:"ExpShift"`
	Q         int32 `json:"Q"`
	ZeroPoint int32 `json:"ZeroPoint"`
}

func fileAdd(a *kernels.AddParams) *FileAdd {
	return &FileAdd{ZeroA: a.ZeroA, ZeroB: a.ZeroB, ZeroOut: a.ZeroOut, MultA: a.MultA, ShiftA: a.ShiftA,
		MultB: a.MultB, ShiftB: a.ShiftB, MultOut: a.MultOut, ShiftOut: a.ShiftOut}
}

func (f *FileAdd) params() kernels.AddParams {
	return kernels.AddParams{ZeroA: f.ZeroA, ZeroB: f.ZeroB, ZeroOut: f.ZeroOut, MultA: f.MultA, ShiftA: f.ShiftA,
		MultB: f.MultB, ShiftB: f.ShiftB, MultOut: f.MultOut, ShiftOut: f.ShiftOut}
}

func fileSoftmax(s *kernels.SoftmaxParams) *FileSoftmax {
	return &FileSoftmax{ExpMult: s.ExpMult, ExpShift: s.ExpShift, Q: s.Q, ZeroPoint: s.ZeroPoint}
}

func (f *FileSoftmax) params() kernels.SoftmaxParams {
	return kernels.SoftmaxParams{ExpMult: f.ExpMult, ExpShift: f.ExpShift, Q: f.Q, ZeroPoint: f.ZeroPoint}
}

// EncodeFile is md as an int8 model file stores it: the description and
// the array tensors, in program order. It checks nothing (Save does).
func (md *Description) EncodeFile() (*File, []modelfile.Tensor) {
	f := &File{Metadata: md.Metadata, Calibration: md.Calibration}
	f.Kind = FileKind
	f.Program.Tensors = md.Program.Tensors
	var tensors []modelfile.Tensor
	for _, op := range md.Program.Ops {
		fo := FileOp{Name: op.Name, Kind: op.Kind, In: op.In, Out: op.Out}
		if op.Params != nil {
			op.Params.toFile(&fo)
			for _, a := range op.Params.arrays() {
				tensors = append(tensors, arrayTensor(op.Name+"/"+a.role, a))
			}
		}
		f.Program.Ops = append(f.Program.Ops, fo)
	}
	return f, tensors
}

func arrayTensor(name string, a int8Array) modelfile.Tensor {
	switch {
	case a.i8 != nil:
		return modelfile.Int8Tensor(name, []int{len(*a.i8)}, *a.i8)
	case a.i32 != nil:
		return modelfile.Int32Tensor(name, []int{len(*a.i32)}, *a.i32)
	}
	return modelfile.Float32Tensor(name, []int{len(*a.f32)}, *a.f32)
}

// decode turns a stored description into the typed program, reading each
// operation's arrays by name through tensor. The result is not validated.
func (f *File) decode(tensor func(name string) (modelfile.Tensor, bool)) (Description, error) {
	md := Description{Metadata: f.Metadata, Calibration: f.Calibration}
	md.Program.Tensors = f.Program.Tensors
	var errs []error
	for i := range f.Program.Ops {
		fo := &f.Program.Ops[i]
		k, ok := int8Kinds[fo.Kind]
		if !ok {
			errs = append(errs, fmt.Errorf("op %d %q: unknown kind %q", i, fo.Name, fo.Kind))
			continue
		}
		p := k.new()
		if err := fo.checkScalars(); err != nil {
			errs = append(errs, fmt.Errorf("op %d %q: %w", i, fo.Name, err))
			continue
		}
		if err := p.fromFile(fo); err != nil {
			errs = append(errs, fmt.Errorf("op %d %q: %w", i, fo.Name, err))
			continue
		}
		for _, a := range p.arrays() {
			if err := readArray(a, fo.Name+"/"+a.role, tensor); err != nil {
				errs = append(errs, fmt.Errorf("op %d %q: %w", i, fo.Name, err))
			}
		}
		md.Program.Ops = append(md.Program.Ops, QOp{Name: fo.Name, Kind: fo.Kind, In: fo.In, Out: fo.Out, Params: p})
	}
	if err := errors.Join(errs...); err != nil {
		return Description{}, fmt.Errorf("%w: %w", ErrBadProgram, err)
	}
	return md, nil
}

// checkScalars refuses out-of-range shifts, zero points and softmax steps
// in any operation, as the first release did, whether or not its kind
// reads them.
func (f *FileOp) checkScalars() error {
	shifts := []int32{f.Shift}
	if a := f.Add; a != nil {
		shifts = append(shifts, a.ShiftA, a.ShiftB, a.ShiftOut)
		for _, z := range []int32{a.ZeroA, a.ZeroB, a.ZeroOut} {
			if z < -128 || z > 127 {
				return errors.New("an add zero point is outside [-128, 127]")
			}
		}
	}
	if sm := f.Softmax; sm != nil {
		shifts = append(shifts, sm.ExpShift)
		if sm.Q < 1 || sm.Q > 255 || sm.ZeroPoint < -128 || sm.ZeroPoint > 127 {
			return errors.New("softmax steps or zero point out of range")
		}
	}
	return checkShifts(shifts...)
}

// readArray points a at the tensor of that name, which must have a's
// element type.
func readArray(a int8Array, name string, tensor func(string) (modelfile.Tensor, bool)) error {
	t, ok := tensor(name)
	if !ok {
		return fmt.Errorf("array %s is missing", name)
	}
	var err error
	switch {
	case a.i8 != nil:
		*a.i8, err = t.Int8()
	case a.i32 != nil:
		*a.i32, err = t.Int32()
	default:
		*a.f32, err = t.Float32()
	}
	if err != nil {
		return fmt.Errorf("array %s: %w", name, err)
	}
	return nil
}
