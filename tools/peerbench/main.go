// Command peerbench measures coatnet-edge side by side with ONNX Runtime
// on this machine: the same timm CoAtNet with the same weights (a
// conformance case's state dict, rebuilt from its seeded formula), batch 1,
// in one process, the engines taking turns. `make bench-peers` builds and
// runs it; -h lists the flags.
//
// Engines: coatnet-edge int8 and float32 (package model, in-process), and
// ONNX Runtime fp32 and int8 (static QDQ on the convolutions and the
// classifier) through its C API (github.com/yalue/onnxruntime_go, which
// dlopens the library at run time). What it needs and has not got, it
// makes once into -cache: ORT's shared library (from the npm package
// onnxruntime-node, by `npm pack`), the ONNX models
// (tools/train/export_onnx.py with PyTorch) and coatnet-edge's int8 model
// (package quant, on the same calibration inputs as ORT's). Where npm,
// PyTorch, the onnx package or the library is missing, it says so and
// exits 0: the comparison is skipped, nothing failed.
//
// This is a module of its own so that cgo and ONNX Runtime stay out of the
// project's go.mod, its `go test ./...` and its binaries.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coatnet-edge/coatnet-edge/internal/cpuinfo"
	"github.com/coatnet-edge/coatnet-edge/internal/testing/conformance"
	"github.com/coatnet-edge/coatnet-edge/kernels"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// errSkip marks what this machine lacks for the comparison: reported, and
// the exit status is 0.
var errSkip = errors.New("skipped")

func skipf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errSkip, fmt.Sprintf(format, a...))
}

// Engine names, as -engines takes them.
const (
	engEdgeInt8 = "coatnet-int8"
	engEdgeFP32 = "coatnet-fp32"
	engORTFP32  = "ort-fp32"
	engORTInt8  = "ort-int8"
)

var allEngines = []string{engEdgeInt8, engEdgeFP32, engORTFP32, engORTInt8}

// label is how the table names an engine.
var label = map[string]string{
	engEdgeInt8: "coatnet-edge int8",
	engEdgeFP32: "coatnet-edge float32",
	engORTFP32:  "ONNX Runtime fp32",
	engORTInt8:  "ONNX Runtime int8 (QDQ)",
}

type options struct {
	caseName   string
	cases      string
	threads    []int
	engines    []string
	rounds     int
	roundTime  time.Duration
	warmup     int
	calib      int
	cache      string
	ortLib     string
	ortVersion string
	ortSaveOpt string
	npm        string
	python     string
	export     string
}

