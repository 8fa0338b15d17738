// Package thermal reads the CPU temperature and the Raspberry Pi firmware's
// throttling flags from sysfs, for the stats topic and for lowering the frame
// rate before the board throttles itself. It only reads files, so it builds
// everywhere; where /sys lacks them, Status says the values are unknown.
package thermal

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Status is one reading. Fields guarded by a Has* flag mean nothing without it.
type Status struct {
	// TempC is the CPU temperature in °C; NaN when HasTemp is false.
	TempC   float64
	HasTemp bool
	// Zone is the thermal zone's type ("cpu-thermal", "x86_pkg_temp", ...),
	// or its directory name when it has no type.
	Zone string

	// HasUnderVoltage: UnderVoltage is known, from get_throttled or from the
	// rpi_volt hwmon alarm (the only source on kernels without get_throttled).
	HasUnderVoltage bool
	UnderVoltage    bool

	// HasThrottle: the firmware's get_throttled word was read; the fields
	// below are its bits 1-3 now and 16-19 since boot.
	HasThrottle           bool
	FreqCapped            bool
	Throttled             bool
	SoftTempLimit         bool
	UnderVoltageOccurred  bool
	FreqCappedOccurred    bool
	ThrottledOccurred     bool
	SoftTempLimitOccurred bool
	// Throttle is the raw get_throttled word, as vcgencmd prints it in hex.
	Throttle uint32
}

// Reader reads one sysfs tree.
type Reader struct{ root string }

// New reads the real /sys.
func New() *Reader { return &Reader{root: "/"} }

// NewRoot reads a copy of sysfs under root, for tests.
func NewRoot(root string) *Reader { return &Reader{root: root} }

// cpuZones are the thermal zone types that measure the CPU: the Raspberry Pi
// and Jetson Orin ("cpu-thermal"), Jetson Nano/TX2 ("CPU-therm"), Intel PCs
// ("x86_pkg_temp"). Without one, the lowest-numbered zone is used: on SoCs
// with a single zone that is the CPU's, and on others it is still the
// board's hottest-running silicon more often than not.
var cpuZones = []string{"cpu-thermal", "cpu-therm", "x86_pkg_temp"}

const (
	thermalDir   = "sys/class/thermal"
	hwmonDir     = "sys/class/hwmon"
	getThrottled = "sys/devices/platform/soc/soc:firmware/get_throttled"
)

// Read takes a reading. Missing files only leave values unknown; a file
// that exists but cannot be read or parsed is an error that names it.
func (r *Reader) Read() (Status, error) {
	s := Status{TempC: math.NaN()}
	err := errors.Join(r.readTemp(&s), r.readThrottled(&s), r.readUnderVoltage(&s))
	return s, err
}

func (r *Reader) readTemp(s *Status) error {
	dir := filepath.Join(r.root, thermalDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("thermal: %w", err)
	}
	type zone struct {
		n         int
		dir, kind string
	}
	var zones []zone
	for _, e := range entries {
		num, ok := strings.CutPrefix(e.Name(), "thermal_zone")
		n, err := strconv.Atoi(num)
		if !ok || err != nil {
			continue // cooling_device*, or not a zone
		}
		z := zone{n: n, dir: filepath.Join(dir, e.Name()), kind: e.Name()}
		if _, err := os.Stat(filepath.Join(z.dir, "temp")); err != nil {
			continue
		}
		if kind, found, err := readText(filepath.Join(z.dir, "type")); err != nil {
			return err
		} else if found {
			z.kind = kind
		}
		zones = append(zones, z)
	}
	if len(zones) == 0 {
		return nil
	}
	sort.Slice(zones, func(i, j int) bool { return zones[i].n < zones[j].n })
	pick := zones[0]
pickCPU:
	for _, want := range cpuZones {
		for _, z := range zones {
			if strings.EqualFold(z.kind, want) {
				pick = z
				break pickCPU
			}
		}
	}
	path := filepath.Join(pick.dir, "temp")
	text, _, err := readText(path)
	if err != nil {
		return err
	}
	milli, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return fmt.Errorf("thermal: %s: not millidegrees: %q", path, text)
	}
	s.TempC, s.HasTemp, s.Zone = float64(milli)/1000, true, pick.kind
	return nil
}

// readThrottled reads the firmware's flags. The kernel prints them in hex
// without "0x" (vcgencmd adds one); both are accepted. The file is
// deprecated: kernels 4.19 to 6.6 log a one-time WARNING with a backtrace
// when it is first read after boot, and later ones removed it.
func (r *Reader) readThrottled(s *Status) error {
	path := filepath.Join(r.root, getThrottled)
	text, found, err := readText(path)
	if !found || err != nil {
		return err
	}
	v, err := strconv.ParseUint(strings.TrimPrefix(text, "0x"), 16, 32)
	if err != nil {
		return fmt.Errorf("thermal: %s: not a hex word: %q", path, text)
	}
	bit := func(i uint) bool { return v&(1<<i) != 0 }
	s.Throttle, s.HasThrottle, s.HasUnderVoltage = uint32(v), true, true
	s.UnderVoltage, s.FreqCapped, s.Throttled, s.SoftTempLimit = bit(0), bit(1), bit(2), bit(3)
	s.UnderVoltageOccurred, s.FreqCappedOccurred = bit(16), bit(17)
	s.ThrottledOccurred, s.SoftTempLimitOccurred = bit(18), bit(19)
	return nil
}

// readUnderVoltage reads the alarm of the raspberrypi-hwmon driver, found by
// its name because hwmon numbering changes between boots.
func (r *Reader) readUnderVoltage(s *Status) error {
	dir := filepath.Join(r.root, hwmonDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("thermal: %w", err)
	}
	for _, e := range entries {
		if name, _, _ := readText(filepath.Join(dir, e.Name(), "name")); name != "rpi_volt" {
			continue
		}
		path := filepath.Join(dir, e.Name(), "in0_lcrit_alarm")
		text, found, err := readText(path)
		if !found || err != nil {
			return err
		}
		if text != "0" && text != "1" {
			return fmt.Errorf("thermal: %s: not 0 or 1: %q", path, text)
		}
		s.HasUnderVoltage = true
		s.UnderVoltage = s.UnderVoltage || text == "1"
		return nil
	}
	return nil
}

// readText reads a small sysfs file without its trailing newline; found is
// false, with no error, when the file does not exist.
func readText(path string) (text string, found bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	} else if err != nil {
		return "", true, fmt.Errorf("thermal: %w", err)
	}
	return strings.TrimSpace(string(b)), true, nil
}
