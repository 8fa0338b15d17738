package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/coatnet-edge/coatnet-edge/internal/thermal"
)

// unknown is what the board report says for whatever this machine does
// not tell.
const unknown = "unknown"

// boardRoot is the root the board's identity and state are read under:
// "/" here, a fake /proc and /sys tree in tests.
var boardRoot = "/"

// boardInfo says which machine a report comes from, so that reports of
// different boards can be told apart and compared.
type boardInfo struct {
	Board       string `json:"board"`        // device tree model, DMI product name on PCs
	CPU         string `json:"cpu"`          // "4x Cortex-A76 r4p1", or x86's model name
	CPUPart     string `json:"cpu_part"`     // arm64 "CPU part" numbers, "0xd0b" (comma separated on big.LITTLE)
	CPURevision string `json:"cpu_revision"` // rVpR, as Arm's manuals name revisions
	Governor    string `json:"governor"`     // cpu0's cpufreq governor
	MaxMHz      *int   `json:"max_mhz"`      // cpu0's highest clock; null: unknown
	Kernel      string `json:"kernel"`       // as uname -sr prints it
	Version     string `json:"coatnet_version"`
	Date        string `json:"date"` // RFC 3339, when the report was made
}

// boardState is what changes while a board works: temperature, throttling
// and clock.
type boardState struct {
	// Seconds since the measurement started.
	Seconds float64  `json:"seconds"`
	TempC   *float64 `json:"temp_c"` // null: unknown
	Zone    string   `json:"thermal_zone"`
	// Throttling is the firmware's flags now: "none", a comma-separated
	// list (throttled, freq-capped, soft-temp-limit, under-voltage), or
	// "unknown" off a Raspberry Pi; ThrottledSinceBoot the same since boot.
	Throttling         string `json:"throttling"`
	ThrottledSinceBoot string `json:"throttled_since_boot"`
	CurMHz             *int   `json:"cur_mhz"` // cpu0's clock now
}

// readFile reads a small file under boardRoot without surrounding space
// and NULs (device tree strings end in one); "" when it is missing or
// unreadable.
func readFile(path string) string {
	b, err := os.ReadFile(filepath.Join(boardRoot, path))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(bytes.Trim(b, "\x00")))
}

func orUnknown(s string) string {
	if s == "" {
		return unknown
	}
	return s
}

const cpufreq = "sys/devices/system/cpu/cpu0/cpufreq/"

// readMHz reads a cpufreq file in kHz.
func readMHz(name string) *int {
	khz, err := strconv.Atoi(readFile(cpufreq + name))
	if err != nil || khz <= 0 {
		return nil
	}
	mhz := (khz + 500) / 1000
	return &mhz
}

// readBoard identifies the machine; what it cannot find is "unknown".
func readBoard(now time.Time) boardInfo {
	b := boardInfo{Version: version(), Date: now.Format(time.RFC3339)}
	cpus := parseCPUInfo(readFile("proc/cpuinfo"))
	b.Board = readFile("proc/device-tree/model")
	if b.Board == "" {
		b.Board = readFile("sys/firmware/devicetree/base/model")
	}
	if b.Board == "" {
		b.Board = cpus.model // older Pi kernels: /proc/cpuinfo's "Model"
	}
	if b.Board == "" {
		vendor, product := readFile("sys/class/dmi/id/sys_vendor"), readFile("sys/class/dmi/id/product_name")
		b.Board = strings.TrimSpace(vendor + " " + product)
	}
	b.Board = orUnknown(b.Board)
	b.CPU, b.CPUPart, b.CPURevision = orUnknown(cpus.summary), orUnknown(cpus.parts), orUnknown(cpus.revisions)
	b.Governor = orUnknown(readFile(cpufreq + "scaling_governor"))
	b.MaxMHz = readMHz("cpuinfo_max_freq")
	if b.MaxMHz == nil {
		b.MaxMHz = readMHz("scaling_max_freq")
	}
	b.Kernel = orUnknown(strings.TrimSpace(readFile("proc/sys/kernel/ostype") + " " + readFile("proc/sys/kernel/osrelease")))
	return b
}

// readBoardState reads the temperature, throttling and clock. A file that
// is there but broken leaves its value unknown, as a missing one does:
// a benchmark is no reason to fail.
func readBoardState(start time.Time, now time.Time) boardState {
	s := boardState{Seconds: now.Sub(start).Seconds(), CurMHz: readMHz("scaling_cur_freq")}
	st, _ := thermal.NewRoot(boardRoot).Read()
	s.Zone = orUnknown(st.Zone)
	if st.HasTemp && !math.IsNaN(st.TempC) {
		t := st.TempC
		s.TempC = &t
	}
	s.Throttling, s.ThrottledSinceBoot = unknown, unknown
	if st.HasThrottle {
		s.Throttling = flagList(st.Throttled, st.FreqCapped, st.SoftTempLimit, st.UnderVoltage)
		s.ThrottledSinceBoot = flagList(st.ThrottledOccurred, st.FreqCappedOccurred, st.SoftTempLimitOccurred, st.UnderVoltageOccurred)
	} else if st.HasUnderVoltage {
		// Kernels without get_throttled still tell under-voltage.
		s.Throttling = flagList(false, false, false, st.UnderVoltage)
	}
	return s
}

