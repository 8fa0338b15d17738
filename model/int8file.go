package model

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/engine"
	"github.com/coatnet-edge/coatnet-edge/model/modelfile"
)

// Int8Model is a quantized model: its description and program, whose
// operations hold their arrays. Loaded from a file, the arrays alias the
// file's mapping until Close.
type Int8Model struct {
	Int8Metadata
	file *modelfile.File
}

// NewInt8Model checks a program produced by the quantizer and wraps it.
func NewInt8Model(md Int8Metadata) (*Int8Model, error) {
	md.Kind = KindInt8
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
	return &Int8Model{Int8Metadata: md}, nil
}

// NewNet builds the int8 engine. threads <= 0 uses every CPU.
func (m *Int8Model) NewNet(threads int) *Int8Net {
	return newInt8Net(m.Config, &m.Program, threads, false)
}

// NewEngine is NewNet behind the Engine interface, refusing a thread
// count whose scratch would take the engine past MaxModelBytes.
func (m *Int8Model) NewEngine(threads int) (engine.Engine, error) {
	if err := m.Need().Check(threads); err != nil {
		return nil, err
	}
	return m.NewNet(threads), nil
}

// Need is what NewNet allocates and one inference computes.
func (m *Int8Model) Need() engine.Need { return m.Program.need(&m.Config) }

// Describe returns the common description.
func (m *Int8Model) Describe() *arch.Metadata { return &m.Metadata }

// File is the container the model was loaded from, or nil.
func (m *Int8Model) File() *modelfile.File { return m.file }

// Close releases the file mapping.
func (m *Int8Model) Close() error {
	if m.file == nil {
		return nil
	}
	return m.file.Close()
}

// Save writes the model atomically.
func (m *Int8Model) Save(path string) error {
	if _, err := NewInt8Model(m.Int8Metadata); err != nil {
		return err
	}
	f, tensors := m.EncodeFile()
	return modelfile.WriteFile(path, f, tensors)
}

func int8FromFile(f *modelfile.File) (*Int8Model, error) {
	var fd Int8File
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
	m, err := NewInt8Model(md)
	if err != nil {
		return nil, err
	}
	m.file = f
	return m, nil
}

// Any is a loaded model file of either kind.
type Any interface {
	Describe() *arch.Metadata
	NewEngine(threads int) (engine.Engine, error)
	// Need is what the engine asks of the machine, known before
	// NewEngine allocates it.
	Need() engine.Need
	File() *modelfile.File
	Close() error
}

// Open loads a model file of any kind, memory-mapped where the platform
// allows, and checks it: the engine is chosen by the file.
func Open(path string) (Any, error) {
	f, err := modelfile.Open(path)
	if err != nil {
		return nil, err
	}
	m, err := FromFile(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// FromFile is Open for a container already opened or parsed; the model
// takes f over (its Close closes f) when it returns no error.
func FromFile(f *modelfile.File) (Any, error) {
	var kind struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal(f.Metadata(), &kind); err != nil {
		return nil, fmt.Errorf("model description: %w", err)
	}
	switch kind.Kind {
	case KindFloat32:
		m, err := fromFile(f)
		if err != nil {
			return nil, err
		}
		return m, nil
	case KindInt8:
		m, err := int8FromFile(f)
		if err != nil {
			return nil, err
		}
		return m, nil
	}
	return nil, fmt.Errorf("model kind %q is not supported by this version (it reads %q and %q)", kind.Kind, KindFloat32, KindInt8)
}

// NewNetKeepingTensors builds an engine whose every tensor survives Run, so
// Value can read them all (for measuring quantization error).
func (m *Int8Model) NewNetKeepingTensors(threads int) *Int8Net {
	return newInt8Net(m.Config, &m.Program, threads, true)
}
