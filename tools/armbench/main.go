// Command armbench measures the work of one int8 inference on arm64
// exactly: it counts the instructions qemu-aarch64 executes, per function,
// with the plugin of shared/tools/qemu-insncount, and reports them per
// operation. `make bench-arm64` runs it; the Makefile's comment and the
// README give the method.
//
//	armbench model [-case NAME] -o FILE
//	    writes the int8 model of a timm conformance case (default
//	    coatnet_nano_rw_224_224_s1; internal/testing/benchmodel), e.g.
//	    -case coatnet_0_rw_224_224_s1 for the larger model the README
//	    gives modeled cycles of.
//	armbench count -plugin SO -model FILE -build NAME=BIN... -cpus CPU,...
//	    runs, for every CPU and build,
//	      GOMAXPROCS=1 qemu-aarch64 -cpu CPU -plugin SO,out=F BIN bench FILE --iterations K --warmup 0 --threads 1
//	    for K = 1 and K = 3 and prints (count(3) - count(1)) / 2, the
//	    instructions of one inference (loading, packing and start-up cancel
//	    out), in total and per operation, and each build's ratio to the
//	    last one named (the portable -tags purego build).
//	armbench split -bin BIN -model FILE -plugin TBCOUNT.SO -cyc TABLE -cpu CPU [-threads 2,4]
//	    prices every operation of one inference on one thread (qemu with
//	    shared/tools/cyclemodel's plugin, its per-block cycle table and a
//	    mark at each operation's entry) and models 2 and 4 threads with the
//	    engine's own task split; `make cycles-threads` runs it.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/benchmodel"
	"github.com/coatnet-edge/coatnet-edge/kernels"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "model":
		err = modelCmd(os.Args[2:])
	case "count":
		err = countCmd(os.Args[2:])
	case "split":
		err = splitCmd(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "armbench:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: armbench model [-case NAME] -o FILE | armbench count -plugin SO -model FILE -build NAME=BIN... -cpus CPU,...\n"+
		"       armbench split -bin BIN -model FILE -plugin TBCOUNT.SO -cyc TABLE -cpu CPU [-threads 2,4]")
	os.Exit(2)
}

