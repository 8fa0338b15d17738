package int8net

import (
	"fmt"

	"github.com/coatnet-edge/coatnet-edge/model/modelfile"
)

// Load opens an int8 model file, memory-mapped where the platform allows,
// and checks it as model.Open does for a file of this kind.
func Load(path string) (*Model, error) {
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
