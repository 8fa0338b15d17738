package graph_test

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/conformance"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/float"
	"github.com/coatnet-edge/coatnet-edge/model/graph"
)

// TestGraphMatchesFloatNet runs the shared and repository conformance cases through the graph in
// float32: the unfused NHWC form must give the float engine's logits.
func TestGraphMatchesFloatNet(t *testing.T) {
	repo, err := conformance.LoadAll(filepath.Join("..", "..", "testdata", "conformance"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range append(conformance.Shared(t), repo...) {
		cfg, err := c.Config()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.TotalCost().MACs > conformance.ShortMACs && testing.Short() {
			continue
		}
		net, input, err := c.Float(0)
		if err != nil {
			t.Fatal(err)
		}
		copy(net.Input(), input)
		want := append([]float32(nil), net.Run()...)
		net.Close()
		sd, _ := c.StateDict()
		g, err := graph.New(cfg, sd)
		if err != nil {
			t.Fatal(err)
		}
		r := g.NewRunner(0)
		got := r.Run(input)
		r.Close()
		var worst, scale float64
		for i := range want {
			worst = max(worst, math.Abs(float64(got[i]-want[i])))
			scale = max(scale, math.Abs(float64(want[i])))
		}
		t.Logf("%s: max |graph - float engine| %.2g", c.Name, worst)
		if worst > 1e-4*max(1, scale) {
			t.Errorf("%s: graph departs from the float engine by %.3g", c.Name, worst)
		}
	}
}

// TestGraphPostSoftmax checks the graph's post-softmax attention against
// the float engine's.
func TestGraphPostSoftmax(t *testing.T) {
	cfg, err := arch.Arch("coatnet_nano_rw")
	if err != nil {
		t.Fatal(err)
	}
	cfg.ImgSize, cfg.NumClasses, cfg.Attention = 64, 10, arch.PostSoftmax
	cfg.EmbedDim, cfg.Depths, cfg.StemWidth = [4]int{16, 32, 64, 64}, [4]int{1, 1, 2, 2}, [2]int{8, 16}
	w := arch.SyntheticWeights(&cfg, 2)
	net, err := float.New(cfg, w, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	for i := range net.Input() {
		net.Input()[i] = float32(arch.SeededUniform(4, uint64(i)))
	}
	input := append([]float32(nil), net.Input()...)
	want := net.Run()
	g, err := graph.New(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	r := g.NewRunner(1)
	defer r.Close()
	got := r.Run(input)
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-4*max(1, math.Abs(float64(want[i]))) {
			t.Fatalf("logit %d: graph %v, float engine %v", i, got[i], want[i])
		}
	}
}

// TestGraphMaxPool checks global_pool max (OpMaxPixels) against the float
// engine's head, in the rw head (norm -> max -> fc) and the paper head
// (max -> norm -> fc -> tanh -> fc), and that the graph really pools by
// the maximum there.
func TestGraphMaxPool(t *testing.T) {
	for _, name := range []string{"coatnet_nano_rw", "coatnet_0"} {
		cfg, err := arch.Arch(name)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.HeadHiddenSize > 0 {
			cfg.HeadHiddenSize = 32
		}
		cfg.ImgSize, cfg.NumClasses, cfg.GlobalPool = 64, 10, "max"
		cfg.EmbedDim, cfg.Depths, cfg.StemWidth = [4]int{16, 32, 64, 64}, [4]int{1, 1, 2, 1}, [2]int{8, 16}
		w := arch.SyntheticWeights(&cfg, 2)
		net, err := float.New(cfg, w, 1)
		if err != nil {
			t.Fatal(err)
		}
		for i := range net.Input() {
			net.Input()[i] = float32(arch.SeededUniform(4, uint64(i)))
		}
		input := append([]float32(nil), net.Input()...)
		want := append([]float32(nil), net.Run()...)
		net.Close()
		g, err := graph.New(cfg, w)
		if err != nil {
			t.Fatal(err)
		}
		pools := 0
		for _, op := range g.Ops {
			if op.Name == "head.global_pool" && op.Kind == graph.OpMaxPixels {
				pools++
			}
		}
		if pools != 1 {
			t.Fatalf("%s: %d head.global_pool ops of kind %s, want 1", name, pools, graph.OpMaxPixels)
		}
		r := g.NewRunner(2)
		got := r.Run(input)
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-4*max(1, math.Abs(float64(want[i]))) {
				t.Errorf("%s logit %d: graph %v, float engine %v", name, i, got[i], want[i])
			}
		}
		r.Close()

		// The same weights pooled by the mean give other logits.
		cfg.GlobalPool = ""
		avg, err := float.New(cfg, w, 1)
		if err != nil {
			t.Fatal(err)
		}
		copy(avg.Input(), input)
		if slices.Equal(avg.Run(), want) {
			t.Errorf("%s: global_pool max computes the logits of avg", name)
		}
		avg.Close()
	}
}
