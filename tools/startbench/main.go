// Command startbench measures how long coatnet takes to start: it runs each
// build's `coatnet --version` and a shell-completion request (`coatnet
// __complete run ”`, what one TAB costs) N times, one after another, and
// prints the median wall-clock time and the median CPU time (user + system,
// from wait4) of each as a Markdown table. `make bench-start` runs it on the
// pure-Go build and the GoCV build; the README quotes a run.
//
//	startbench [-n N] -build NAME=BIN...
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// commands are what is timed: a command that does nothing but start, and
// the request a shell's completion sends on every TAB.
var commands = [][]string{{"--version"}, {"__complete", "run", ""}}

type builds []string

func (b *builds) String() string     { return strings.Join(*b, " ") }
func (b *builds) Set(v string) error { *b = append(*b, v); return nil }

func main() {
	n := flag.Int("n", 20, "runs of each command")
	var bs builds
	flag.Var(&bs, "build", "NAME=BIN: a coatnet binary to time (repeatable)")
	flag.Parse()
	if len(bs) == 0 || *n < 1 {
		fmt.Fprintln(os.Stderr, "usage: startbench [-n N] -build NAME=BIN...")
		os.Exit(2)
	}
	fmt.Printf("%d runs each, %s/%s, %d CPUs, load average %s\n\n", *n, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), loadavg())
	fmt.Println("| build | command | wall (median) | CPU user+sys (median) |")
	fmt.Println("|---|---|---:|---:|")
	for _, b := range bs {
		name, bin, ok := strings.Cut(b, "=")
		if !ok {
			fmt.Fprintf(os.Stderr, "startbench: -build %q: want NAME=BIN\n", b)
			os.Exit(2)
		}
		for _, args := range commands {
			wall, cpu, err := measure(bin, args, *n)
			if err != nil {
				fmt.Fprintf(os.Stderr, "startbench: %s %q: %v\n", bin, args, err)
				os.Exit(1)
			}
			fmt.Printf("| %s | `coatnet %s` | %.3f s | %.3f s |\n", name, shellWords(args), wall.Seconds(), cpu.Seconds())
		}
	}
}

// measure runs bin with args n times after one untimed run (which fills
// the page cache) and returns the median wall and CPU times.
func measure(bin string, args []string, n int) (wall, cpu time.Duration, err error) {
	var walls, cpus []time.Duration
	for i := -1; i < n; i++ {
		cmd := exec.Command(bin, args...)
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			return 0, 0, fmt.Errorf("%v\n%s", err, out)
		}
		if i < 0 {
			continue
		}
		walls = append(walls, time.Since(start))
		cpus = append(cpus, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
	}
	return median(walls), median(cpus), nil
}

func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	if len(d)%2 == 1 {
		return d[len(d)/2]
	}
	return (d[len(d)/2-1] + d[len(d)/2]) / 2
}

func shellWords(args []string) string {
	w := make([]string, len(args))
	for i, a := range args {
		w[i] = a
		if a == "" {
			w[i] = "''"
		}
	}
	return strings.Join(w, " ")
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
