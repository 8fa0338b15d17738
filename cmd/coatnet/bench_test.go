package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coatnet-edge/coatnet-edge/kernels"
	"github.com/coatnet-edge/coatnet-edge/model"
	"github.com/coatnet-edge/coatnet-edge/model/int8net"
	"github.com/coatnet-edge/coatnet-edge/preprocess"
)

// shipped are the demo models of models/, read as a user would.
const (
	shippedInt8  = "../../models/fmnist-pre-int8.coatnet"
	shippedFloat = "../../models/fmnist-pre.coatnet"
)

// fakeRoot writes a /proc and /sys tree and points the board readers at
// it for the test.
func fakeRoot(t *testing.T, files map[string]string) {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := boardRoot
	boardRoot = root
	t.Cleanup(func() { boardRoot = old })
}

// a76 is one Raspberry Pi 5 core in /proc/cpuinfo.
const a76 = `processor	: %d
BogoMIPS	: 108.00
Features	: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp
CPU implementer	: 0x41
CPU architecture: 8
CPU variant	: 0x4
CPU part	: 0xd0b
CPU revision	: 1

`

var pi5 = map[string]string{
	"proc/device-tree/model":                                "Raspberry Pi 5 Model B Rev 1.0\x00",
	"proc/cpuinfo":                                          strings.ReplaceAll(a76+a76+a76+a76, "%d", "0") + "Revision\t: d04170\nModel\t\t: Raspberry Pi 5 Model B Rev 1.0\n",
	"proc/sys/kernel/ostype":                                "Linux\n",
	"proc/sys/kernel/osrelease":                             "6.6.51+rpt-rpi-2712\n",
	"sys/devices/system/cpu/cpu0/cpufreq/scaling_governor":  "ondemand\n",
	"sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq":  "2400000\n",
	"sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq":  "1500000\n",
	"sys/class/thermal/thermal_zone0/type":                  "cpu-thermal\n",
	"sys/class/thermal/thermal_zone0/temp":                  "48312\n",
	"sys/devices/platform/soc/soc:firmware/get_throttled":   "50005\n",
	"sys/devices/system/cpu/cpu0/cpufreq/scaling_available": "ignored\n",
}

// jsonKind is the JSON type of v: string, number, bool, array, object
// or null.
func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "null"
}

// checkFields fails unless obj has every key of want with its type
// ("number|null": either) and no key want lacks.
func checkFields(t *testing.T, where string, obj any, want map[string]string) {
	t.Helper()
	m, ok := obj.(map[string]any)
	if !ok {
		t.Errorf("%s: %s, want an object", where, jsonKind(obj))
		return
	}
	for k, kinds := range want {
		v, ok := m[k]
		if !ok {
			t.Errorf("%s: no %q", where, k)
			continue
		}
		if !strings.Contains("|"+kinds+"|", "|"+jsonKind(v)+"|") {
			t.Errorf("%s.%s: %s %v, want %s", where, k, jsonKind(v), v, kinds)
		}
	}
	for k := range m {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected field %q", where, k)
		}
	}
}

var (
	machineFields = map[string]string{"board": "string", "cpu": "string", "cpu_part": "string", "cpu_revision": "string",
		"governor": "string", "max_mhz": "number|null", "kernel": "string", "coatnet_version": "string", "date": "string"}
	stateFields = map[string]string{"seconds": "number", "temp_c": "number|null", "thermal_zone": "string",
		"throttling": "string", "throttled_since_boot": "string", "cur_mhz": "number|null"}
	runFields = map[string]string{"threads": "number", "iterations": "number", "init_ms": "number",
		"first_inference_ms": "number", "min_ms": "number", "median_ms": "number", "p90_ms": "number", "p99_ms": "number",
		"max_ms": "number", "mean_ms": "number", "inferences_per_s": "number", "gmac_per_s": "number",
		"layers_ms": "number", "other_ms": "number", "op_types": "array", "layers": "array"}
	reportFields = map[string]string{"machine": "object", "before": "object", "after": "object", "model": "string",
		"source": "string", "kind": "string", "arch": "string", "img_size": "number", "macs": "number", "goarch": "string",
		"cpus": "number", "cpu_features": "string", "kernels": "object|null", "op_kernels": "array", "load_ms": "number",
		"warmup": "number", "peak_rss_bytes": "number", "runs": "array"}
)

