package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/coatnet-edge/coatnet-edge/dataset"
	"github.com/coatnet-edge/coatnet-edge/internal/cpuinfo"
	"github.com/coatnet-edge/coatnet-edge/internal/rss"
	"github.com/coatnet-edge/coatnet-edge/internal/termtext"
	"github.com/coatnet-edge/coatnet-edge/kernels"
	"github.com/coatnet-edge/coatnet-edge/model"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/engine"
	"github.com/coatnet-edge/coatnet-edge/model/int8net"
)

// benchRun is the measurement at one thread count.
type benchRun struct {
	Threads    int `json:"threads"`
	Iterations int `json:"iterations"`
	// InitMs is the engine's construction (weights packed, buffers
	// allocated), FirstMs the first inference after it: what a camera's
	// first frame waits for, as benchmark_model reports them.
	InitMs    float64 `json:"init_ms"`
	FirstMs   float64 `json:"first_inference_ms"`
	MinMs     float64 `json:"min_ms"`
	MedianMs  float64 `json:"median_ms"`
	P90Ms     float64 `json:"p90_ms"`
	P99Ms     float64 `json:"p99_ms"`
	MaxMs     float64 `json:"max_ms"`
	MeanMs    float64 `json:"mean_ms"`
	PerSecond float64 `json:"inferences_per_s"`
	GMACs     float64 `json:"gmac_per_s"`
	// LayersMs is the layers' time per inference, summed; OtherMs the rest
	// of MeanMs (the engine between operations, the clock reads).
	LayersMs float64      `json:"layers_ms"`
	OtherMs  float64      `json:"other_ms"`
	OpTypes  []opTotal    `json:"op_types"` // the layers summed by kind, slowest first
	Layers   []benchLayer `json:"layers,omitempty"`
}

type benchLayer struct {
	Name  string  `json:"name"`
	Kind  string  `json:"kind"`
	Impl  string  `json:"impl,omitempty"`
	MACs  int64   `json:"macs"`
	Ms    float64 `json:"ms_per_inference"`
	Share float64 `json:"share"`
	GMACs float64 `json:"gmac_per_s"`
}

// opTotal is one kind of operation's share of an inference, as
// benchmark_model's op profile sums its nodes by type.
type opTotal struct {
	Kind  string  `json:"kind"`
	Count int     `json:"count"`
	MACs  int64   `json:"macs"`
	Ms    float64 `json:"ms_per_inference"`
	Share float64 `json:"share"`
	GMACs float64 `json:"gmac_per_s"`
}

// sweepRow is one thread count of --sweep against one thread.
type sweepRow struct {
	Threads    int     `json:"threads"`
	MedianMs   float64 `json:"median_ms"`
	PerSecond  float64 `json:"inferences_per_s"`
	Speedup    float64 `json:"speedup"`    // one thread's median over this one's
	Efficiency float64 `json:"efficiency"` // Speedup / Threads
}

type benchReport struct {
	Machine boardInfo  `json:"machine"`
	Before  boardState `json:"before"` // the board's state before the first engine was built
	After   boardState `json:"after"`  // and after the last measurement
	Model   string     `json:"model"`
	// Source is the file, or how --arch made the model.
	Source  string            `json:"source"`
	Kind    string            `json:"kind"`
	Arch    string            `json:"arch"`
	ImgSize int               `json:"img_size"`
	MACs    int64             `json:"macs"`
	GOARCH  string            `json:"goarch"`
	CPUs    int               `json:"cpus"`
	CPU     string            `json:"cpu_features"`
	Kernels map[string]string `json:"kernels"`
	// OpKernels: for each kind of int8 operation, its kernels and their
	// implementations.
	OpKernels []opKernels `json:"op_kernels,omitempty"`
	// LoadMs is opening and checking the model file (or, with --arch,
	// making and quantizing it).
	LoadMs   float64               `json:"load_ms"`
	Warmup   int                   `json:"warmup"`
	PeakRSS  int64                 `json:"peak_rss_bytes"`
	Runs     []benchRun            `json:"runs"`
	Sweep    []sweepRow            `json:"sweep,omitempty"`
	Rate     *rateReport           `json:"rate,omitempty"`
	Accuracy *dataset.FolderReport `json:"accuracy,omitempty"`
}

