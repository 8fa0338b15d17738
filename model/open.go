package model

import (
	"encoding/json"
	"fmt"

	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/engine"
	"github.com/coatnet-edge/coatnet-edge/model/int8net"
	"github.com/coatnet-edge/coatnet-edge/model/modelfile"
)

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
	case int8net.FileKind:
		m, err := int8net.FromFile(f)
		if err != nil {
			return nil, err
		}
		return m, nil
	}
	return nil, fmt.Errorf("model kind %q is not supported by this version (it reads %q and %q)", kind.Kind, KindFloat32, int8net.FileKind)
}
