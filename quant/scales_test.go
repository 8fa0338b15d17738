package quant

import (
	"reflect"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/graph"
)

// TestChooseScalesThreads checks that the quantization chosen for every
// tensor does not depend on how many goroutines choose it.
func TestChooseScalesThreads(t *testing.T) {
	m := tinyModel(t, "coatnet_nano_rw", arch.PreSoftmax)
	g, err := graph.New(m.Config, m.Weights)
	if err != nil {
		t.Fatal(err)
	}
	runner := g.NewRunner(2)
	defer runner.Close()
	stats := NewStats(g)
	cal := synthCal{n: 4, size: 64, ch: 3, seed: 3}
	input := make([]float32, m.Config.InChans*m.Config.ImgSize*m.Config.ImgSize)
	for i := range cal.Len() {
		if err := cal.Input(i, input); err != nil {
			t.Fatal(err)
		}
		runner.Run(input)
		stats.Observe(runner)
	}
	want, _ := chooseScales(g, stats, 1)
	if len(want) != len(g.Tensors) {
		t.Fatalf("%d tensors chosen, graph has %d", len(want), len(g.Tensors))
	}
	for _, threads := range []int{0, 2, 3, 7, len(g.Tensors) + 5} {
		if got, _ := chooseScales(g, stats, threads); !reflect.DeepEqual(got, want) {
			t.Errorf("threads=%d: chosen quantization differs from one thread's", threads)
		}
	}
}
