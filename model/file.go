package model

import (
	"errors"
	"fmt"
	"strings"

	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/modelfile"
	"github.com/coatnet-edge/coatnet-edge/preprocess"
)

// KindFloat32 marks a model file whose weights are timm's float32 state
// dict.
const KindFloat32 = "coatnet-float32"

// Source records where a model's weights came from.
type Source struct {
	Checkpoint string `json:"checkpoint,omitempty"` // file name given to convert
	SHA256     string `json:"sha256,omitempty"`     // of the checkpoint file
	Converted  string `json:"converted,omitempty"`  // RFC 3339 time
	Tool       string `json:"tool,omitempty"`       // program and version that wrote the file
}

// Metadata is the self-description stored in a model file.
type Metadata struct {
	Kind        string          `json:"kind"`
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Config      arch.Config     `json:"config"`
	Labels      []string        `json:"labels"`
	Preprocess  preprocess.Spec `json:"preprocess"`
	Source      Source          `json:"source"`
}

// Validate checks that the parts of the description agree with each other.
func (m *Metadata) Validate() error {
	var errs []error
	if err := m.Config.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("config: %w", err))
	}
	if err := m.Preprocess.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("preprocess: %w", err))
	}
	if len(m.Labels) != m.Config.NumClasses {
		errs = append(errs, fmt.Errorf("%d labels for %d classes", len(m.Labels), m.Config.NumClasses))
	}
	if m.Preprocess.Size != m.Config.ImgSize {
		errs = append(errs, fmt.Errorf("preprocess size %d differs from the model's img_size %d", m.Preprocess.Size, m.Config.ImgSize))
	}
	if m.Preprocess.Channels() != m.Config.InChans {
		errs = append(errs, fmt.Errorf("preprocess colour %q gives %d channels, the model reads %d", m.Preprocess.Colour, m.Preprocess.Channels(), m.Config.InChans))
	}
	return errors.Join(errs...)
}

// Model is a loaded float32 model file. Its weights alias the file's
// memory mapping: they are valid until Close.
type Model struct {
	Metadata
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

func fromFile(f *modelfile.File) (*Model, error) {
	var md Metadata
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
	if err := FloatNeed(&md.Config).Check(1); err != nil {
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
func (m *Model) Describe() *Metadata { return &m.Metadata }

// Need is what NewFloatNet allocates and one inference computes.
func (m *Model) Need() Need { return FloatNeed(&m.Config) }

// NewEngine is NewFloatNet behind the Engine interface.
func (m *Model) NewEngine(threads int) (Engine, error) { return m.NewFloatNet(threads) }

// NewFloatNet builds the float32 engine for this model.
func (m *Model) NewFloatNet(threads int) (*FloatNet, error) {
	return NewFloatNet(m.Config, m.Weights, threads)
}

// DefaultLabels names classes "0", "1", ... when no labels file is given.
func DefaultLabels(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint(i)
	}
	return out
}

// ParseLabels reads one label per line; blank lines and surrounding spaces
// are dropped, a line starting with # is a comment.
func ParseLabels(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	return out
}
