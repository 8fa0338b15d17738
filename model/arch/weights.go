package arch

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// ErrWeightsMismatch is wrapped by every error that says a set of weights
// does not fit a config.
var ErrWeightsMismatch = errors.New("weights do not match the architecture")

// CheckWeights compares weights with cfg.Params() and reports every
// missing, unexpected and wrongly shaped tensor at once, by name, with the
// shape the architecture expects. It also rejects non-finite values, which
// would silently turn every output into NaN.
func CheckWeights(cfg *Config, weights map[string]Tensor) error {
	var missing, shape, bad []string
	want := make(map[string]bool)
	for _, p := range cfg.Params() {
		want[p.Name] = true
		t, ok := weights[p.Name]
		switch {
		case !ok:
			missing = append(missing, fmt.Sprintf("  missing    %s, want shape %s", p.Name, ShapeString(p.Shape)))
		case !slices.Equal(t.Shape, p.Shape):
			shape = append(shape, fmt.Sprintf("  wrong shape %s: got %s, want %s", p.Name, ShapeString(t.Shape), ShapeString(p.Shape)))
		case len(t.Data) != Numel(p.Shape):
			shape = append(shape, fmt.Sprintf("  wrong size %s: %d values for shape %s", p.Name, len(t.Data), ShapeString(p.Shape)))
		default:
			for i, v := range t.Data {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					bad = append(bad, fmt.Sprintf("  not finite  %s[%d] = %v", p.Name, i, v))
					break
				}
			}
		}
	}
	var unexpected []string
	for name, t := range weights {
		if !want[name] {
			unexpected = append(unexpected, fmt.Sprintf("  unexpected %s %s", name, ShapeString(t.Shape)))
		}
	}
	slices.Sort(unexpected)
	if len(missing)+len(shape)+len(unexpected)+len(bad) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%v (%s): %d missing, %d unexpected, %d wrong shape, %d not finite",
		ErrWeightsMismatch, cfg.Arch, len(missing), len(unexpected), len(shape), len(bad))
	for _, group := range [][]string{missing, unexpected, shape, bad} {
		for _, line := range group {
			b.WriteString("\n")
			b.WriteString(line)
		}
	}
	return &mismatchError{msg: b.String()}
}

type mismatchError struct{ msg string }

func (e *mismatchError) Error() string { return e.msg }
func (e *mismatchError) Unwrap() error { return ErrWeightsMismatch }
