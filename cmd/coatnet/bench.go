package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/coatnet-edge/coatnet-edge/internal/cpuinfo"
	"github.com/coatnet-edge/coatnet-edge/internal/rss"
	"github.com/coatnet-edge/coatnet-edge/kernels"
	"github.com/coatnet-edge/coatnet-edge/model"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/int8net"
)

// benchRun is the measurement at one thread count.
type benchRun struct {
	Threads    int          `json:"threads"`
	Iterations int          `json:"iterations"`
	MinMs      float64      `json:"min_ms"`
	MedianMs   float64      `json:"median_ms"`
	P90Ms      float64      `json:"p90_ms"`
	P99Ms      float64      `json:"p99_ms"`
	MeanMs     float64      `json:"mean_ms"`
	PerSecond  float64      `json:"inferences_per_s"`
	GMACs      float64      `json:"gmac_per_s"`
	Layers     []benchLayer `json:"layers,omitempty"`
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

type benchReport struct {
	Model   string            `json:"model"`
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
	Warmup    int         `json:"warmup"`
	PeakRSS   int64       `json:"peak_rss_bytes"`
	Runs      []benchRun  `json:"runs"`
}

func newBenchCmd() *cobra.Command {
	var iterations, warmup, threads int
	var duration time.Duration
	var sweep, layers, asJSON bool
	cmd := &cobra.Command{
		Use:   "bench MODEL",
		Short: "Measure inference latency, throughput and memory on this machine",
		Long: `bench runs a model file (float or int8) on a fixed synthetic input: warm-up
runs, then a number of iterations (or as many as fit in --duration), and
reports latency (min, median, p90, p99, mean), throughput, the model's
MACs per second, the peak resident memory, the time of every layer with its
MACs and GMAC/s, and which kernel implementation each int8 op uses. With
--sweep it repeats the measurement for 1..NumCPU threads. This is how boards
are compared; --json prints everything for machines.`,
		Example: `  coatnet bench models/fmnist-pre-int8.coatnet
  coatnet bench nano-int8.coatnet --duration 20s --sweep --json
  coatnet bench nano-int8.coatnet --iterations 1 --warmup 0 --threads 1   # for instruction counting`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if iterations < 0 || warmup < 0 {
				return fmt.Errorf("--iterations and --warmup must not be negative")
			}
			m, err := model.Open(args[0])
			if err != nil {
				return err
			}
			defer m.Close()
			md := m.Describe()
			rep := benchReport{Model: md.Name, Kind: md.Kind, Arch: md.Config.Arch, ImgSize: md.Config.ImgSize,
				MACs: md.Config.TotalCost().MACs, GOARCH: runtime.GOARCH, CPUs: runtime.NumCPU(),
				CPU: cpuinfo.Summary(), Warmup: warmup}
			if md.Kind == int8net.FileKind {
				rep.Kernels = kernels.Implementation()
				if q, ok := m.(*int8net.Model); ok {
					rep.OpKernels = programKernels(&q.Program)
				}
			}
			counts := []int{threads}
			if sweep {
				counts = nil
				for t := 1; t <= runtime.NumCPU(); t++ {
					counts = append(counts, t)
				}
			}
			for _, th := range counts {
				if err := cmd.Context().Err(); err != nil {
					return err
				}
				r, err := benchOnce(m, th, warmup, iterations, duration)
				if err != nil {
					return err
				}
				rep.Runs = append(rep.Runs, r)
			}
			rep.PeakRSS = rss.Peak()
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			printBench(cmd.OutOrStdout(), &rep, layers)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&iterations, "iterations", 0, "timed runs (default: as many as fit in --duration)")
	f.DurationVar(&duration, "duration", 10*time.Second, "how long to run when --iterations is not given")
	f.IntVar(&warmup, "warmup", 3, "untimed runs first")
	f.IntVar(&threads, "threads", 0, "threads (default: all CPUs)")
	f.BoolVar(&sweep, "sweep", false, "measure every thread count from 1 to the number of CPUs")
	f.BoolVar(&layers, "layers", false, "list every operation instead of every block")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// benchInput is a fixed, repeatable input in the normalised range.
func benchInput(dst []float32) {
	for i := range dst {
		dst[i] = float32(1.5 * arch.SeededUniform(20261127, uint64(i)))
	}
}

func benchOnce(m model.Any, threads, warmup, iterations int, duration time.Duration) (benchRun, error) {
	e, err := m.NewEngine(threads)
	if err != nil {
		return benchRun{}, err
	}
	defer e.Close()
	benchInput(e.Input())
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
	r := benchRun{Threads: e.Threads(), Iterations: len(lat)}
	sorted := slices.Clone(lat)
	slices.Sort(sorted)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	pct := func(p float64) float64 { return ms(sorted[int(math.Ceil(p*float64(len(sorted))))-1]) }
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	r.MinMs, r.MedianMs, r.P90Ms, r.P99Ms = ms(sorted[0]), pct(0.5), pct(0.9), pct(0.99)
	r.MeanMs = ms(sum) / float64(len(lat))
	r.PerSecond = float64(len(lat)) / total.Seconds()
	macs := m.Describe().Config.TotalCost().MACs
	r.GMACs = float64(macs) * r.PerSecond / 1e9
	var layerSum time.Duration
	lts := e.LayerTimes()
	for _, l := range lts {
		layerSum += l.Time
	}
	for _, l := range lts {
		per := l.Time / time.Duration(len(lat))
		bl := benchLayer{Name: l.Name, Kind: l.Kind, Impl: l.Impl, MACs: l.MACs, Ms: float64(per.Nanoseconds()) / 1e6}
		if layerSum > 0 {
			bl.Share = float64(l.Time) / float64(layerSum)
		}
		if per > 0 {
			bl.GMACs = float64(l.MACs) / per.Seconds() / 1e9
		}
		r.Layers = append(r.Layers, bl)
	}
	return r, nil
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

func printBench(w io.Writer, rep *benchReport, allOps bool) {
	fmt.Fprintf(w, "model      %s (%s, %s at %d, %.3g GMACs)\n", rep.Model, rep.Kind, rep.Arch, rep.ImgSize, float64(rep.MACs)/1e9)
	fmt.Fprintf(w, "machine    %d CPUs, %s\n", rep.CPUs, rep.CPU)
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
	for _, r := range rep.Runs {
		fmt.Fprintf(w, "\nthreads %d: %d runs after %d warm-up\n", r.Threads, r.Iterations, rep.Warmup)
		fmt.Fprintf(w, "  latency ms  min %.2f  median %.2f  p90 %.2f  p99 %.2f  mean %.2f\n", r.MinMs, r.MedianMs, r.P90Ms, r.P99Ms, r.MeanMs)
		fmt.Fprintf(w, "  throughput  %.1f inferences/s, %.2f GMAC/s\n", r.PerSecond, r.GMACs)
	}
	if len(rep.Runs) == 0 {
		return
	}
	last := rep.Runs[len(rep.Runs)-1]
	layers := last.Layers
	if !allOps {
		layers = groupLayers(layers)
	}
	fmt.Fprintf(w, "\nlayers (threads %d)\n", last.Threads)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	impl := allOps && rep.Kernels != nil
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
