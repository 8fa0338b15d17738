package int8net

import (
	"errors"
	"fmt"

	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/engine"
	"github.com/coatnet-edge/coatnet-edge/model/modelfile"
)

// Model is a quantized model: its description and program, whose
// operations hold their arrays. Loaded from a file, the arrays alias the
// file's mapping until Close.
type Model struct {
	Description
	file *modelfile.File
}

// NewModel checks a program produced by the quantizer and wraps it.
func NewModel(md Description) (*Model, error) {
	md.Kind = FileKind
	if err := md.Metadata.Validate(); err != nil {
		return nil, err
	}
	if err := md.Program.validate(&md.Config); err != nil {
		return nil, err
	}
	// Before any engine allocates: a valid program may still ask for
	// more than any machine has.
	if err := md.Program.need(&md.Config).Check(1); err != nil {
		return nil, fmt.Errorf("int8 program: %w", err)
	}
	return &Model{Description: md}, nil
}

// NewNet builds the int8 engine. threads <= 0 uses every CPU.
func (m *Model) NewNet(threads int) *Net {
	return newInt8Net(m.Config, &m.Program, threads, false)
}

// NewEngine is NewNet behind the Engine interface, refusing a thread
// count whose scratch would take the engine past MaxModelBytes.
func (m *Model) NewEngine(threads int) (engine.Engine, error) {
	if err := m.Need().Check(threads); err != nil {
		return nil, err
	}
	return m.NewNet(threads), nil
}

// Need is what NewNet allocates and one inference computes.
func (m *Model) Need() engine.Need { return m.Program.need(&m.Config) }

// Describe returns the common description.
func (m *Model) Describe() *arch.Metadata { return &m.Metadata }

// File is the container the model was loaded from, or nil.
func (m *Model) File() *modelfile.File { return m.file }

// Close releases the file mapping.
func (m *Model) Close() error {
	if m.file == nil {
		return nil
	}
	return m.file.Close()
}

// Save writes the model atomically.
func (m *Model) Save(path string) error {
	if _, err := NewModel(m.Description); err != nil {
		return err
	}
	f, tensors := m.EncodeFile()
	return modelfile.WriteFile(path, f, tensors)
}

// FromFile reads an int8 model from a container already opened or parsed;
// the model takes f over (its Close closes f) when it returns no error.
func FromFile(f *modelfile.File) (*Model, error) {
	var fd File
	if err := f.DecodeMetadata(&fd); err != nil {
		return nil, fmt.Errorf("model description: %w", err)
	}
	var errs []error
	for _, info := range f.Tensors() {
		t, _ := f.Tensor(info.Name)
		var err error
		switch t.DType {
		case modelfile.I8:
			_, err = t.Int8()
		case modelfile.I32:
			_, err = t.Int32()
		case modelfile.F32:
			_, err = t.Float32()
		default:
			err = fmt.Errorf("dtype %s is not used by int8 models", t.DType)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("tensor %s: %w", info.Name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	md, err := fd.decode(f.Tensor)
	if err != nil {
		return nil, err
	}
	m, err := NewModel(md)
	if err != nil {
		return nil, err
	}
	m.file = f
	return m, nil
}

// NewNetKeepingTensors builds an engine whose every tensor survives Run, so
// Value can read them all (for measuring quantization error).
func (m *Model) NewNetKeepingTensors(threads int) *Net {
	return newInt8Net(m.Config, &m.Program, threads, true)
}
