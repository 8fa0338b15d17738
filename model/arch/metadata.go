package arch

import (
	"errors"
	"fmt"
	"strings"

	"github.com/coatnet-edge/coatnet-edge/preprocess"
)

// Source records where a model's weights came from.
type Source struct {
	Checkpoint string `json:"checkpoint,omitempty"` // file name given to convert
	SHA256     string `json:"sha256,omitempty"`     // of the checkpoint file
	Converted  string `json:"converted,omitempty"`  // RFC 3339 time
	Tool       string `json:"tool,omitempty"`       // program and version that wrote the file
	// Pretrained is timm's pretrained tag (sw_in1k of coatnet_nano_rw_224.sw_in1k).
	Pretrained string `json:"pretrained,omitempty"`
}

// Metadata is the self-description stored in a model file.
type Metadata struct {
	Kind        string          `json:"kind"`
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Config      Config          `json:"config"`
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
