//go:build !linux

package affinity

import (
	"errors"
	"fmt"
	"runtime"
)

// Only Linux lets a process pin all of its threads; macOS has affinity
// hints at most. Say so rather than pretend.
func set([]int) error {
	return fmt.Errorf("affinity: pinning CPUs is not supported on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

func allowed() ([]int, error) {
	return nil, fmt.Errorf("affinity: reading the CPU mask is not supported on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