// benchOptions are bench's flags.
type benchOptions struct {
	iterations, warmup, threads, top, imgSize int
	duration, interval                        time.Duration
	rate                                      float64
	sweep, layers, asJSON, int8               bool
	format, csvFile, archName, accuracy, plot string
	level                                     string // --kernels
}

func newBenchCmd() *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "bench MODEL | --arch NAME",
		Short: "Measure inference latency, throughput and memory on this machine",
		Long: `bench runs a model file (float or int8) on a fixed synthetic input and reports,
with the board it ran on (model, CPU cores, clock governor and frequency,
temperature and throttling before and after, kernel, coatnet version, date):
the time to load the model, to build the engine and of the first inference;
then, after warm-up runs, a number of iterations (or as many as fit in
--duration): latency (min, median, p90, p99, max, mean), throughput, the
model's MACs per second, the peak resident memory, the time of every block
with its MACs and GMAC/s, and which kernel implementation each int8 op uses.

--arch NAME benchmarks an architecture without a model file: synthetic
weights, quantized to int8 on a few synthetic inputs (float with --int8=false).
--layers adds the time of each kind of operation and the --top slowest
layers, as TFLite's benchmark_model does. --sweep repeats the measurement for
1..NumCPU threads and ends with a table of threads against latency and
speed-up. --rate runs at a camera's pace for --duration (a board throttles
after minutes) and reports latency, temperature and throttling every
--interval; Ctrl-C ends it early with the report so far. --accuracy DIR
scores a folder of pictures (a subfolder per class, named as the model's
labels) for top-1 and top-5 accuracy in the same report. --kernels LEVEL
runs the int8 kernels of one level of this machine's (avx2 on an AVX-512
machine shows what an AVX2-only one gets; go is the portable reference).

--json (or --format json) prints everything for machines, --format csv a row
per thread count (per interval with --rate); --csv FILE writes that CSV
beside the report. --plot FILE.svg (or .png) draws the time of every layer, in
the order they run, as a bar chart with each layer's kind, time and share, the
model and thread count in its title; it implies --layers. With --sweep it
draws the last thread count.`,
		Example: `  coatnet bench models/fmnist-pre-int8.coatnet
  coatnet bench nano-int8.coatnet --duration 20s --sweep --json
  coatnet bench --arch coatnet_nano_rw_224 --layers --top 15
  coatnet bench nano-int8.coatnet --rate 5 --duration 10m --csv pi5-nano.csv
  coatnet bench nano-int8.coatnet --accuracy ~/pictures/val
  coatnet bench models/fmnist-pre-int8.coatnet --layers --plot layers.svg
  coatnet bench nano-int8.coatnet --kernels avx2 --threads 1   # the AVX2-only path
  coatnet bench nano-int8.coatnet --iterations 1 --warmup 0 --threads 1   # for instruction counting`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.asJSON {
				o.format = "json"
			}
			switch {
			case o.iterations < 0 || o.warmup < 0 || o.top < 0:
				return fmt.Errorf("--iterations, --warmup and --top must not be negative")
			case o.format != "text" && o.format != "json" && o.format != "csv":
				return fmt.Errorf("--format %q: want text, json or csv", o.format)
			case (len(args) == 1) == (o.archName != ""):
				return fmt.Errorf("give a model file or --arch NAME, not both or neither")
			case o.rate < 0 || math.IsNaN(o.rate) || math.IsInf(o.rate, 0):
				return fmt.Errorf("--rate %v: want inferences per second above 0", o.rate)
			case o.rate > 0 && (o.sweep || o.iterations > 0):
				return fmt.Errorf("--rate runs for --duration at one thread count: no --sweep or --iterations")
			case o.rate > 0 && (o.duration <= 0 || o.interval <= 0):
				return fmt.Errorf("--rate needs a --duration and an --interval above 0")
			}
			if o.plot != "" {
				if _, err := chartFormat("--plot", o.plot); err != nil {
					return err
				}
				o.layers = true
			}
			if o.level != "" {
				// Before the model is packed: the weights take the
				// layout of the GEMM selected.
				if !kernels.SelectLevel(o.level) {
					return fmt.Errorf("--kernels %q: this machine runs %s", o.level, strings.Join(kernels.Levels(), ", "))
				}
				defer kernels.ResetAll()
			}
			return runBench(cmd, args, &o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.iterations, "iterations", 0, "timed runs (default: as many as fit in --duration)")
	f.DurationVar(&o.duration, "duration", 10*time.Second, "how long to run when --iterations is not given, or at --rate")
	f.IntVar(&o.warmup, "warmup", 3, "untimed runs after the first inference")
	f.IntVar(&o.threads, "threads", 0, "threads (default: all CPUs)")
	f.BoolVar(&o.sweep, "sweep", false, "measure every thread count from 1 to the number of CPUs")
	f.BoolVar(&o.layers, "layers", false, "list the time of each kind of operation and the slowest layers")
	f.IntVar(&o.top, "top", 10, "with --layers, how many of the slowest layers to list")
	f.BoolVar(&o.asJSON, "json", false, "print the report as JSON (as --format json)")
	f.StringVar(&o.format, "format", "text", "report format: text, json or csv")
	f.StringVar(&o.csvFile, "csv", "", "also write the CSV rows to `FILE`")
	f.StringVar(&o.archName, "arch", "", "benchmark this architecture with synthetic weights instead of a model file")
	f.IntVar(&o.imgSize, "img-size", 0, "with --arch, the input size (default: the architecture's)")
	f.BoolVar(&o.int8, "int8", true, "with --arch, quantize the synthetic model to int8")
	f.Float64Var(&o.rate, "rate", 0, "run at this many inferences per second, as a camera would, for --duration")
	f.DurationVar(&o.interval, "interval", 30*time.Second, "with --rate, one row of latency and temperature per interval")
	f.StringVar(&o.plot, "plot", "", "draw the time of each layer to `FILE` (.svg or .png); implies --layers")
	f.StringVar(&o.accuracy, "accuracy", "", "also score the pictures of `DIR` (a subfolder per class) for top-1 and top-5")
	f.StringVar(&o.level, "kernels", "", "run the int8 kernels of `LEVEL`, one of the levels info lists (e.g. avx2)")
	return cmd
}