func modelCmd(args []string) error {
	fs := flag.NewFlagSet("model", flag.ExitOnError)
	out := fs.String("o", "", "output model file")
	calib := fs.Int("calib", 4, "calibration inputs")
	caseName := fs.String("case", "", "conformance case folder (default coatnet_nano_rw_224_224_s1)")
	fs.Parse(args)
	if *out == "" {
		return errors.New("model: -o is required")
	}
	// A named case must exist: synthetic weights would be a different model.
	qm, source, err := benchmodel.Build(context.Background(), benchmodel.Options{Case: *caseName, Calib: *calib, RequireCase: *caseName != ""})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	if err := qm.Save(*out); err != nil {
		return err
	}
	fmt.Printf("wrote %s: %s\n", *out, source)
	return nil
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// counts are instructions per symbol, and "total".
type counts map[string]int64

func readCounts(path string) (counts, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c := counts{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		a, b, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if a == "total" {
			n, err := strconv.ParseInt(b, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			c["total"] = n
			continue
		}
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %w", path, sc.Text(), err)
		}
		c[b] += n
	}
	if _, ok := c["total"]; !ok {
		return nil, fmt.Errorf("%s: no total line", path)
	}
	return c, sc.Err()
}

// kernelOps are the operations the kernels' instructions are reported
// under, by kernel name (the Name constants of package kernels, which the
// engine and the bench command use too). A kernel's symbols, in package
// kernels and in its assembly's package (arm64), start with its name or
// with that name in lower camel case (kernels.Add, kernels.addNeon,
// kernels.addRef, arm64.Add); helpers adds the prefixes of the shared
// code around them, as a regexp alternation.
var kernelOps = []struct {
	op      string
	kernels []string
	helpers string
}{
	{"attention K/V pack", []string{kernels.NamePackStrided, kernels.NamePackTransposed}, `pack|\(\*Weights\)\.Pack`},
	{"GEMM (1x1, 3x3 conv, attention QK^T, PV)", []string{kernels.NameGemmRequant, kernels.NameGemmInt32},
		`gemm|Gemm|dot4|\(\*Weights\)|PackWeights|NewWeights|checkGemm|asmKernel`},
	{"Depthwise3x3", []string{kernels.NameDepthwise3x3}, `depthwise|dwRun`},
	{"LUT (activations)", []string{kernels.NameLUT}, ``},
	{"Add (residual)", []string{kernels.NameAdd}, ``},
	{"attention softmax", []string{kernels.NameSoftmaxRow, kernels.NameAttentionSoftmax},
		`softmax|Softmax|setSoftmaxParams|attention|expTable`},
	{"MeanChannels (SE squeeze, head pool)", []string{kernels.NameMeanChannels}, `mean`},
	{"AvgPool2x2", []string{kernels.NameAvgPool2x2}, `avgPool|AvgPool`},
	{"Affine (SE gate)", []string{kernels.NameAffine}, ``},
	{"LayerNorm", []string{kernels.NameLayerNorm}, ``},
	{"3x3 patch gather", []string{kernels.NameIm2col3x3}, `im2col|Im2col|Gather|gather`},
	{"input quantization", []string{kernels.NameQuantizeInput}, ``},
}

// kernelSyms matches the symbols of the kernels' packages; the group is
// the name inside the package, after a method's receiver.
const kernelSyms = `/(kernels|arm64)\.(\(\*\w+\)\.)?(%s)`

// opRules map symbols to the operation they serve, first match wins.
var opRules = func() []opRule {
	var rules []opRule
	for _, k := range kernelOps {
		var alt []string
		for _, n := range k.kernels {
			alt = append(alt, regexp.QuoteMeta(n), regexp.QuoteMeta(lowerCamel(n)))
		}
		if k.helpers != "" {
			alt = append(alt, k.helpers)
		}
		rules = append(rules, opRule{regexp.MustCompile(fmt.Sprintf(kernelSyms, strings.Join(alt, "|"))), k.op})
	}
	return append(rules, []opRule{
		{regexp.MustCompile(`/kernels\.(quantize|Quantize)`), "input quantization"},
		{regexp.MustCompile(`/(kernels|arm64)\.`), "kernels (other)"},
		{regexp.MustCompile(`/model/int8net\.\(\*convRun\)\.conv3x3`), "3x3 patch gather"},
		{regexp.MustCompile(`/model/int8net\.\(\*attentionRun\)\.`), "attention (engine: gathers, bias, sums)"},
		{regexp.MustCompile(`/model/int8net\.\(\*poolRun\)\.`), "pool (engine)"},
		{regexp.MustCompile(`/model/int8net\.\(\*scaleRun\)\.gate`), "SE gate (engine)"},
		{regexp.MustCompile(`/model/int8net\.\(\*logitsRun\)\.`), "logits (engine)"},
		{regexp.MustCompile(`/model/int8net\.\(\*[a-zA-Z]+Run\)\.(Do|run)`), "engine op loops (each op's Do)"},
		{regexp.MustCompile(`/model/int8net\.(\(\*Net\)\.(Run|quantizeInput)|inputJob\.)`), "input quantization"},
		{regexp.MustCompile(`/model(/[a-z0-9]+)?\.`), "engine (other)"},
		{regexp.MustCompile(`^runtime\.mem(move|clr)`), "memmove/memclr"},
		{regexp.MustCompile(`^(runtime|internal|sync|time)[./]`), "Go runtime"},
	}...)
}()

// lowerCamel is name as the start of an unexported identifier: LayerNorm
// becomes layerNorm, LUT lut.
func lowerCamel(name string) string {
	n := 0
	for n < len(name) && 'A' <= name[n] && name[n] <= 'Z' {
		n++
	}
	if n > 1 && n < len(name) {
		n-- // the last capital starts the next word: GEMMRow is gemmRow
	}
	return strings.ToLower(name[:n]) + name[n:]
}

type opRule struct {
	re *regexp.Regexp
	op string
}

func opOf(sym string) string {
	for _, r := range opRules {
		if r.re.MatchString(sym) {
			return r.op
		}
	}
	return "other"
}

type run struct {
	cpu, build, bin string
	iters           int
	out             string
	c               counts
	err             error
}

func countCmd(args []string) error {
	fs := flag.NewFlagSet("count", flag.ExitOnError)
	plugin := fs.String("plugin", "", "insncount.so")
	modelPath := fs.String("model", "", "int8 model file")
	qemu := fs.String("qemu", "qemu-aarch64", "qemu-user binary")
	cpus := fs.String("cpus", "cortex-a76,cortex-a72", "comma-separated qemu CPU models")
	dir := fs.String("dir", "", "where the count files go (default: a temporary folder)")
	top := fs.Int("top", 12, "symbols listed per build and CPU")
	jobs := fs.Int("j", runtime.NumCPU(), "qemu runs at once")
	asJSON := fs.String("json", "", "also write the results as JSON to this file")
	var builds listFlag
	fs.Var(&builds, "build", "NAME=BINARY, repeated; ratios are to the last one")
	fs.Parse(args)
	if *plugin == "" || *modelPath == "" || len(builds) == 0 {
		return errors.New("count: -plugin, -model and -build are required")
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "armbench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	var runs []*run
	var names []string
	for _, b := range builds {
		name, bin, ok := strings.Cut(b, "=")
		if !ok {
			return fmt.Errorf("-build %q: want NAME=BINARY", b)
		}
		names = append(names, name)
		for _, cpu := range strings.Split(*cpus, ",") {
			for _, k := range []int{1, 3} {
				runs = append(runs, &run{cpu: cpu, build: name, bin: bin, iters: k,
					out: filepath.Join(*dir, fmt.Sprintf("%s-%s-%d.txt", cpu, name, k))})
			}
		}
	}
	// The longest runs (purego, 3 iterations) first.
	order := slices.Clone(runs)
	slices.SortStableFunc(order, func(a, b *run) int { return b.iters - a.iters })
	sem := make(chan struct{}, max(1, *jobs))
	var wg sync.WaitGroup
	for _, r := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			cmd := exec.Command(*qemu, "-cpu", r.cpu, "-plugin", *plugin+",out="+r.out,
				r.bin, "bench", *modelPath, "--iterations", strconv.Itoa(r.iters), "--warmup", "0", "--threads", "1")
			cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
			out, err := cmd.CombinedOutput()
			if err != nil {
				r.err = fmt.Errorf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
				return
			}
			if r.iters == 1 && r.build == names[0] {
				if line := kernelsLine(out); line != "" {
					fmt.Fprintf(os.Stderr, "%s %s: %s\n", r.cpu, r.build, line)
				}
			}
			r.c, r.err = readCounts(r.out)
		}()
	}
	wg.Wait()
	for _, r := range runs {
		if r.err != nil {
			return r.err
		}
	}
	res := report(runs, names, strings.Split(*cpus, ","))
	printReport(os.Stdout, res, *top)
	if *asJSON != "" {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(*asJSON, append(b, '\n'), 0o644)
	}
	return nil
}