func parse(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("peerbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, `usage: peerbench [flags]

Latency of coatnet-edge (int8, float32) and ONNX Runtime (fp32, int8 QDQ) on
one conformance case, batch 1, in rounds: each round runs every engine for
-round-time (at least once), in an order that rotates, so that a busy machine
slows all engines alike. Prints p50, p90, p99 and mean per engine and thread
count, and how far each engine's logits are from ONNX Runtime fp32's.

Flags:
`)
		fs.PrintDefaults()
	}
	threads := fs.String("threads", "1,2", "thread counts, comma-separated")
	engines := fs.String("engines", strings.Join(allEngines, ","), "engines, comma-separated")
	fs.StringVar(&o.caseName, "case", "coatnet_nano_rw_224_224_s1", "conformance case under $COATNET_CONFORMANCE (coatnet_nano_rw_224_224_s1, tiny_nano_rw_64_s3, ...)")
	fs.StringVar(&o.cases, "cases", casesDefault(), "the folder of conformance cases ($COATNET_CONFORMANCE)")
	fs.IntVar(&o.rounds, "rounds", 20, "rounds per thread count")
	fs.DurationVar(&o.roundTime, "round-time", 500*time.Millisecond, "each engine's time per round (it runs at least once)")
	fs.IntVar(&o.warmup, "warmup", 2, "untimed runs of each engine before the first round")
	fs.IntVar(&o.calib, "calib", 200, "calibration inputs for both int8 models")
	fs.StringVar(&o.cache, "cache", "bin/bench-peers", "where the library and the models are kept between runs")
	fs.StringVar(&o.ortLib, "ort-lib", "", "ONNX Runtime's shared library (default: fetched into -cache with npm)")
	fs.StringVar(&o.ortVersion, "ort-version", "1.30.0", "the onnxruntime-node version npm fetches")
	fs.StringVar(&o.ortSaveOpt, "ort-optimized", "", "write the graphs ONNX Runtime runs, after its fusions, into `DIR` (to see QLinearConv)")
	fs.StringVar(&o.npm, "npm", "npm", "the npm command")
	fs.StringVar(&o.python, "python", "/usr/bin/python3", "the Python with PyTorch (Debian's python3-torch) and onnx (python3-onnx)")
	fs.StringVar(&o.export, "export", "tools/train/export_onnx.py", "the ONNX export script")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, s := range strings.Split(*threads, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-threads %q: want positive counts separated by commas", *threads)
		}
		o.threads = append(o.threads, n)
	}
	for _, s := range strings.Split(*engines, ",") {
		s = strings.TrimSpace(s)
		if !slices.Contains(allEngines, s) {
			return nil, fmt.Errorf("-engines: unknown engine %q (want some of %s)", s, strings.Join(allEngines, ", "))
		}
		if !slices.Contains(o.engines, s) {
			o.engines = append(o.engines, s)
		}
	}
	switch {
	case o.rounds < 1:
		return nil, fmt.Errorf("-rounds %d: want at least 1", o.rounds)
	case o.roundTime < 0 || o.warmup < 0:
		return nil, errors.New("-round-time and -warmup must not be negative")
	case o.calib < 1:
		return nil, fmt.Errorf("-calib %d: want at least 1", o.calib)
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "peerbench:", err)
		return 2
	}
	err = bench(ctx, o, stdout, stderr)
	switch {
	case errors.Is(err, errSkip):
		fmt.Fprintln(stdout, "peerbench:", err)
		fmt.Fprintln(stdout, "peerbench: no comparison with ONNX Runtime on this machine (not a failure)")
		return 0
	case err != nil:
		fmt.Fprintln(stderr, "peerbench:", err)
		return 1
	}
	return 0
}

func has(o *options, names ...string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return slices.Contains(o.engines, n) })
}

// bench prepares what the engines need, then measures.
func bench(ctx context.Context, o *options, stdout, stderr io.Writer) error {
	caseDir := filepath.Join(o.cases, o.caseName)
	if _, err := os.Stat(filepath.Join(caseDir, "case.json")); err != nil {
		return skipf("no conformance case %s in %s (-cases or COATNET_CONFORMANCE names the folder of cases): %v", o.caseName, o.cases, err)
	}
	// benchmodel finds the case by the variable too.
	if err := os.Setenv("COATNET_CONFORMANCE", o.cases); err != nil {
		return err
	}
	c, err := conformance.Load(caseDir)
	if err != nil {
		return err
	}
	var onnxFP32, onnxInt8 string
	if has(o, engORTFP32, engORTInt8) {
		lib := o.ortLib
		if lib == "" {
			if lib, err = fetchORT(ctx, o, stderr); err != nil {
				return err
			}
		}
		if err := ortInit(lib); err != nil {
			return skipf("ONNX Runtime library %s does not load: %v", lib, err)
		}
		defer ortDestroy()
		if onnxFP32, onnxInt8, err = exportONNX(ctx, o, caseDir, stderr); err != nil {
			return err
		}
	}
	edge, err := newEdgeModels(ctx, o, c, stderr)
	if err != nil {
		return err
	}
	defer edge.close()

	cfg, err := c.Config()
	if err != nil {
		return err
	}
	input, err := c.Input.Generate()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "peerbench: %s at %d, batch 1: conformance case %s (timm's state dict from the case formula)\n",
		c.TimmModel, cfg.ImgSize, c.Name)
	fmt.Fprintf(stdout, "machine: %s, %d CPUs, %s/%s; coatnet-edge kernels: %s", cpuModel(), runtime.NumCPU(),
		runtime.GOOS, runtime.GOARCH, kernelSummary())
	if onnxFP32 != "" {
		fmt.Fprintf(stdout, "; ONNX Runtime %s", ortVersion())
	}
	fmt.Fprintf(stdout, "\ncpu: %s\n", cpuinfo.Summary())
	fmt.Fprintf(stdout, "int8: both models calibrated on the %d case-formula inputs of seeds 101..%d; coatnet-edge by package quant, ONNX Runtime static QDQ (Conv and Gemm, MinMax)\n",
		o.calib, 100+o.calib)
	fmt.Fprintf(stdout, "rounds: %d per thread count, each engine %v per round (at least one run), order rotating; %d warm-up runs\n",
		o.rounds, o.roundTime, o.warmup)
	fmt.Fprintf(stdout, "load average before: %s\n\n", loadAverage())

	shape := []int64{1, int64(cfg.InChans), int64(cfg.ImgSize), int64(cfg.ImgSize)}
	var rows []row
	agree := map[string]agreement{}
	for _, th := range o.threads {
		var engs []*engine
		closeAll := func() {
			for _, e := range engs {
				e.close()
			}
		}
		for _, name := range o.engines {
			var e *engine
			switch name {
			case engEdgeInt8, engEdgeFP32:
				e, err = edge.engine(name, th)
			case engORTFP32:
				e, err = newORTEngine(name, onnxFP32, th, o.ortSaveOpt, shape, input, cfg.NumClasses)
			case engORTInt8:
				e, err = newORTEngine(name, onnxInt8, th, o.ortSaveOpt, shape, input, cfg.NumClasses)
			}
			if err != nil {
				closeAll()
				return fmt.Errorf("%s, %d threads: %w", label[name], th, err)
			}
			if e.input != nil {
				copy(e.input, input)
			}
			engs = append(engs, e)
		}
		r, err := measure(ctx, o, th, engs, stderr)
		if err == nil && len(agree) == 0 {
			agree = agreements(engs)
		}
		closeAll()
		if err != nil {
			return err
		}
		rows = append(rows, r...)
	}
	printTable(stdout, rows, o.engines, agree)
	fmt.Fprintf(stdout, "load average after: %s\n", loadAverage())
	return nil
}

// casesDefault is $COATNET_CONFORMANCE, or the shared folder beside the
// repository as the Makefile has it, seen from the repository root.
func casesDefault() string {
	if d := os.Getenv("COATNET_CONFORMANCE"); d != "" {
		return d
	}
	return filepath.Join("..", "shared", "conformance", "timm")
}

// engine is one engine at one thread count; run returns the logits.
type engine struct {
	name  string
	input []float32 // where the input goes, nil if it was given at construction
	run   func() ([]float32, error)
	close func()
}

type row struct {
	threads int
	engine  string
	lat     []time.Duration
}

// measure warms every engine up, then runs the rounds.
func measure(ctx context.Context, o *options, threads int, engs []*engine, stderr io.Writer) ([]row, error) {
	rows := make([]row, len(engs))
	for i, e := range engs {
		rows[i] = row{threads: threads, engine: e.name}
		for range o.warmup {
			if _, err := e.run(); err != nil {
				return nil, fmt.Errorf("%s: %w", label[e.name], err)
			}
		}
	}
	fmt.Fprintf(stderr, "peerbench: %d thread(s): %d rounds\n", threads, o.rounds)
	for r := range o.rounds {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for k := range engs {
			i := (k + r) % len(engs)
			e := engs[i]
			for start := time.Now(); ; {
				t := time.Now()
				if _, err := e.run(); err != nil {
					return nil, fmt.Errorf("%s: %w", label[e.name], err)
				}
				rows[i].lat = append(rows[i].lat, time.Since(t))
				if time.Since(start) >= o.roundTime {
					break
				}
			}
		}
	}
	return rows, nil
}

// agreement is how close an engine's logits are to the reference's on the
// case input: the same architecture and weights should give nearly the
// same numbers (int8 a little further off).
type agreement struct {
	ref     string
	maxDiff float64
	cosine  float64
	top1    bool
}

func agreements(engs []*engine) map[string]agreement {
	logits := map[string][]float32{}
	for _, e := range engs {
		l, err := e.run()
		if err != nil {
			continue
		}
		logits[e.name] = slices.Clone(l)
	}
	ref := engORTFP32
	if logits[ref] == nil {
		ref = engEdgeFP32
	}
	out := map[string]agreement{}
	want := logits[ref]
	if want == nil {
		return out
	}
	for name, got := range logits {
		if name == ref || len(got) != len(want) {
			continue
		}
		a := agreement{ref: ref, top1: argmax(got) == argmax(want)}
		var dot, na, nb float64
		for i := range got {
			a.maxDiff = max(a.maxDiff, math.Abs(float64(got[i]-want[i])))
			dot += float64(got[i]) * float64(want[i])
			na += float64(got[i]) * float64(got[i])
			nb += float64(want[i]) * float64(want[i])
		}
		a.cosine = dot / math.Sqrt(na*nb)
		out[name] = a
	}
	return out
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// percentile is the nearest-rank percentile of sorted latencies, in ms.
func percentile(sorted []time.Duration, p float64) float64 {
	return ms(sorted[max(0, int(math.Ceil(p*float64(len(sorted))))-1)])
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

func printTable(w io.Writer, rows []row, engines []string, agree map[string]agreement) {
	const format = "%-7s  %-23s  %5s  %9s  %9s  %9s  %9s  %s\n"
	fmt.Fprintf(w, format, "threads", "engine", "runs", "p50 ms", "p90 ms", "p99 ms", "mean ms", "p50 / best ORT p50")
	for _, r := range rows {
		s := slices.Clone(r.lat)
		slices.Sort(s)
		var sum time.Duration
		for _, d := range s {
			sum += d
		}
		p50 := percentile(s, 0.5)
		ratio := ""
		if best := bestORT(rows, r.threads); best > 0 {
			ratio = fmt.Sprintf("%.2fx", p50/best)
		}
		f := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
		fmt.Fprintf(w, format, strconv.Itoa(r.threads), label[r.engine], strconv.Itoa(len(s)), f(p50),
			f(percentile(s, 0.9)), f(percentile(s, 0.99)), f(ms(sum)/float64(len(s))), ratio)
	}
	if len(agree) == 0 {
		return
	}
	fmt.Fprintln(w)
	for _, name := range engines {
		a, ok := agree[name]
		if !ok {
			continue
		}
		fmt.Fprintf(w, "logits of %s against %s on the case input: max |d| %.3g, cosine %.5f, same top-1: %v\n",
			label[name], label[a.ref], a.maxDiff, a.cosine, a.top1)
	}
}

// bestORT is the lowest ORT p50 at a thread count, 0 without ORT.
func bestORT(rows []row, threads int) float64 {
	best := 0.0
	for _, r := range rows {
		if r.threads != threads || (r.engine != engORTFP32 && r.engine != engORTInt8) {
			continue
		}
		s := slices.Clone(r.lat)
		slices.Sort(s)
		if p := percentile(s, 0.5); best == 0 || p < best {
			best = p
		}
	}
	return best
}

// kernelSummary names the int8 kernels' implementations, most used first.
func kernelSummary() string {
	count := map[string]int{}
	for _, impl := range kernels.Implementation() {
		count[impl]++
	}
	var names []string
	for n := range count {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		if count[a] != count[b] {
			return count[b] - count[a]
		}
		return strings.Compare(a, b)
	})
	for i, n := range names {
		names[i] = fmt.Sprintf("%s (%d)", n, count[n])
	}
	return strings.Join(names, ", ")
}

// loadAverage is /proc/loadavg's 1, 5 and 15 minute figures: how busy the
// machine was around the measurement (the other engines' turns are not the
// only load on a shared machine).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// cpuModel is /proc/cpuinfo's model name, or GOARCH.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	return runtime.GOARCH
}