func runBench(cmd *cobra.Command, args []string, o *benchOptions) error {
	ctx := cmd.Context()
	start := time.Now()
	rep := benchReport{Machine: readBoard(start), Before: readBoardState(start, start), GOARCH: runtime.GOARCH,
		CPUs: runtime.NumCPU(), CPU: cpuinfo.Summary(), Warmup: o.warmup}
	var m model.Any
	var err error
	if o.archName != "" {
		m, rep.Source, err = syntheticModel(ctx, o.archName, o.imgSize, o.int8, o.threads, progressOut(cmd))
	} else {
		m, err = model.Open(args[0])
		rep.Source = args[0]
	}
	if err != nil {
		return err
	}
	defer m.Close()
	rep.LoadMs = msOf(time.Since(start))
	md := m.Describe()
	rep.Model, rep.Kind, rep.Arch, rep.ImgSize = md.Name, md.Kind, md.Config.Arch, md.Config.ImgSize
	rep.MACs = md.Config.TotalCost().MACs
	if md.Kind == int8net.FileKind {
		rep.Kernels = kernels.Implementation()
		if q, ok := m.(*int8net.Model); ok {
			rep.OpKernels = programKernels(&q.Program)
		}
	}
	if o.rate > 0 {
		r, rr, err := benchAtRate(ctx, m, o, start, progressOut(cmd))
		if err != nil {
			return err
		}
		rep.Runs, rep.Rate = []benchRun{r}, rr
	} else {
		counts := []int{o.threads}
		if o.sweep {
			counts = nil
			for t := 1; t <= runtime.NumCPU(); t++ {
				counts = append(counts, t)
			}
		}
		for _, th := range counts {
			if err := ctx.Err(); err != nil {
				return err
			}
			r, err := benchOnce(m, th, o.warmup, o.iterations, o.duration)
			if err != nil {
				return err
			}
			rep.Runs = append(rep.Runs, r)
		}
		if o.sweep {
			rep.Sweep = sweepTable(rep.Runs)
		}
	}
	// After Ctrl-C the report so far, without starting anything more.
	if o.accuracy != "" && ctx.Err() == nil {
		if rep.Accuracy, err = benchAccuracy(ctx, m, o.accuracy, o.threads, progressOut(cmd)); err != nil {
			return err
		}
	}
	rep.After = readBoardState(start, time.Now())
	rep.PeakRSS = rss.Peak()
	if o.plot != "" && len(rep.Runs) > 0 {
		last := &rep.Runs[len(rep.Runs)-1]
		title := []string{
			fmt.Sprintf("time per layer: %s (%s, %s), %d threads", rep.Model, rep.Kind, rep.Source, last.Threads),
			fmt.Sprintf("ms per inference, mean of %d runs: layers %.3f + other %.3f = %.3f ms", last.Iterations,
				last.LayersMs, last.OtherMs, last.MeanMs),
		}
		if err := layerChart(title, last).writeFile("--plot", o.plot); err != nil {
			return err
		}
	}
	if o.csvFile != "" {
		if err := writeCSVFile(o.csvFile, &rep); err != nil {
			return err
		}
	}
	switch o.format {
	case "json":
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	case "csv":
		return writeCSV(cmd.OutOrStdout(), &rep)
	}
	printBench(cmd.OutOrStdout(), &rep, o)
	return nil
}

