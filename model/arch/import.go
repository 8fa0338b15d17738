package arch

import (
	"fmt"
	"slices"
	"strings"

	"github.com/coatnet-edge/coatnet-edge/model/checkpoint"
)

// ImportStateDict turns a checkpoint's tensors into the weights of cfg.
// It drops BatchNorm's int64 num_batches_tracked counters, accepts 1x1
// convolution and linear weights in either 2-D or 4-D form (as timm's
// checkpoint_filter_fn does), and then reports every remaining mismatch at
// once (see CheckWeights). Integer tensors anywhere else are mismatches.
func ImportStateDict(cfg *Config, sd map[string]checkpoint.Tensor) (map[string]Tensor, error) {
	want := make(map[string][]int)
	for _, p := range cfg.Params() {
		want[p.Name] = p.Shape
	}
	out := make(map[string]Tensor, len(sd))
	var nonFloat []string
	for name, t := range sd {
		if t.Data == nil {
			if strings.HasSuffix(name, "num_batches_tracked") {
				continue
			}
			nonFloat = append(nonFloat, fmt.Sprintf("  not float   %s: dtype %s %s", name, t.DType, ShapeString(t.Shape)))
			continue
		}
		shape := t.Shape
		if w, ok := want[name]; ok && !slices.Equal(shape, w) && reshapeable(shape, w) {
			shape = w
		}
		out[name] = Tensor{Shape: shape, Data: t.Data}
	}
	err := CheckWeights(cfg, out)
	if len(nonFloat) > 0 {
		slices.Sort(nonFloat)
		msg := strings.Join(nonFloat, "\n")
		if err != nil {
			return nil, &mismatchError{msg: err.Error() + "\n" + msg}
		}
		return nil, &mismatchError{msg: fmt.Sprintf("%v (%s): %d tensors are not floating point\n%s", ErrWeightsMismatch, cfg.Arch, len(nonFloat), msg)}
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// reshapeable says whether a 2-D (out, in) weight and a 4-D (out, in, 1, 1)
// weight stand for each other.
func reshapeable(got, want []int) bool {
	two, four := got, want
	if len(got) == 4 {
		two, four = want, got
	}
	return len(two) == 2 && len(four) == 4 && four[2] == 1 && four[3] == 1 &&
		two[0] == four[0] && two[1] == four[1]
}
