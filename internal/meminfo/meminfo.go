// Package meminfo reads how much memory the machine can still give, so a
// model that would not fit is refused before it is loaded.
package meminfo

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// ErrUnknown is returned where the platform does not say.
var ErrUnknown = errors.New("available memory is unknown")

// Available is MemAvailable of /proc/meminfo in bytes: the kernel's
// estimate of what can be allocated without swapping (free memory plus
// the page cache and reclaimable slabs it can drop).
func Available() (int64, error) { return AvailableFrom("/proc/meminfo") }

// AvailableFrom reads MemAvailable from a file in /proc/meminfo's format.
func AvailableFrom(path string) (int64, error) {
	b, err := os.ReadFile(path) // a few KB in procfs
	if errors.Is(err, os.ErrNotExist) {
		return 0, ErrUnknown
	}
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		v, ok := bytes.CutPrefix(sc.Bytes(), []byte("MemAvailable:"))
		if !ok {
			continue
		}
		v, kb := bytes.CutSuffix(bytes.TrimSpace(v), []byte(" kB"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
		if err != nil || !kb || n < 0 || n > 1<<50 {
			return 0, fmt.Errorf("%s: MemAvailable %q", path, sc.Bytes())
		}
		return n << 10, nil
	}
	return 0, fmt.Errorf("%s: %w (no MemAvailable line)", path, ErrUnknown)
}
