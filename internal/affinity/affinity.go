// Package affinity pins the agent to the CPUs its config names, so inference
// can leave a core to the camera pipeline and the MQTT client, or keep off a
// core that handles interrupts.
//
// Set pins every thread the process has; Go's runtime and cgo (OpenCV)
// create later threads with clone from an existing one, and a clone
// inherits its parent's mask, so pinning once at start-up, before the
// inference workers start, covers them too. Since Go 1.25 the runtime also
// re-reads the mask about once a second and lowers GOMAXPROCS to match,
// unless GOMAXPROCS was set explicitly.
package affinity

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// MaxCPU bounds the CPU numbers Set accepts: the 1024 of a glibc cpu_set_t,
// far above any board this runs on.
const MaxCPU = 1023

// Set restricts every thread of the process to cpus. CPUs that are not
// online are an error naming them, and nothing is changed.
func Set(cpus []int) error {
	if len(cpus) == 0 {
		return errors.New("affinity: no CPUs given")
	}
	for _, c := range cpus {
		if c < 0 || c > MaxCPU {
			return fmt.Errorf("affinity: CPU %d is outside 0-%d", c, MaxCPU)
		}
	}
	return set(cpus)
}

// Allowed is the calling thread's CPU mask, which after Set is every thread's.
func Allowed() ([]int, error) { return allowed() }

// Parse reads a CPU list in the kernel's cpulist format ("0-2,5", as in
// Cpus_allowed_list and taskset -c), sorted, without duplicates.
func Parse(s string) ([]int, error) {
	var cpus []int
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = lo
		}
		first, ok1 := number(lo)
		last, ok2 := number(hi)
		if !ok1 || !ok2 || last < first {
			return nil, fmt.Errorf("affinity: CPU list %q: bad entry %q (want N or N-M, 0 <= N <= M <= %d)", s, part, MaxCPU)
		}
		for c := first; c <= last; c++ {
			cpus = append(cpus, c)
		}
	}
	slices.Sort(cpus)
	return slices.Compact(cpus), nil
}

// number reads a CPU number: decimal digits only (Atoi also takes a sign),
// at most MaxCPU.
func number(s string) (int, bool) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n <= MaxCPU
}

// Format writes cpus in the cpulist format Parse reads, for logs.
func Format(cpus []int) string {
	cpus = slices.Compact(slices.Sorted(slices.Values(cpus)))
	var b strings.Builder
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(cpus[i]))
		if j > i {
			b.WriteString("-" + strconv.Itoa(cpus[j]))
		}
		i = j + 1
	}
	return b.String()
}