func flagList(throttled, capped, soft, under bool) string {
	var out []string
	for _, f := range []struct {
		on   bool
		name string
	}{{throttled, "throttled"}, {capped, "freq-capped"}, {soft, "soft-temp-limit"}, {under, "under-voltage"}} {
		if f.on {
			out = append(out, f.name)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ",")
}

// armParts names the CPU part numbers of Arm Ltd. (implementer 0x41)
// found on boards, from Arm's technical reference manuals.
var armParts = map[string]string{
	"0xd02": "Cortex-A34", "0xd03": "Cortex-A53", "0xd04": "Cortex-A35", "0xd05": "Cortex-A55",
	"0xd07": "Cortex-A57", "0xd08": "Cortex-A72", "0xd09": "Cortex-A73", "0xd0a": "Cortex-A75",
	"0xd0b": "Cortex-A76", "0xd0c": "Neoverse-N1", "0xd0d": "Cortex-A77", "0xd0e": "Cortex-A76AE",
	"0xd40": "Neoverse-V1", "0xd41": "Cortex-A78", "0xd42": "Cortex-A78AE", "0xd44": "Cortex-X1",
	"0xd46": "Cortex-A510", "0xd47": "Cortex-A710", "0xd48": "Cortex-X2", "0xd49": "Neoverse-N2",
	"0xd4b": "Cortex-A78C", "0xd4d": "Cortex-A715", "0xd4e": "Cortex-X3", "0xd4f": "Neoverse-V2",
	"0xd80": "Cortex-A520", "0xd81": "Cortex-A720", "0xd82": "Cortex-X4",
}

// cpuInfo is what /proc/cpuinfo says about the cores.
type cpuInfo struct {
	summary   string // "4x Cortex-A55 r2p0 + 4x Cortex-A76 r4p0"
	parts     string // "0xd05,0xd0b"
	revisions string // "r2p0,r4p0"
	model     string // the "Model" line some arm kernels add
}

// parseCPUInfo groups the processors of /proc/cpuinfo by core type, in
// order of first appearance.
func parseCPUInfo(text string) cpuInfo {
	type core struct{ name, part, rev string }
	var cores []core
	var counts []int
	var info cpuInfo
	add := func(fields map[string]string) {
		c := core{}
		if part := strings.ToLower(fields["CPU part"]); part != "" {
			c.part = part
			c.name = armParts[part]
			if fields["CPU implementer"] != "0x41" || c.name == "" {
				c.name = "implementer " + orUnknown(fields["CPU implementer"]) + " part " + part
			}
			v, err1 := strconv.ParseInt(fields["CPU variant"], 0, 32)
			r, err2 := strconv.Atoi(fields["CPU revision"])
			if err1 == nil && err2 == nil {
				c.rev = fmt.Sprintf("r%dp%d", v, r)
			}
		} else if m := fields["model name"]; m != "" {
			c.name = strings.Join(strings.Fields(m), " ")
		} else {
			return
		}
		for i := range cores {
			if cores[i] == c {
				counts[i]++
				return
			}
		}
		cores, counts = append(cores, c), append(counts, 1)
	}
	fields := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			add(fields)
			fields = map[string]string{}
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k == "Model" {
			info.model = v
		}
		fields[k] = v
	}
	add(fields)
	var sum, parts, revs []string
	for i, c := range cores {
		s := fmt.Sprintf("%dx %s", counts[i], c.name)
		if c.rev != "" {
			s += " " + c.rev
		}
		sum = append(sum, s)
		if c.part != "" {
			parts = append(parts, c.part)
		}
		if c.rev != "" {
			revs = append(revs, c.rev)
		}
	}
	info.summary = strings.Join(sum, " + ")
	info.parts = strings.Join(parts, ",")
	info.revisions = strings.Join(revs, ",")
	return info
}

// tempText prints a temperature or "unknown".
func tempText(t *float64) string {
	if t == nil {
		return unknown
	}
	return fmt.Sprintf("%.1f °C", *t)
}

// mhzText prints a clock or "unknown".
func mhzText(m *int) string {
	if m == nil {
		return unknown
	}
	return fmt.Sprintf("%d MHz", *m)
}
