package affinity

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

const onlineFile = "/sys/devices/system/cpu/online"

func set(cpus []int) error {
	// Check first so a typo in the config changes nothing. Without the
	// file (no /sys), the read-back below still catches missing CPUs.
	if text, err := os.ReadFile(onlineFile); err == nil {
		online, err := Parse(strings.TrimSpace(string(text)))
		if err != nil {
			return fmt.Errorf("affinity: %s: %w", onlineFile, err)
		}
		if bad := missing(cpus, online); len(bad) > 0 {
			return fmt.Errorf("affinity: CPU %s does not exist or is offline (online: %s)", Format(bad), Format(online))
		}
	}
	var mask unix.CPUSet
	for _, c := range cpus {
		mask.Set(c)
	}
	// sched_setaffinity changes one thread. Threads started while this runs
	// may copy the old mask, so repeat until a pass finds no new thread.
	done := map[int]bool{}
	for pass := 0; ; pass++ {
		tids, err := threads()
		if err != nil {
			return err
		}
		fresh := 0
		for _, tid := range tids {
			if done[tid] {
				continue
			}
			fresh++
			done[tid] = true
			err := unix.SchedSetaffinity(tid, &mask)
			if errors.Is(err, unix.ESRCH) {
				continue // the thread exited
			}
			if err != nil {
				return fmt.Errorf("affinity: setting CPUs %s on thread %d: %w (a cgroup cpuset may exclude them all)", Format(cpus), tid, err)
			}
		}
		if fresh == 0 {
			break
		}
		if pass == 100 {
			return errors.New("affinity: threads keep appearing; not all may be pinned")
		}
	}
	// The kernel silently drops CPUs that the cgroup's cpuset excludes
	// (systemd's AllowedCPUs=) as long as one remains.
	got, err := allowed()
	if err != nil {
		return err
	}
	if bad := missing(cpus, got); len(bad) > 0 {
		return fmt.Errorf("affinity: CPU %s not permitted to this process (cgroup cpuset?); running on %s", Format(bad), Format(got))
	}
	return nil
}

// missing is the CPUs in want that are not in have (both sorted or not).
func missing(want, have []int) []int {
	var out []int
	for _, c := range want {
		if !slices.Contains(have, c) {
			out = append(out, c)
		}
	}
	return out
}

// threads lists the process's thread IDs.
func threads() ([]int, error) {
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, fmt.Errorf("affinity: listing threads: %w", err)
	}
	tids := make([]int, 0, len(entries))
	for _, e := range entries {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}

func allowed() ([]int, error) {
	var mask unix.CPUSet
	if err := unix.SchedGetaffinity(0, &mask); err != nil {
		return nil, fmt.Errorf("affinity: reading the CPU mask: %w", err)
	}
	var cpus []int
	for c := 0; c <= MaxCPU; c++ {
		if mask.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}