// TestBenchJSONBoard checks every field of bench --json is present and
// typed, and that the board's identity and state come from /proc and
// /sys: a Raspberry Pi 5's, then a machine that tells nothing.
func TestBenchJSONBoard(t *testing.T) {
	fakeRoot(t, pi5)
	stdout, _, err := run(t, "bench", shippedInt8, "--iterations", "3", "--warmup", "1", "--threads", "1", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	checkFields(t, "report", rep, reportFields)
	checkFields(t, "machine", rep["machine"], machineFields)
	checkFields(t, "before", rep["before"], stateFields)
	checkFields(t, "after", rep["after"], stateFields)
	runs, _ := rep["runs"].([]any)
	if len(runs) != 1 {
		t.Fatalf("%d runs", len(runs))
	}
	checkFields(t, "runs[0]", runs[0], runFields)

	var typed benchReport
	if err := json.Unmarshal([]byte(stdout), &typed); err != nil {
		t.Fatal(err)
	}
	mhz := func(v int) *int { return &v }
	want := boardInfo{Board: "Raspberry Pi 5 Model B Rev 1.0", CPU: "4x Cortex-A76 r4p1", CPUPart: "0xd0b",
		CPURevision: "r4p1", Governor: "ondemand", MaxMHz: mhz(2400), Kernel: "Linux 6.6.51+rpt-rpi-2712",
		Version: version(), Date: typed.Machine.Date}
	if !reflect.DeepEqual(typed.Machine, want) {
		t.Errorf("machine %+v\nwant    %+v", typed.Machine, want)
	}
	if _, err := time.Parse(time.RFC3339, typed.Machine.Date); err != nil {
		t.Errorf("date: %v", err)
	}
	for _, s := range []boardState{typed.Before, typed.After} {
		if s.TempC == nil || *s.TempC != 48.312 || s.Zone != "cpu-thermal" || s.Throttling != "throttled,under-voltage" ||
			s.ThrottledSinceBoot != "throttled,under-voltage" || s.CurMHz == nil || *s.CurMHz != 1500 {
			t.Errorf("state %+v", s)
		}
	}
	if typed.After.Seconds < typed.Before.Seconds || typed.LoadMs <= 0 || typed.Runs[0].InitMs <= 0 || typed.Runs[0].FirstMs <= 0 {
		t.Errorf("times: before %v after %v load %v init %v first %v", typed.Before.Seconds, typed.After.Seconds,
			typed.LoadMs, typed.Runs[0].InitMs, typed.Runs[0].FirstMs)
	}

	// Nothing to read: every value unknown, no error, the same fields.
	fakeRoot(t, map[string]string{})
	stdout, _, err = run(t, "bench", shippedInt8, "--iterations", "1", "--warmup", "0", "--json")
	if err != nil {
		t.Fatal(err)
	}
	rep = nil
	json.Unmarshal([]byte(stdout), &rep)
	checkFields(t, "bare machine", rep["machine"], machineFields)
	checkFields(t, "bare before", rep["before"], stateFields)
	typed = benchReport{}
	json.Unmarshal([]byte(stdout), &typed)
	m, b := typed.Machine, typed.Before
	for _, v := range []string{m.Board, m.CPU, m.CPUPart, m.CPURevision, m.Governor, m.Kernel, b.Zone, b.Throttling, b.ThrottledSinceBoot} {
		if v != unknown {
			t.Errorf("bare machine: %q, want unknown (%+v %+v)", v, m, b)
		}
	}
	if m.MaxMHz != nil || b.TempC != nil || b.CurMHz != nil {
		t.Errorf("bare machine: numbers %+v %+v", m, b)
	}
	// The text report has the same lines, unknown spelt out.
	stdout, _, err = run(t, "bench", shippedInt8, "--iterations", "1", "--warmup", "0")
	for _, line := range []string{"board      unknown", "clock      governor unknown, unknown now, unknown max", "thermal    before: unknown", "thermal    after: unknown", "load  "} {
		if err != nil || !strings.Contains(stdout, line) {
			t.Errorf("text report lacks %q: %v\n%s", line, err, stdout)
		}
	}
}

// TestParseCPUInfo names the cores of boards' /proc/cpuinfo.
func TestParseCPUInfo(t *testing.T) {
	core := func(impl, variant, part, rev string) string {
		return "processor\t: 0\nCPU implementer\t: " + impl + "\nCPU architecture: 8\nCPU variant\t: " + variant +
			"\nCPU part\t: " + part + "\nCPU revision\t: " + rev + "\n\n"
	}
	rk3588 := strings.Repeat(core("0x41", "0x2", "0xd05", "0"), 4) + strings.Repeat(core("0x41", "0x4", "0xd0b", "0"), 4)
	pi4 := strings.Repeat(core("0x41", "0x0", "0xd08", "3"), 4) + "Hardware\t: BCM2835\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n"
	for _, tc := range []struct {
		name, text string
		want       cpuInfo
	}{
		{"rk3588", rk3588, cpuInfo{summary: "4x Cortex-A55 r2p0 + 4x Cortex-A76 r4p0", parts: "0xd05,0xd0b", revisions: "r2p0,r4p0"}},
		{"pi4", pi4, cpuInfo{summary: "4x Cortex-A72 r0p3", parts: "0xd08", revisions: "r0p3", model: "Raspberry Pi 4 Model B Rev 1.4"}},
		{"pi zero 2", strings.Repeat(core("0x41", "0x0", "0xd03", "4"), 4), cpuInfo{summary: "4x Cortex-A53 r0p4", parts: "0xd03", revisions: "r0p4"}},
		{"apple", core("0x61", "0x1", "0x022", "1"), cpuInfo{summary: "1x implementer 0x61 part 0x022 r1p1", parts: "0x022", revisions: "r1p1"}},
		{"x86", "processor\t: 0\nmodel name\t: Intel(R) Core(TM)  i5-8250U CPU\n\nprocessor\t: 1\nmodel name\t: Intel(R) Core(TM)  i5-8250U CPU\n",
			cpuInfo{summary: "2x Intel(R) Core(TM) i5-8250U CPU"}},
		{"empty", "", cpuInfo{}},
		{"garbage", "\x00\x01 no colon\n\n::\n", cpuInfo{}},
	} {
		if got := parseCPUInfo(tc.text); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// near is a == b to float rounding.
func near(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// TestBenchLayersAddUp checks the op profile's arithmetic, not speed:
// the kinds sum to the layers, the layers (timed inside each inference)
// to no more than the inference, the rest is "other"; and the text lists
// --top layers.
func TestBenchLayersAddUp(t *testing.T) {
	for _, file := range []string{shippedInt8, shippedFloat} {
		stdout, _, err := run(t, "bench", file, "--iterations", "4", "--warmup", "1", "--layers", "--json")
		if err != nil {
			t.Fatal(err)
		}
		var rep benchReport
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatal(err)
		}
		for _, r := range rep.Runs {
			var layersMs, share, kindsMs, kindsShare float64
			var macs, kindMACs int64
			count := 0
			for _, l := range r.Layers {
				layersMs += l.Ms
				share += l.Share
				macs += l.MACs
			}
			for i, k := range r.OpTypes {
				kindsMs += k.Ms
				kindsShare += k.Share
				kindMACs += k.MACs
				count += k.Count
				if i > 0 && k.Ms > r.OpTypes[i-1].Ms {
					t.Errorf("%s: op types not slowest first: %+v", file, r.OpTypes)
				}
			}
			if !near(layersMs, r.LayersMs) || !near(kindsMs, r.LayersMs) || count != len(r.Layers) || macs != rep.MACs || kindMACs != rep.MACs {
				t.Errorf("%s: layers %v ms, kinds %v ms, reported %v; %d of %d layers; MACs %d %d of %d",
					file, layersMs, kindsMs, r.LayersMs, count, len(r.Layers), macs, kindMACs, rep.MACs)
			}
			if !near(share, 1) || !near(kindsShare, 1) {
				t.Errorf("%s: shares sum to %v and %v", file, share, kindsShare)
			}
			if r.LayersMs > r.MeanMs*(1+1e-9) || r.OtherMs < 0 || !near(r.LayersMs+r.OtherMs, r.MeanMs) {
				t.Errorf("%s: layers %v + other %v ms against an inference of %v ms", file, r.LayersMs, r.OtherMs, r.MeanMs)
			}
		}
		stdout, _, err = run(t, "bench", file, "--iterations", "2", "--warmup", "0", "--layers", "--top", "3")
		if err != nil {
			t.Fatal(err)
		}
		_, top, ok := strings.Cut(stdout, "the 3 slowest layers")
		if !strings.Contains(stdout, "operations by kind") || !ok {
			t.Fatalf("%s: no op profile\n%s", file, stdout)
		}
		top, _, _ = strings.Cut(top, "\n\n")
		if rows := strings.Count(top, "\n"); rows != 1+3 { // title's end, header, 3 layers
			t.Errorf("%s: top 3 has %d lines:\n%s", file, rows, top)
		}
	}
}

// TestBenchSweep checks the sweep's table: a row per thread count from 1
// to NumCPU, speed-ups against the first, and the text ending with it.
func TestBenchSweep(t *testing.T) {
	stdout, _, err := run(t, "bench", shippedInt8, "--iterations", "2", "--warmup", "0", "--sweep", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep benchReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	n := runtime.NumCPU()
	if len(rep.Sweep) != n || len(rep.Runs) != n {
		t.Fatalf("%d sweep rows, %d runs for %d CPUs", len(rep.Sweep), len(rep.Runs), n)
	}
	for i, s := range rep.Sweep {
		r := rep.Runs[i]
		if s.Threads != i+1 || r.Threads != i+1 || s.MedianMs != r.MedianMs || s.PerSecond != r.PerSecond ||
			!near(s.Speedup, rep.Runs[0].MedianMs/r.MedianMs) || !near(s.Efficiency, s.Speedup/float64(s.Threads)) {
			t.Errorf("row %d: %+v for run %+v", i, s, r)
		}
	}
	if rep.Sweep[0].Speedup != 1 {
		t.Errorf("one thread against itself: %v", rep.Sweep[0].Speedup)
	}
	stdout, _, err = run(t, "bench", shippedInt8, "--iterations", "2", "--warmup", "0", "--sweep")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) < n+2 || !strings.Contains(lines[len(lines)-n-2], "threads against one thread") ||
		!strings.Contains(lines[len(lines)-n-1], "speed-up") {
		t.Fatalf("the text does not end with the sweep table:\n%s", stdout)
	}
	for i, l := range lines[len(lines)-n:] {
		if f := strings.Fields(l); len(f) != 5 || f[0] != string(rune('1'+i)) || !strings.HasSuffix(f[3], "x") {
			t.Errorf("sweep row %q", l)
		}
	}
	// The CSV: a header and a row per thread count, of equal width.
	stdout, _, err = run(t, "bench", shippedInt8, "--iterations", "2", "--warmup", "0", "--sweep", "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil || len(rows) != n+1 || len(rows[0]) != len(benchCSVHead)+len(benchCSVRun) || rows[1][len(benchCSVHead)] != "1" {
		t.Errorf("csv: %v\n%s", err, stdout)
	}
}

// fakeClock advances only when slept or when the inference says.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time                             { return c.t }
func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) { c.t = c.t.Add(d) }

// TestAtRate runs ten minutes at 5 per second on a fake clock: a row per
// 30 s, every frame on time; then with inferences slower than a frame,
// each due frame either run or counted missed; then cut short.
func TestAtRate(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	states := 0
	state := func(now time.Time) boardState {
		states++
		return boardState{Seconds: now.Sub(time.Unix(1e9, 0)).Seconds(), Throttling: "none"}
	}
	frames := 0
	rep, lat := atRate(context.Background(), clk, 5, 10*time.Minute, 30*time.Second,
		func() { clk.t = clk.t.Add(50 * time.Millisecond) }, state, func() { frames++ })
	if rep.Frames != 3000 || len(lat) != 3000 || frames != 3000 || rep.Missed != 0 || len(rep.Intervals) != 20 || states != 20 ||
		rep.ElapsedS != 600 || rep.Interrupted {
		t.Fatalf("%d frames (%d latencies, %d calls), %d missed, %d rows (%d states), %v s", rep.Frames, len(lat), frames,
			rep.Missed, len(rep.Intervals), states, rep.ElapsedS)
	}
	for i, r := range rep.Intervals {
		if r.Frames != 150 || r.Seconds != float64(30*(i+1)) || r.MedianMs != 50 || r.MaxMs != 50 || r.Throttling != "none" {
			t.Errorf("row %d: %+v", i, r)
		}
	}

	// Every seventh inference takes 450 ms: the frames due meanwhile are
	// missed, not queued.
	n := 0
	rep, lat = atRate(context.Background(), clk, 5, 10*time.Minute, 30*time.Second, func() {
		n++
		d := 50 * time.Millisecond
		if n%7 == 0 {
			d = 450 * time.Millisecond
		}
		clk.t = clk.t.Add(d)
	}, state, nil)
	sum := 0
	for _, r := range rep.Intervals {
		sum += r.Frames
		if r.Missed == 0 || r.MaxMs != 450 {
			t.Errorf("slow row %+v", r)
		}
	}
	if rep.Missed == 0 || rep.Frames+rep.Missed != 3000 || sum != rep.Frames || len(lat) != rep.Frames || len(rep.Intervals) != 20 {
		t.Errorf("slow: %d frames + %d missed of 3000, rows sum to %d, %d rows", rep.Frames, rep.Missed, sum, len(rep.Intervals))
	}

	// Cancelled by the inference that ends at 100 s (the 501st): the rows
	// so far and a partial one.
	ctx, cancel := context.WithCancel(context.Background())
	start := clk.t
	rep, _ = atRate(ctx, clk, 5, 10*time.Minute, 30*time.Second, func() {
		clk.t = clk.t.Add(50 * time.Millisecond)
		if clk.t.Sub(start) >= 100*time.Second {
			cancel()
		}
	}, state, nil)
	if !rep.Interrupted || len(rep.Intervals) != 4 || rep.Frames != 501 || math.Abs(rep.ElapsedS-100) > 0.1 ||
		rep.Intervals[3].Frames != 51 {
		t.Errorf("interrupted: %+v", rep)
	}
}

// TestBenchRate runs the command at a rate for a short real time and
// checks the report's structure, not its speed.
func TestBenchRate(t *testing.T) {
	csvPath := filepath.Join(t.TempDir(), "rate.csv")
	stdout, _, err := run(t, "bench", shippedInt8, "--rate", "20", "--duration", "1500ms", "--interval", "500ms",
		"--threads", "1", "--warmup", "0", "--json", "--csv", csvPath)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	json.Unmarshal([]byte(stdout), &raw)
	rate, _ := raw["rate"].(map[string]any)
	rows, _ := rate["intervals"].([]any)
	if len(rows) == 0 {
		t.Fatalf("no intervals: %s", stdout)
	}
	rowFields := map[string]string{"frames": "number", "missed": "number", "median_ms": "number", "p90_ms": "number",
		"p99_ms": "number", "max_ms": "number"}
	for k, v := range stateFields {
		rowFields[k] = v
	}
	checkFields(t, "rate.intervals[0]", rows[0], rowFields)
	var rep benchReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	r := rep.Rate
	sum := 0
	for i, row := range r.Intervals {
		sum += row.Frames
		if i > 0 && row.Seconds < r.Intervals[i-1].Seconds {
			t.Errorf("rows out of order: %+v", r.Intervals)
		}
	}
	if r.Rate != 20 || r.DurationS != 1.5 || r.IntervalS != 0.5 || r.Interrupted || len(r.Intervals) > 3 ||
		sum != r.Frames || len(rep.Runs) != 1 || rep.Runs[0].Iterations != r.Frames || r.Frames == 0 {
		t.Errorf("rate report %+v, runs %+v", r, rep.Runs)
	}
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	table, err := csv.NewReader(f).ReadAll()
	if err != nil || len(table) != 1+len(r.Intervals) || table[0][len(benchCSVHead)+2] != "seconds" {
		t.Errorf("csv: %v %v", err, table)
	}
	for _, bad := range [][]string{
		{"--rate", "-1"}, {"--rate", "5", "--sweep"}, {"--rate", "5", "--iterations", "3"}, {"--rate", "5", "--interval", "0s"},
	} {
		if _, _, err := run(t, append([]string{"bench", shippedInt8}, bad...)...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestBenchAccuracy scores a tiny folder dataset with the shipped int8
// model: the counts match the model's own answers picture by picture, the
// unknown folder and the broken picture are reported, not fatal.
func TestBenchAccuracy(t *testing.T) {
	dir := t.TempDir()
	pics := map[string]int{} // path: class
	for i, class := range []struct {
		folder string
		label  int
	}{{"Trouser", 1}, {"bag", 8}, {"ankle_boot", 9}, {"T-shirt_top", 0}} {
		for j := range 3 {
			p := filepath.Join(dir, class.folder, string(rune('a'+j))+".png")
			os.MkdirAll(filepath.Dir(p), 0o755)
			writePNG(t, p, 40+j*7, 36, uint8(40*i+j*13))
			pics[p] = class.label
		}
	}
	os.MkdirAll(filepath.Join(dir, "unicorns"), 0o755)
	writePNG(t, filepath.Join(dir, "unicorns", "u.png"), 28, 28, 1)
	os.WriteFile(filepath.Join(dir, "bag", "broken.png"), []byte("\x89PNG but not really"), 0o644)

	stdout, _, err := run(t, "bench", shippedInt8, "--iterations", "2", "--warmup", "0", "--accuracy", dir, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep benchReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	a := rep.Accuracy
	if a == nil {
		t.Fatalf("no accuracy: %s", stdout)
	}
	// What the model says of each picture, through its own classifier.
	m, err := model.Open(shippedInt8)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c, err := model.NewClassifier(m, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	top1, top5 := 0, 0
	for p, class := range pics {
		img, err := preprocess.LoadImage(p)
		if err != nil {
			t.Fatal(err)
		}
		logits, err := c.Logits(img)
		if err != nil {
			t.Fatal(err)
		}
		better := 0
		for j, v := range logits {
			if v > logits[class] || v == logits[class] && j < class {
				better++
			}
		}
		if better == 0 {
			top1++
		}
		if better < 5 {
			top5++
		}
	}
	if a.Images != 12 || a.Skipped != 1 || a.Top1 != top1 || a.Top5 != top5 || !reflect.DeepEqual(a.Unknown, []string{"unicorns"}) ||
		len(a.Bad) != 1 || !strings.Contains(a.Bad[0], "broken.png") || !near(a.Top1Acc, float64(top1)/12) {
		t.Errorf("accuracy %+v, want top-1 %d top-5 %d of 12", a, top1, top5)
	}
	labels := m.Describe().Labels
	want := []string{labels[0], labels[1], labels[8], labels[9]}
	for i, pc := range a.PerClass {
		if i >= len(want) || pc.Label != want[i] || pc.Images != 3 || pc.Top1 > pc.Top5 {
			t.Errorf("per class %+v, want labels %q with 3 pictures each", a.PerClass, want)
			break
		}
	}
	stdout, _, err = run(t, "bench", shippedInt8, "--iterations", "1", "--warmup", "0", "--accuracy", dir)
	if err != nil || !strings.Contains(stdout, "top-1") || !strings.Contains(stdout, `"unicorns"`) || !strings.Contains(stdout, "broken.png") {
		t.Errorf("text: %v\n%s", err, stdout)
	}
	if _, _, err := run(t, "bench", shippedInt8, "--iterations", "1", "--accuracy", filepath.Join(dir, "unicorns")); err == nil {
		t.Error("a dataset without class folders was accepted")
	}
}

// TestBenchArch benchmarks an architecture without a model file: tiny,
// at 64x64, quantized and float.
func TestBenchArch(t *testing.T) {
	for _, tc := range []struct {
		int8 string
		kind string
	}{{"true", int8net.FileKind}, {"false", model.KindFloat32}} {
		stdout, _, err := run(t, "bench", "--arch", "coatnet_pico_rw_224", "--img-size", "64", "--int8="+tc.int8,
			"--iterations", "2", "--warmup", "0", "--threads", "1", "--json", "--no-progress")
		if err != nil {
			t.Fatal(err)
		}
		var rep benchReport
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Kind != tc.kind || rep.Arch != "coatnet_pico_rw_224" || rep.ImgSize != 64 || rep.MACs <= 0 ||
			!strings.Contains(rep.Source, "synthetic") || len(rep.Runs) != 1 || rep.Runs[0].Iterations != 2 ||
			(tc.kind == int8net.FileKind) != (len(rep.OpKernels) > 0) {
			t.Errorf("int8=%s: %+v", tc.int8, rep)
		}
	}
	for _, bad := range [][]string{
		{"bench"},
		{"bench", shippedInt8, "--arch", "coatnet_pico_rw_224"},
		{"bench", "--arch", "coatnet_nope"},
		{"bench", "--arch", "coatnet_pico_rw_224", "--img-size", "50"},
		{"bench", shippedInt8, "--format", "xml"},
	} {
		if _, _, err := run(t, bad...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestBenchKernelsLevel forces every level this machine runs and checks
// the report names it (and that it is undone after), and refuses one the
// machine does not run.
func TestBenchKernelsLevel(t *testing.T) {
	before := kernels.Implementation()
	for _, level := range kernels.Levels() {
		stdout, _, err := run(t, "bench", shippedInt8, "--iterations", "1", "--warmup", "0", "--threads", "1", "--json", "--kernels", level)
		if err != nil {
			t.Fatalf("--kernels %s: %v", level, err)
		}
		var rep benchReport
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatal(err)
		}
		if got := rep.Kernels[kernels.NameGemmRequant]; got != level {
			t.Errorf("--kernels %s: the report's GEMM is %q", level, got)
		}
		if level == kernels.Ref && slices.ContainsFunc(slices.Collect(maps.Values(rep.Kernels)), func(s string) bool { return s != kernels.Ref }) {
			t.Errorf("--kernels go: %v", rep.Kernels)
		}
		if !maps.Equal(kernels.Implementation(), before) {
			t.Errorf("--kernels %s: the start-up choice is not restored: %v", level, kernels.Implementation())
		}
	}
	_, _, err := run(t, "bench", shippedInt8, "--iterations", "1", "--kernels", "pentium")
	if err == nil || !strings.Contains(err.Error(), `--kernels "pentium"`) || !strings.Contains(err.Error(), kernels.Ref) {
		t.Errorf("--kernels pentium: %v", err)
	}
}
