// Package implcheck is the whole-model test of the int8 kernels: it runs
// an int8 model on every kernel implementation this CPU has and on several
// thread counts and compares every tensor with the portable references on
// one thread. Tests of quant, the benchmark model and the shipped models
// use it.
package implcheck

import (
	"fmt"
	"slices"

	"github.com/coatnet-edge/coatnet-edge/kernels"
	"github.com/coatnet-edge/coatnet-edge/model/graph"
	"github.com/coatnet-edge/coatnet-edge/model/int8net"
)

// result is one inference: every tensor and the logits.
type result struct {
	vals   [][]int8
	logits []float32
}

// run runs qm on the input written by input, with the kernels of level.
func run(qm *int8net.Model, level string, threads int, input func([]float32)) (result, error) {
	if !kernels.SelectLevel(level) {
		return result{}, fmt.Errorf("kernel level %s not available on this CPU", level)
	}
	defer kernels.ResetAll()
	net := qm.NewNetKeepingTensors(threads)
	defer net.Close()
	input(net.Input())
	r := result{logits: slices.Clone(net.Run())}
	for i := range qm.Program.Tensors {
		r.vals = append(r.vals, slices.Clone(net.Value(graph.TensorID(i))))
	}
	return r, nil
}

// diff names the first tensor of got that differs from want: its name,
// the first differing position and the kind of op that wrote it.
func diff(qm *int8net.Model, want, got result) error {
	for i := range want.vals {
		if j := firstDiff(want.vals[i], got.vals[i]); j >= 0 {
			kind := graph.OpKind("input")
			for _, op := range qm.Program.Ops {
				if int(op.Out) == i {
					kind = op.Kind
				}
			}
			return fmt.Errorf("tensor %d %q (%s) differs at %d", i, qm.Program.Tensors[i].Name, kind, j)
		}
	}
	if !slices.Equal(want.logits, got.logits) {
		return fmt.Errorf("logits differ")
	}
	return nil
}

func firstDiff(a, b []int8) int {
	for j := range a {
		if j >= len(b) || a[j] != b[j] {
			return j
		}
	}
	if len(b) != len(a) {
		return len(a)
	}
	return -1
}

// Agree runs qm on every kernel level of this CPU with each thread count
// and returns the levels checked, or an error naming the first level,
// thread count and tensor that differ from the portable path on one
// thread.
func Agree(qm *int8net.Model, input func([]float32), threads []int) ([]string, error) {
	ref, err := run(qm, "go", 1, input)
	if err != nil {
		return nil, err
	}
	levels := kernels.Levels()
	for _, level := range levels {
		for _, th := range threads {
			if level == "go" && th == 1 {
				continue
			}
			got, err := run(qm, level, th, input)
			if err != nil {
				return nil, err
			}
			if err := diff(qm, ref, got); err != nil {
				return nil, fmt.Errorf("level %s, %d threads: %w", level, th, err)
			}
		}
	}
	return levels, nil
}