// benchInput is a fixed, repeatable input in the normalised range.
func benchInput(dst []float32) {
	for i := range dst {
		dst[i] = float32(1.5 * arch.SeededUniform(20261127, uint64(i)))
	}
}

// msOf is d in milliseconds, to the nanosecond.
func msOf(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// newBenchEngine builds an engine on the fixed input and runs its first
// inference, timing both.
func newBenchEngine(m model.Any, threads int, r *benchRun) (engine.Engine, error) {
	t := time.Now()
	e, err := m.NewEngine(threads)
	if err != nil {
		return nil, err
	}
	r.InitMs = msOf(time.Since(t))
	r.Threads = e.Threads()
	benchInput(e.Input())
	t = time.Now()
	e.Run()
	r.FirstMs = msOf(time.Since(t))
	return e, nil
}

func benchOnce(m model.Any, threads, warmup, iterations int, duration time.Duration) (benchRun, error) {
	var r benchRun
	e, err := newBenchEngine(m, threads, &r)
	if err != nil {
		return benchRun{}, err
	}
	defer e.Close()
	for range warmup {
		e.Run()
	}
	e.EnableTiming()
	var lat []time.Duration
	start := time.Now()
	for i := 0; iterations > 0 && i < iterations || iterations == 0 && (time.Since(start) < duration || len(lat) == 0); i++ {
		t := time.Now()
		e.Run()
		lat = append(lat, time.Since(t))
	}
	total := time.Since(start)
	r.latencies(lat)
	r.PerSecond = float64(len(lat)) / total.Seconds()
	r.GMACs = float64(m.Describe().Config.TotalCost().MACs) * r.PerSecond / 1e9
	r.layers(e.LayerTimes())
	return r, nil
}

// latencies fills the run's latency figures from its timed inferences.
func (r *benchRun) latencies(lat []time.Duration) {
	r.Iterations = len(lat)
	if len(lat) == 0 {
		return
	}
	sorted := slices.Clone(lat)
	slices.Sort(sorted)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	r.MinMs, r.MedianMs, r.P90Ms = msOf(sorted[0]), percentile(sorted, 0.5), percentile(sorted, 0.9)
	r.P99Ms, r.MaxMs = percentile(sorted, 0.99), msOf(sorted[len(sorted)-1])
	r.MeanMs = msOf(sum) / float64(len(lat))
}

// percentile is the nearest-rank percentile of sorted latencies, in ms.
func percentile(sorted []time.Duration, p float64) float64 {
	return msOf(sorted[max(0, int(math.Ceil(p*float64(len(sorted))))-1)])
}

// layers fills the run's layer table and per-kind totals from the engine's
// accumulated times over its Iterations.
func (r *benchRun) layers(lts []engine.LayerTime) {
	var layerSum time.Duration
	for _, l := range lts {
		layerSum += l.Time
	}
	n := float64(max(1, r.Iterations))
	for _, l := range lts {
		bl := benchLayer{Name: l.Name, Kind: l.Kind, Impl: l.Impl, MACs: l.MACs, Ms: msOf(l.Time) / n}
		if layerSum > 0 {
			bl.Share = float64(l.Time) / float64(layerSum)
		}
		if bl.Ms > 0 {
			bl.GMACs = float64(l.MACs) / bl.Ms / 1e6
		}
		r.Layers = append(r.Layers, bl)
		r.LayersMs += bl.Ms
	}
	r.OtherMs = max(0, r.MeanMs-r.LayersMs)
	r.OpTypes = opTotals(r.Layers)
}

// opTotals sums layers by kind, slowest kind first.
func opTotals(layers []benchLayer) []opTotal {
	out := []opTotal{}
	for _, l := range layers {
		i := slices.IndexFunc(out, func(t opTotal) bool { return t.Kind == l.Kind })
		if i < 0 {
			out = append(out, opTotal{Kind: l.Kind})
			i = len(out) - 1
		}
		t := &out[i]
		t.Count++
		t.MACs += l.MACs
		t.Ms += l.Ms
		t.Share += l.Share
	}
	for i := range out {
		if out[i].Ms > 0 {
			out[i].GMACs = float64(out[i].MACs) / out[i].Ms / 1e6
		}
	}
	slices.SortStableFunc(out, func(a, b opTotal) int { return cmp.Compare(b.Ms, a.Ms) })
	return out
}

// topLayers is the n slowest layers, slowest first.
func topLayers(layers []benchLayer, n int) []benchLayer {
	s := slices.Clone(layers)
	slices.SortStableFunc(s, func(a, b benchLayer) int { return cmp.Compare(b.Ms, a.Ms) })
	return s[:min(n, len(s))]
}

// sweepTable compares every run's median with the one-thread run's.
func sweepTable(runs []benchRun) []sweepRow {
	base := 0.0
	for _, r := range runs {
		if r.Threads == 1 {
			base = r.MedianMs
		}
	}
	out := make([]sweepRow, len(runs))
	for i, r := range runs {
		out[i] = sweepRow{Threads: r.Threads, MedianMs: r.MedianMs, PerSecond: r.PerSecond}
		if base > 0 && r.MedianMs > 0 {
			out[i].Speedup = base / r.MedianMs
			out[i].Efficiency = out[i].Speedup / float64(r.Threads)
		}
	}
	return out
}

// blockOf names the block an operation belongs to: stem, stages.S.blocks.B
// or head.
func blockOf(name string) string {
	switch {
	case strings.HasPrefix(name, "stem"):
		return "stem"
	case strings.HasPrefix(name, "stages."):
		parts := strings.SplitN(name, ".", 5)
		return strings.Join(parts[:min(4, len(parts))], ".")
	}
	return "head"
}

func printBench(w io.Writer, rep *benchReport, o *benchOptions) {
	mc := &rep.Machine
	fmt.Fprintf(w, "board      %s\n", termtext.Escape(mc.Board))
	part := ""
	if mc.CPUPart != unknown {
		part = " (part " + termtext.Escape(mc.CPUPart) + ")"
	}
	fmt.Fprintf(w, "cpu        %s%s, %d CPUs, %s\n", termtext.Escape(mc.CPU), part, rep.CPUs, rep.CPU)
	fmt.Fprintf(w, "clock      governor %s, %s now, %s max\n", mc.Governor, mhzText(rep.Before.CurMHz), mhzText(mc.MaxMHz))
	fmt.Fprintf(w, "kernel     %s\n", mc.Kernel)
	fmt.Fprintf(w, "coatnet    %s, %s\n", mc.Version, mc.Date)
	printState(w, "before", &rep.Before)
	fmt.Fprintf(w, "model      %s (%s, %s at %d, %.3g GMACs)\n", rep.Model, rep.Kind, rep.Arch, rep.ImgSize, float64(rep.MACs)/1e9)
	fmt.Fprintf(w, "source     %s\n", rep.Source)
	if rep.Kernels != nil {
		names := make([]string, 0, len(rep.Kernels))
		for k := range rep.Kernels {
			names = append(names, k+"="+rep.Kernels[k])
		}
		slices.Sort(names)
		fmt.Fprintf(w, "kernels    %s\n", strings.Join(names, " "))
		printOpKernels(w, rep.OpKernels)
	}
	fmt.Fprintf(w, "peak RSS   %.1f MB\n", float64(rep.PeakRSS)/1e6)
	fmt.Fprintf(w, "load       %.1f ms\n", rep.LoadMs)
	for _, r := range rep.Runs {
		fmt.Fprintf(w, "\nthreads %d: engine built in %.1f ms, first inference %.2f ms, then %d runs after %d warm-up\n",
			r.Threads, r.InitMs, r.FirstMs, r.Iterations, rep.Warmup)
		fmt.Fprintf(w, "  latency ms  min %.2f  median %.2f  p90 %.2f  p99 %.2f  max %.2f  mean %.2f\n", r.MinMs, r.MedianMs, r.P90Ms, r.P99Ms, r.MaxMs, r.MeanMs)
		fmt.Fprintf(w, "  throughput  %.1f inferences/s, %.2f GMAC/s\n", r.PerSecond, r.GMACs)
	}
	if rep.Rate != nil {
		printRate(w, rep.Rate)
	}
	if len(rep.Runs) > 0 {
		last := rep.Runs[len(rep.Runs)-1]
		if o.layers {
			printOpTotals(w, &last, o.top, rep.Kernels != nil)
		} else {
			printLayers(w, fmt.Sprintf("blocks (threads %d)", last.Threads), groupLayers(last.Layers), false)
		}
	}
	if a := rep.Accuracy; a != nil {
		printAccuracy(w, a)
	}
	fmt.Fprintln(w)
	printState(w, "after", &rep.After)
	if len(rep.Sweep) > 0 {
		fmt.Fprintln(w, "\nthreads against one thread (median latency)")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "threads\tmedian ms\tinferences/s\tspeed-up\tefficiency\t")
		for _, s := range rep.Sweep {
			fmt.Fprintf(tw, "%d\t%.2f\t%.1f\t%.2fx\t%.0f%%\t\n", s.Threads, s.MedianMs, s.PerSecond, s.Speedup, 100*s.Efficiency)
		}
		tw.Flush()
	}
}

