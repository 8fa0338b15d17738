package thermal

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tree writes a fake sysfs: file paths relative to the root and their
// contents; a content of "<dir>" makes a directory instead, which reading
// fails on even as root.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		if content == "<dir>" {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const (
	zones = "sys/class/thermal/"
	hwmon = "sys/class/hwmon/"
	fw    = "sys/devices/platform/soc/soc:firmware/get_throttled"
)

func TestRead(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  Status
	}{{
		name: "pi4 kernel 6.6",
		files: map[string]string{
			zones + "thermal_zone0/type":     "cpu-thermal\n",
			zones + "thermal_zone0/temp":     "48312\n",
			zones + "cooling_device0/type":   "gpio-fan\n",
			fw:                               "50005\n",
			hwmon + "hwmon0/name":            "cpu_thermal\n",
			hwmon + "hwmon1/name":            "rpi_volt\n",
			hwmon + "hwmon1/in0_lcrit_alarm": "0\n", // polled at another moment
		},
		want: Status{TempC: 48.312, HasTemp: true, Zone: "cpu-thermal",
			HasUnderVoltage: true, UnderVoltage: true,
			HasThrottle: true, Throttle: 0x50005, Throttled: true,
			UnderVoltageOccurred: true, ThrottledOccurred: true},
	}, {
		// 0x80008 is the soft limit now and since boot; under-voltage
		// comes from either source.
		name: "pi soft limit, vcgencmd spelling",
		files: map[string]string{
			zones + "thermal_zone0/type":     "cpu-thermal\n",
			zones + "thermal_zone0/temp":     "81000\n",
			fw:                               "0x80008\n",
			hwmon + "hwmon3/name":            "rpi_volt\n",
			hwmon + "hwmon3/in0_lcrit_alarm": "1\n",
		},
		want: Status{TempC: 81, HasTemp: true, Zone: "cpu-thermal", HasUnderVoltage: true, UnderVoltage: true,
			HasThrottle: true, Throttle: 0x80008, SoftTempLimit: true, SoftTempLimitOccurred: true},
	}, {
		name: "pi every bit",
		files: map[string]string{
			fw: "e000f\n",
		},
		want: Status{TempC: math.NaN(), HasUnderVoltage: true, UnderVoltage: true,
			HasThrottle: true, Throttle: 0xe000f, FreqCapped: true, Throttled: true, SoftTempLimit: true,
			FreqCappedOccurred: true, ThrottledOccurred: true, SoftTempLimitOccurred: true},
	}, {
		// Kernels from 6.12 have no get_throttled: under-voltage only,
		// from the hwmon device found by name, not by index.
		name: "pi5 kernel 6.12",
		files: map[string]string{
			zones + "thermal_zone0/type":     "cpu-thermal\n",
			zones + "thermal_zone0/temp":     "55100\n",
			hwmon + "hwmon0/name":            "cpu_thermal\n",
			hwmon + "hwmon0/in0_lcrit_alarm": "1\n",
			hwmon + "hwmon1/name":            "rp1_adc\n",
			hwmon + "hwmon2/name":            "rpi_volt\n",
			hwmon + "hwmon2/in0_lcrit_alarm": "1\n",
		},
		want: Status{TempC: 55.1, HasTemp: true, Zone: "cpu-thermal", HasUnderVoltage: true, UnderVoltage: true},
	}, {
		name: "jetson nano",
		files: map[string]string{
			zones + "thermal_zone0/type": "AO-therm\n",
			zones + "thermal_zone0/temp": "39500\n",
			zones + "thermal_zone1/type": "CPU-therm\n",
			zones + "thermal_zone1/temp": "41000\n",
			zones + "thermal_zone2/type": "GPU-therm\n",
			zones + "thermal_zone2/temp": "40500\n",
			zones + "thermal_zone4/type": "PMIC-Die\n",
			zones + "thermal_zone4/temp": "100000\n",
		},
		want: Status{TempC: 41, HasTemp: true, Zone: "CPU-therm"},
	}, {
		name: "jetson orin",
		files: map[string]string{
			zones + "thermal_zone0/type": "gpu-thermal\n",
			zones + "thermal_zone0/temp": "44000\n",
			zones + "thermal_zone1/type": "cpu-thermal\n",
			zones + "thermal_zone1/temp": "46531\n",
			zones + "thermal_zone8/type": "tj-thermal\n",
			zones + "thermal_zone8/temp": "47000\n",
			// A sensor that is off fails to read; only the zone used matters.
			zones + "thermal_zone9/type": "cv0-thermal\n",
			zones + "thermal_zone9/temp": "<dir>",
		},
		want: Status{TempC: 46.531, HasTemp: true, Zone: "cpu-thermal"},
	}, {
		name: "x86 pc",
		files: map[string]string{
			zones + "thermal_zone0/type":   "acpitz\n",
			zones + "thermal_zone0/temp":   "27800\n",
			zones + "thermal_zone1/type":   "x86_pkg_temp\n",
			zones + "thermal_zone1/temp":   "52000\n",
			zones + "cooling_device3/type": "Processor\n",
		},
		want: Status{TempC: 52, HasTemp: true, Zone: "x86_pkg_temp"},
	}, {
		// No CPU zone: the lowest number, compared as a number, not text;
		// zones without a temp file do not count; a zone without a type
		// is named by its directory; sub-zero is a temperature too.
		name: "unknown soc",
		files: map[string]string{
			zones + "thermal_zone10/type": "gpu\n",
			zones + "thermal_zone10/temp": "60000\n",
			zones + "thermal_zone1/type":  "no-sensor\n",
			zones + "thermal_zone3/temp":  "-5250\n",
			zones + "thermal_zone12/temp": "70000\n",
		},
		want: Status{TempC: -5.25, HasTemp: true, Zone: "thermal_zone3"},
	}, {
		name:  "nothing",
		files: map[string]string{},
		want:  Status{TempC: math.NaN()},
	}, {
		name: "empty dirs",
		files: map[string]string{
			zones + "thermal_zone0":         "<dir>",
			hwmon + "hwmon0/name":           "rpi_volt\n",
			"sys/devices/platform/soc/keep": "",
		},
		want: Status{TempC: math.NaN()},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NewRoot(tree(t, tc.files)).Read()
			if err != nil {
				t.Fatal(err)
			}
			if !same(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// same compares two readings, NaN equal to NaN.
func same(a, b Status) bool {
	if math.IsNaN(a.TempC) && math.IsNaN(b.TempC) {
		a.TempC, b.TempC = 0, 0
	}
	return a == b
}

// Broken files are errors naming them; what could be read is still returned.
func TestBroken(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		files      map[string]string
		want       Status
	}{
		{"temp not a number", zones + "thermal_zone0/temp", map[string]string{
			zones + "thermal_zone0/temp": "hot\n", fw: "0\n"},
			Status{TempC: math.NaN(), HasThrottle: true, HasUnderVoltage: true}},
		{"temp in degrees", zones + "thermal_zone0/temp", map[string]string{
			zones + "thermal_zone0/temp": "48.3\n"},
			Status{TempC: math.NaN()}},
		{"temp empty", zones + "thermal_zone0/temp", map[string]string{
			zones + "thermal_zone0/temp": ""},
			Status{TempC: math.NaN()}},
		{"temp unreadable", zones + "thermal_zone0/temp", map[string]string{
			zones + "thermal_zone0/temp": "<dir>"},
			Status{TempC: math.NaN()}},
		{"type unreadable", zones + "thermal_zone0/type", map[string]string{
			zones + "thermal_zone0/temp": "1000\n", zones + "thermal_zone0/type": "<dir>"},
			Status{TempC: math.NaN()}},
		{"throttled not hex", fw, map[string]string{
			zones + "thermal_zone0/temp": "45000\n", fw: "throttled=0x0\n"},
			Status{TempC: 45, HasTemp: true, Zone: "thermal_zone0"}},
		{"throttled too wide", fw, map[string]string{fw: "100000000\n"},
			Status{TempC: math.NaN()}},
		{"throttled empty", fw, map[string]string{fw: "\n"},
			Status{TempC: math.NaN()}},
		{"throttled unreadable", fw, map[string]string{fw: "<dir>"},
			Status{TempC: math.NaN()}},
		{"alarm not a bit", hwmon + "hwmon0/in0_lcrit_alarm", map[string]string{
			hwmon + "hwmon0/name": "rpi_volt\n", hwmon + "hwmon0/in0_lcrit_alarm": "2\n"},
			Status{TempC: math.NaN()}},
		{"alarm unreadable", hwmon + "hwmon0/in0_lcrit_alarm", map[string]string{
			hwmon + "hwmon0/name": "rpi_volt\n", hwmon + "hwmon0/in0_lcrit_alarm": "<dir>"},
			Status{TempC: math.NaN()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := tree(t, tc.files)
			got, err := NewRoot(root).Read()
			if err == nil || !strings.Contains(err.Error(), filepath.Join(root, tc.file)) {
				t.Fatalf("error %v, want one naming %s", err, tc.file)
			}
			if !same(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// The real /sys must read without error wherever the tests run, whatever it has.
func TestHost(t *testing.T) {
	s, err := New().Read()
	if err != nil {
		t.Fatal(err)
	}
	if s.HasTemp && (s.TempC < -40 || s.TempC > 150) {
		t.Errorf("implausible CPU temperature %v °C from zone %q", s.TempC, s.Zone)
	}
	if !s.HasTemp && !math.IsNaN(s.TempC) {
		t.Errorf("TempC %v without HasTemp", s.TempC)
	}
	t.Logf("%+v", s)
}
