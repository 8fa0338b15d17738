package main

import (
	"bufio"
	"cmp"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/coatnet-edge/coatnet-edge/model/int8net"
	"golang.org/x/arch/arm64/arm64asm"
)

// The functions whose entries cut an inference: every operation enters
// runOp, an inference starts at Net.Run (the input quantization) and
// goes on at Net.RunQuantized.
const (
	markOp  = "github.com/coatnet-edge/coatnet-edge/model/int8net.runOp"
	markQ   = "github.com/coatnet-edge/coatnet-edge/model/int8net.(*Net).RunQuantized"
	markRun = "github.com/coatnet-edge/coatnet-edge/model/int8net.(*Net).Run"
)

// splitCmd prices every operation of one inference on one thread and
// models what more threads make of it with the engine's own task split.
func splitCmd(args []string) error {
	fs := flag.NewFlagSet("split", flag.ExitOnError)
	bin := fs.String("bin", "", "the linux/arm64 coatnet binary")
	modelPath := fs.String("model", "", "int8 model file")
	plugin := fs.String("plugin", "", "shared/tools/cyclemodel's tbcount.so")
	cyc := fs.String("cyc", "", "the per-block cycle table of `cyclemodel.py cyctab` for -cpu")
	cpuName := fs.String("cpu", "cortex-a76", "qemu -cpu")
	threadList := fs.String("threads", "2,4", "thread counts to model")
	out := fs.String("o", "", "the qemu trace to write (default: a temporary file)")
	top := fs.Int("top", 10, "parts listed that lose most on the most threads")
	fs.Parse(args)
	if *bin == "" || *modelPath == "" || *plugin == "" || *cyc == "" {
		return errors.New("split: -bin, -model, -plugin and -cyc are required")
	}
	var threads []int
	for _, f := range strings.Split(*threadList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 {
			return fmt.Errorf("split: -threads %q: want counts of 2 or more", *threadList)
		}
		threads = append(threads, n)
	}
	marks, err := markAddrs(*bin, markOp, markQ, markRun)
	if err != nil {
		return err
	}
	tb := *out
	if tb == "" {
		dir, err := os.MkdirTemp("", "armbench-split")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		tb = filepath.Join(dir, "ops.tb")
	}
	trace := func(th int) ([]mark, error) {
		opts := fmt.Sprintf("%s,out=%s,cyc=%s", *plugin, tb, *cyc)
		for _, a := range marks {
			opts += fmt.Sprintf(",mark=%x", a)
		}
		cmd := exec.Command("qemu-aarch64", "-cpu", *cpuName, "-plugin", opts, *bin, "bench", *modelPath,
			"--iterations", "3", "--warmup", "0", "--threads", strconv.Itoa(th))
		cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("qemu-aarch64 -cpu %s: %v\n%s", *cpuName, err, b)
		}
		return readMarks(tb)
	}
	m, err := int8net.Load(*modelPath)
	if err != nil {
		return err
	}
	defer m.Close()
	names := []string{"input quantization"}
	for _, op := range m.Program.Ops {
		names = append(names, op.Name)
	}
	// parts prices the parts of one inference of the engine made for th
	// threads, and their sum.
	parts := func(th int) ([]float64, float64, error) {
		snaps, err := trace(th)
		if err != nil {
			return nil, 0, err
		}
		c, err := opCycles(snaps, marks, len(names))
		var sum float64
		for _, v := range c {
			sum += v
		}
		return c, sum, err
	}
	one1, one, err := parts(1)
	if err != nil {
		return err
	}
	fmt.Printf("%s, %s: one inference, one thread: %.1f M cycles in %d parts (input quantization and %d operations)\n",
		*cpuName, filepath.Base(*modelPath), one/1e6, len(one1), len(one1)-1)
	fmt.Println("model of more threads: each operation's cycles with the engine made for them (its tasks run one after another")
	fmt.Println("on one qemu thread) cut into the tasks the engine gives the pool (Net.TaskSizes), each thread running its own share of them")
	fmt.Println("and then what others left, all threads meeting at each operation's end; no wake-up, shared-cache or memory costs")
	for i, th := range threads {
		cycles, work, err := parts(th)
		if err != nil {
			return err
		}
		n := m.NewNet(th)
		sizes := n.TaskSizes()
		n.Close()
		if len(sizes) != len(cycles) {
			return fmt.Errorf("the engine has %d parts, the trace %d", len(sizes), len(cycles))
		}
		var total float64
		loss := make([]float64, len(cycles))
		var few []string
		for j, c := range cycles {
			f := makespan(sizes[j], th)
			total += c * f
			loss[j] = c*f - one1[j]/float64(th)
			if len(sizes[j]) < th && c > one/1000 {
				few = append(few, fmt.Sprintf("%s (%d)", names[j], len(sizes[j])))
			}
		}
		fmt.Printf("  %d threads: %.1f M cycles, %.2fx (the work of its split: %.1f M cycles, %+.1f%%)\n", th, total/1e6, one/total, work/1e6, 100*(work/one-1))
		if i < len(threads)-1 {
			continue
		}
		if len(few) > 0 {
			fmt.Printf("  fewer tasks than %d threads, among parts over 0.1%% of the cycles: %s\n", th, strings.Join(few, ", "))
		}
		order := make([]int, len(cycles))
		for j := range order {
			order[j] = j
		}
		slices.SortFunc(order, func(a, b int) int { return cmp.Compare(loss[b], loss[a]) })
		w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(w, "  part\t1 thread\tits %d-thread split, all tasks\ttasks\tlost against 1/%d of 1 thread\t\n", th, th)
		for _, j := range order[:min(*top, len(order))] {
			fmt.Fprintf(w, "  %s\t%.2f M\t%.2f M\t%d\t%.2f M\t\n", names[j], one1[j]/1e6, cycles[j]/1e6, len(sizes[j]), loss[j]/1e6)
		}
		w.Flush()
	}
	return nil
}

