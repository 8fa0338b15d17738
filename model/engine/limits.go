package engine

import (
	"errors"
	"fmt"
	"math"

	"github.com/coatnet-edge/coatnet-edge/internal/parallel"
)

// The limits on what a model may ask of the machine, checked from its
// description before an engine allocates anything, so that a hostile or
// mistaken file is an error rather than an out-of-memory kill or an
// inference that never ends. They are far above any real CoAtNet: the
// largest registered one, coatnet_5_224, needs 145 GMACs, about 3 GB of
// float32 engine memory and 0.2 MB of scratch per thread
// (TestLimitsAdmitEveryArch checks every registered architecture).
const (
	// MaxMACs is the most multiply-accumulates one inference may take
	// (1 TMAC, 7 times coatnet_5_224).
	MaxMACs = 1_000_000_000_000
	// MaxModelBytes is the most memory an engine may allocate with all
	// its threads: tensors, the weights it packs or folds, and every
	// thread's scratch (the file's own mapping is not counted).
	MaxModelBytes = 16 << 30
	// MaxScratchBytes is the most scratch memory one thread may need
	// (attention scores of one head, convolution patches).
	MaxScratchBytes = 1 << 30
)

// ErrTooBig is returned for a model whose work or memory is beyond the
// limits above.
var ErrTooBig = errors.New("model exceeds the engine's limits")

// Need is what a model's engine asks of the machine, computed from its
// description alone.
type Need struct {
	TensorBytes  int64 `json:"tensor_bytes"`             // activations, the input and the logits
	WeightBytes  int64 `json:"weight_bytes"`             // weights the engine packs or folds (at most), beyond the file
	ScratchBytes int64 `json:"scratch_bytes_per_thread"` // per worker thread
	MACs         int64 `json:"macs"`                     // per inference, counted as Config.LayerCosts counts
}

// Bytes is the memory an engine with the given threads allocates (<= 0:
// every CPU).
func (n Need) Bytes(threads int) int64 {
	return AddSat(AddSat(n.TensorBytes, n.WeightBytes), MulSat(int64(parallel.Count(threads)), n.ScratchBytes))
}

// Check compares the need with the limits for an engine of the given
// threads (<= 0: every CPU); loading a file checks one.
func (n Need) Check(threads int) error {
	var errs []error
	if n.MACs > MaxMACs {
		errs = append(errs, fmt.Errorf("%.3g MACs per inference, the limit is %.3g", float64(n.MACs), float64(MaxMACs)))
	}
	if n.ScratchBytes > MaxScratchBytes {
		errs = append(errs, fmt.Errorf("%s of scratch per thread, the limit is %s", FormatBytes(n.ScratchBytes), FormatBytes(MaxScratchBytes)))
	}
	if b := n.Bytes(1); b > MaxModelBytes {
		errs = append(errs, fmt.Errorf("%s of tensors and weights, the limit is %s", FormatBytes(b), FormatBytes(MaxModelBytes)))
	} else if b := n.Bytes(threads); b > MaxModelBytes {
		errs = append(errs, fmt.Errorf("%s with %d threads, the limit is %s", FormatBytes(b), parallel.Count(threads), FormatBytes(MaxModelBytes)))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrTooBig, errors.Join(errs...))
	}
	return nil
}

// FormatBytes writes a size in binary units: 512 B, 1.5 MiB, 20.0 GiB.
func FormatBytes(b int64) string {
	switch f := float64(b); {
	case f >= 1<<30:
		return fmt.Sprintf("%.1f GiB", f/(1<<30))
	case f >= 1<<20:
		return fmt.Sprintf("%.1f MiB", f/(1<<20))
	case f >= 1<<10:
		return fmt.Sprintf("%.1f KiB", f/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}

// MulSat multiplies non-negative counts, saturating at MaxInt64: a
// hostile shape must not wrap around to a small need.
func MulSat(a ...int64) int64 {
	p := int64(1)
	for _, v := range a {
		if v == 0 {
			return 0
		}
		if p > math.MaxInt64/v {
			p = math.MaxInt64
		} else {
			p *= v
		}
	}
	return p
}

// AddSat adds non-negative counts, saturating at MaxInt64.
func AddSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
