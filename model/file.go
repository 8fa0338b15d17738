package model

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/engine"
	"github.com/coatnet-edge/coatnet-edge/model/float"
	"github.com/coatnet-edge/coatnet-edge/model/int8net"
	"github.com/coatnet-edge/coatnet-edge/model/modelfile"
)

// KindFloat32 marks a model file whose weights are timm's float32 state
// dict.
const KindFloat32 = "coatnet-float32"

// Model is a loaded float32 model file. Its weights alias the file's
// memory mapping: they are valid until Close.
type Model struct {
	arch.Metadata

	Weights map[string]arch.Tensor
	file    *modelfile.File
}

// Load opens a model file, memory-mapping it where the platform allows,
// and checks its checksums, its description and that its weights fit the
// architecture.
func Load(path string) (*Model, error) {
	f, err := modelfile.Open(path)
	if err != nil {
		return nil, err
	}
	m, err := fromFile(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Parse reads a model file image held in memory (the fuzz entry point).
func Parse(b []byte) (*Model, error) {
	f, err := modelfile.Parse(b)
	if err != nil {
		return nil, err
	}
	return fromFile(f)
}

// ErrInt8 is Load's error for an int8 model file: it has no float weights.
var ErrInt8 = errors.New("the file is an int8 model, not a float32 one")

func fromFile(f *modelfile.File) (*Model, error) {
	// The kind first: another kind's description has fields the strict
	// decoding below would report instead ("unknown field").
	var kind struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal(f.Metadata(), &kind); err == nil && kind.Kind == int8net.FileKind {
		return nil, ErrInt8
	}
	var md arch.Metadata
	if err := f.DecodeMetadata(&md); err != nil {
		return nil, fmt.Errorf("model description: %w", err)
	}
	if md.Kind != KindFloat32 {
		return nil, fmt.Errorf("model kind %q is not supported by this version (it reads %q)", md.Kind, KindFloat32)
	}
	if err := md.Validate(); err != nil {
		return nil, fmt.Errorf("model description: %w", err)
	}
	// Before a weight is decoded: a valid config may still ask for more
	// than any machine has.
	if err := float.Need(&md.Config).Check(1); err != nil {
		return nil, fmt.Errorf("model description: %w", err)
	}
	weights := make(map[string]arch.Tensor)
	var errs []error
	for _, info := range f.Tensors() {
		t, _ := f.Tensor(info.Name)
		data, err := t.Float32()
		if err != nil {
			errs = append(errs, fmt.Errorf("tensor %s: %w", info.Name, err))
			continue
		}
		weights[info.Name] = arch.Tensor{Shape: t.Shape, Data: data}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := arch.CheckWeights(&md.Config, weights); err != nil {
		return nil, err
	}
	return &Model{Metadata: md, Weights: weights, file: f}, nil
}

// Save writes the model atomically: the destination is replaced only once
// the whole file is on disk.
func (m *Model) Save(path string) error {
	if err := m.Metadata.Validate(); err != nil {
		return err
	}
	if err := arch.CheckWeights(&m.Config, m.Weights); err != nil {
		return err
	}
	params := m.Config.Params()
	tensors := make([]modelfile.Tensor, len(params))
	for i, p := range params {
		tensors[i] = modelfile.Float32Tensor(p.Name, p.Shape, m.Weights[p.Name].Data)
	}
	return modelfile.WriteFile(path, &m.Metadata, tensors)
}

// File describes the container the model was loaded from, or nil for a
// model built in memory.
func (m *Model) File() *modelfile.File { return m.file }

// Close releases the file mapping. The weights are invalid afterwards.
func (m *Model) Close() error {
	if m.file == nil {
		return nil
	}
	return m.file.Close()
}

// Describe returns the model's description.
func (m *Model) Describe() *arch.Metadata { return &m.Metadata }

// Need is what NewFloatNet (float.New) allocates and one inference computes.
func (m *Model) Need() engine.Need { return float.Need(&m.Config) }

// NewEngine is NewFloatNet behind the Engine interface.
func (m *Model) NewEngine(threads int) (engine.Engine, error) { return m.NewFloatNet(threads) }

// NewFloatNet builds the float32 engine for this model.
func (m *Model) NewFloatNet(threads int) (*float.Net, error) {
	return float.New(m.Config, m.Weights, threads)
}