// makespan is the time the pool takes for tasks (hand-outs, in order) on
// threads equal cores, as a share of one thread's. As the pool does, each
// of the first min(threads, len(tasks)) cores owns a contiguous share of
// the hand-outs and runs it in order; a core whose share is done takes
// the next hand-out of the following shares.
func makespan(tasks []float64, threads int) float64 {
	var sum float64
	for _, t := range tasks {
		sum += t
	}
	if threads <= 1 || len(tasks) <= 1 || sum == 0 {
		return 1
	}
	cores := min(threads, len(tasks))
	next, end := make([]int, cores), make([]int, cores)
	for i := range cores {
		next[i], end[i] = i*len(tasks)/cores, (i+1)*len(tasks)/cores
	}
	free := make([]float64, cores) // when each core is free
	for range tasks {
		c := slices.Index(free, slices.Min(free))
		for k := range cores {
			if s := (c + k) % cores; next[s] < end[s] {
				free[c] += tasks[next[s]]
				next[s]++
				break
			}
		}
	}
	return slices.Max(free) / sum
}

// markAddrs gives, for each function, the address of its first
// instruction after the stack check's branch to morestack: the function's
// entry block runs again when the stack grows, the next one once a call.
func markAddrs(bin string, funcs ...string) ([]uint64, error) {
	f, err := elf.Open(bin)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", bin, err)
	}
	text := f.Section(".text")
	if text == nil {
		return nil, fmt.Errorf("%s: no .text", bin)
	}
	var out []uint64
	for _, name := range funcs {
		i := slices.IndexFunc(syms, func(s elf.Symbol) bool { return s.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("%s: no symbol %s", bin, name)
		}
		s := syms[i]
		code := make([]byte, s.Size)
		if _, err := text.ReadAt(code, int64(s.Value-text.Addr)); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", bin, name, err)
		}
		a, err := afterStackCheck(code)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", bin, name, err)
		}
		out = append(out, s.Value+a)
	}
	return out, nil
}

// afterStackCheck is the offset of the instruction after the first
// conditional branch of a function's prologue (B.LS, B.LO or B.HI).
func afterStackCheck(code []byte) (uint64, error) {
	for off := 0; off+4 <= len(code) && off < 64; off += 4 {
		in, err := arm64asm.Decode(code[off:])
		if err != nil || in.Op != arm64asm.B {
			continue
		}
		if c, ok := in.Args[0].(arm64asm.Cond); ok && (c.Value == 9 || c.Value == 3 || c.Value == 8) { // LS, LO, HI
			return uint64(off + 4), nil
		}
	}
	return 0, errors.New("no stack check in its first 16 instructions")
}

// mark is one snapshot of the plugin: where, and the cycles (x1000) so
// far on the one vCPU.
type mark struct {
	addr uint64
	cyc  float64
}

// readMarks reads the plugin's "mark ADDR VCPU SEQ INSNS:CYC" lines.
func readMarks(path string) ([]mark, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []mark
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 5 || fs[0] != "mark" {
			continue
		}
		a, err := strconv.ParseUint(fs[1], 16, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %w", path, sc.Text(), err)
		}
		_, c, ok := strings.Cut(fs[4], ":")
		cyc, err := strconv.ParseFloat(c, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("%s: %q: no cycles", path, sc.Text())
		}
		out = append(out, mark{a, cyc / 1000})
	}
	return out, sc.Err()
}

// opCycles cuts the second to last inference of the trace (steady state,
// closed by the next one's marks) into parts that add up to it: the input
// quantization (from Run to the first operation), then each operation
// (its runOp mark to the next mark).
func opCycles(ms []mark, addrs []uint64, parts int) ([]float64, error) {
	op, q, run := addrs[0], addrs[1], addrs[2]
	var qs []int
	for i, m := range ms {
		if m.addr == q {
			qs = append(qs, i)
		}
	}
	if len(qs) < 3 {
		return nil, fmt.Errorf("the trace holds %d inferences, want 3", len(qs))
	}
	s, e := qs[len(qs)-2], qs[len(qs)-1]
	r := s - 1
	if r < 0 || ms[r].addr != run {
		return nil, errors.New("the inference does not start at Net.Run")
	}
	out := []float64{0}
	for i := s; i < e; i++ {
		if ms[i].addr == op {
			if len(out) == 1 {
				out[0] = ms[i].cyc - ms[r].cyc
			}
			out = append(out, ms[i+1].cyc-ms[i].cyc)
		}
	}
	if len(out) != parts {
		return nil, fmt.Errorf("the inference has %d parts, the model %d", len(out), parts)
	}
	return out, nil
}