// printState prints a board state line.
func printState(w io.Writer, when string, s *boardState) {
	zone := ""
	if s.Zone != unknown {
		zone = " (" + termtext.Escape(s.Zone) + ")"
	}
	fmt.Fprintf(w, "thermal    %s: %s%s, throttling %s (since boot: %s), clock %s\n",
		when, tempText(s.TempC), zone, s.Throttling, s.ThrottledSinceBoot, mhzText(s.CurMHz))
}

// printLayers prints a table of layers or blocks.
func printLayers(w io.Writer, title string, layers []benchLayer, impl bool) {
	fmt.Fprintf(w, "\n%s\n", title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "layer\tkind\tMACs\tms\tshare\tGMAC/s\t"
	if impl {
		head += "  kernels"
	}
	fmt.Fprintln(tw, head)
	for _, l := range layers {
		g := "-"
		if l.MACs > 0 && l.GMACs > 0 {
			g = fmt.Sprintf("%.2f", l.GMACs)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.3f\t%.1f%%\t%s\t", l.Name, l.Kind, millions(l.MACs), l.Ms, 100*l.Share, g)
		if impl {
			fmt.Fprintf(tw, "  %s", l.Impl)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// printOpTotals prints the op profile: time by kind of operation, what
// the engine spent between them, and the slowest layers.
func printOpTotals(w io.Writer, r *benchRun, top int, impl bool) {
	fmt.Fprintf(w, "\noperations by kind (threads %d, ms per inference)\n", r.Threads)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tcount\tMACs\tms\tshare\tGMAC/s\t")
	for _, t := range r.OpTypes {
		g := "-"
		if t.MACs > 0 && t.GMACs > 0 {
			g = fmt.Sprintf("%.2f", t.GMACs)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%.3f\t%.1f%%\t%s\t\n", t.Kind, t.Count, millions(t.MACs), t.Ms, 100*t.Share, g)
	}
	fmt.Fprintf(tw, "layers\t%d\t\t%.3f\t\t\t\n", len(r.Layers), r.LayersMs)
	fmt.Fprintf(tw, "other\t\t\t%.3f\t\t\t\n", r.OtherMs)
	fmt.Fprintf(tw, "inference (mean)\t\t\t%.3f\t\t\t\n", r.MeanMs)
	tw.Flush()
	if top > 0 {
		printLayers(w, fmt.Sprintf("the %d slowest layers (threads %d)", min(top, len(r.Layers)), r.Threads), topLayers(r.Layers, top), impl)
	}
}

// printAccuracy prints the folder dataset's scores.
func printAccuracy(w io.Writer, a *dataset.FolderReport) {
	fmt.Fprintf(w, "\naccuracy on %s: %d pictures", a.Dataset, a.Images)
	if a.Skipped > 0 {
		fmt.Fprintf(w, ", %d unreadable skipped", a.Skipped)
	}
	fmt.Fprintf(w, "\n  top-1 %.2f%% (%d)  top-5 %.2f%% (%d)\n", 100*a.Top1Acc, a.Top1, 100*a.Top5Acc, a.Top5)
	for _, b := range a.Bad {
		fmt.Fprintf(w, "  skipped: %s\n", termtext.Escape(b))
	}
	if len(a.Unknown) > 0 {
		q := make([]string, len(a.Unknown))
		for i, u := range a.Unknown {
			q[i] = strconv.Quote(u)
		}
		fmt.Fprintf(w, "  folders matching no label (not scored): %s\n", strings.Join(q, " "))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "class\tpictures\ttop-1\ttop-5\t")
	for _, c := range a.PerClass {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t\n", termtext.Escape(c.Label), c.Images, c.Top1, c.Top5)
	}
	tw.Flush()
}

// groupLayers sums operations into blocks.
func groupLayers(ops []benchLayer) []benchLayer {
	var out []benchLayer
	for _, l := range ops {
		b := blockOf(l.Name)
		if len(out) == 0 || out[len(out)-1].Name != b {
			out = append(out, benchLayer{Name: b, Kind: l.Kind})
		}
		g := &out[len(out)-1]
		if g.Kind != l.Kind {
			g.Kind = "block"
		}
		g.MACs += l.MACs
		g.Ms += l.Ms
		g.Share += l.Share
	}
	for i := range out {
		if out[i].Ms > 0 {
			out[i].GMACs = float64(out[i].MACs) / (out[i].Ms / 1e3) / 1e9
		}
	}
	return out
}

// opKernels is one kind of int8 operation (conv kernel sizes and pool
// types apart) and the kernels the engine runs for it on this machine.
type opKernels struct {
	Op      string `json:"op"`
	Count   int    `json:"count"`
	Kernels string `json:"kernels"` // kernel=implementation, in order
}

// programKernels lists the kinds of operation of p (with what changes
// their kernels: Int8Params.Variant) in order of first appearance with
// their kernels' implementations (int8net.Impl).
func programKernels(p *int8net.Program) []opKernels {
	var out []opKernels
	for i := range p.Ops {
		op := &p.Ops[i]
		name := op.Params.Variant()
		j := slices.IndexFunc(out, func(k opKernels) bool { return k.Op == name })
		if j < 0 {
			out = append(out, opKernels{Op: name, Kernels: int8net.Impl(op)})
			j = len(out) - 1
		}
		out[j].Count++
	}
	return out
}

// printOpKernels prints how each kind of operation runs.
func printOpKernels(w io.Writer, ks []opKernels) {
	if len(ks) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, k := range ks {
		fmt.Fprintf(tw, "  %s (%d)\t%s\n", k.Op, k.Count, k.Kernels)
	}
	tw.Flush()
}