func kernelsLine(out []byte) string {
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "kernels") {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// Result is one CPU and build.
type Result struct {
	CPU     string           `json:"cpu"`
	Build   string           `json:"build"`
	Total   int64            `json:"instructions_per_inference"`
	Ratio   float64          `json:"ratio_to_last_build"`
	Ops     map[string]int64 `json:"per_op"`
	Symbols map[string]int64 `json:"per_symbol"`
}

func perInference(c1, c3 counts) map[string]int64 {
	d := map[string]int64{}
	for s, n := range c3 {
		d[s] = (n - c1[s]) / 2
	}
	for s, n := range c1 {
		if _, ok := c3[s]; !ok {
			d[s] = -n / 2
		}
	}
	return d
}

func report(runs []*run, names, cpus []string) []Result {
	get := func(cpu, build string, k int) counts {
		for _, r := range runs {
			if r.cpu == cpu && r.build == build && r.iters == k {
				return r.c
			}
		}
		return nil
	}
	var res []Result
	for _, cpu := range cpus {
		var ref int64
		for i := len(names) - 1; i >= 0; i-- {
			d := perInference(get(cpu, names[i], 1), get(cpu, names[i], 3))
			r := Result{CPU: cpu, Build: names[i], Total: d["total"], Ops: map[string]int64{}, Symbols: map[string]int64{}}
			delete(d, "total")
			for s, n := range d {
				if n == 0 {
					continue
				}
				r.Symbols[s] = n
				r.Ops[opOf(s)] += n
			}
			if i == len(names)-1 {
				ref = r.Total
			}
			r.Ratio = float64(r.Total) / float64(ref)
			res = append(res, r)
		}
	}
	// Builds in the order named.
	slices.SortStableFunc(res, func(a, b Result) int {
		if a.CPU != b.CPU {
			return slices.Index(cpus, a.CPU) - slices.Index(cpus, b.CPU)
		}
		return slices.Index(names, a.Build) - slices.Index(names, b.Build)
	})
	return res
}

func mega(n int64) string { return fmt.Sprintf("%.1f M", float64(n)/1e6) }

func sorted(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			if m[a] > m[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return keys
}

func printReport(w io.Writer, res []Result, top int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "cpu\tbuild\tinstructions per inference\tratio\t")
	for _, r := range res {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.3f\t\n", r.CPU, r.Build, mega(r.Total), r.Ratio)
	}
	tw.Flush()
	for _, r := range res {
		fmt.Fprintf(w, "\n%s, %s build: %s instructions per inference\n", r.CPU, r.Build, mega(r.Total))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "  operation\tinstructions\tshare\t")
		for _, op := range sorted(r.Ops) {
			if r.Ops[op] < 50000 && r.Ops[op] > -50000 {
				continue
			}
			fmt.Fprintf(tw, "  %s\t%s\t%.1f%%\t\n", op, mega(r.Ops[op]), 100*float64(r.Ops[op])/float64(r.Total))
		}
		tw.Flush()
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "  symbol\tinstructions\t")
		for i, s := range sorted(r.Symbols) {
			if i == top {
				break
			}
			fmt.Fprintf(tw, "  %s\t%s\t\n", strings.TrimPrefix(s, "github.com/coatnet-edge/coatnet-edge/"), mega(r.Symbols[s]))
		}
		tw.Flush()
	}
}
