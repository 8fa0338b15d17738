package model_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/model"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/graph"
	"github.com/coatnet-edge/coatnet-edge/model/int8net"
	"github.com/coatnet-edge/coatnet-edge/preprocess"
	"github.com/coatnet-edge/coatnet-edge/quant"
)

// updateOldFiles rewrites the old-file fixtures and their golden outputs.
// Run it only with the code of a release: the point of the fixtures is
// that later code reads what that code wrote.
var updateOldFiles = flag.Bool("update-oldfiles", false, "rewrite testdata/old-*.coatnet and testdata/oldfiles.golden.json with this code")

const oldFilesGolden = "testdata/oldfiles.golden.json"

// oldFixtures are the int8 files written by an earlier release into
// testdata: tiny quantized CoAtNets that between them hold every kind of
// operation (affine ops in 0_rw, max-pool shortcuts in rmlp_1_rw, both
// attention forms).
var oldFixtures = []struct {
	file, arch string
	form       arch.AttentionForm
}{
	{"old-0rw-pre-int8.coatnet", "coatnet_0_rw", arch.PreSoftmax},
	{"old-rmlp-post-int8.coatnet", "coatnet_rmlp_1_rw", arch.PostSoftmax},
}

// oldShipped are model files shipped before the current ones, kept here
// when models/ moved on: the demo models of 2026-11-27 (replaced by the
// camera-trained ones of 2026-12-04), as models/ held them.
var oldShipped = []string{
	"testdata/old-fmnist-pre-int8.coatnet", "testdata/old-fmnist-post-int8.coatnet",
	"testdata/old-fmnist-pre.coatnet", "testdata/old-fmnist-post.coatnet",
}

// shipped are the model files models/ holds now.
var shipped = []string{
	"../models/fmnist-pre-int8.coatnet", "../models/fmnist-post-int8.coatnet",
	"../models/fmnist-pre.coatnet", "../models/fmnist-post.coatnet",
}

// oldGolden is what a file computed on the fixed inputs when it was written.
type oldGolden struct {
	GOARCH string `json:"goarch"` // where the float files' logits were recorded
	Files  []struct {
		File   string `json:"file"`
		Kind   string `json:"kind"`
		Inputs []struct {
			Logits  []uint32 `json:"logits"`            // float32 bits
			Tensors []string `json:"tensors,omitempty"` // int8: FNV-64a of every tensor
		} `json:"inputs"`
	} `json:"files"`
}

// oldInputs is how many fixed inputs each file runs.
const oldInputs = 2

func oldInput(i int, dst []float32) {
	for j := range dst {
		dst[j] = float32(4*arch.SeededUniform(uint64(1000+i), uint64(j)) - 2)
	}
}

// TestOldFilesLoad loads every model file written so far (the shipped
// ones, old and current, and the fixtures of testdata) and checks that each
// computes bit for bit what it did when it was written: the file format's
// names and the arithmetic both stay put. Float logits are compared on the architecture
// that recorded them (Go fuses multiply-adds on some others).
func TestOldFilesLoad(t *testing.T) {
	if *updateOldFiles {
		writeOldFixtures(t)
	}
	var files []string
	for _, f := range oldFixtures {
		files = append(files, filepath.Join("testdata", f.file))
	}
	files = append(files, oldShipped...)
	files = append(files, shipped...)
	var got oldGolden
	got.GOARCH = runtime.GOARCH
	for _, path := range files {
		m, err := model.Open(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		got.Files = append(got.Files, runOld(t, path, m))
		m.Close()
	}
	if *updateOldFiles {
		b, err := json.MarshalIndent(&got, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(oldFilesGolden, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(oldFilesGolden)
	if err != nil {
		t.Fatal(err)
	}
	var want oldGolden
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if len(want.Files) != len(got.Files) {
		t.Fatalf("%d files recorded, %d loaded", len(want.Files), len(got.Files))
	}
	for i, w := range want.Files {
		g := got.Files[i]
		if g.File != w.File || g.Kind != w.Kind || len(g.Inputs) != len(w.Inputs) {
			t.Fatalf("file %d: %s %s with %d inputs, recorded %s %s with %d", i, g.File, g.Kind, len(g.Inputs), w.File, w.Kind, len(w.Inputs))
		}
		if w.Kind == model.KindFloat32 && want.GOARCH != runtime.GOARCH {
			t.Logf("%s: float logits recorded on %s, not compared on %s", w.File, want.GOARCH, runtime.GOARCH)
			continue
		}
		for k := range w.Inputs {
			if !slices.Equal(g.Inputs[k].Logits, w.Inputs[k].Logits) {
				t.Errorf("%s input %d: logits %v, recorded %v", w.File, k, bitsFloats(g.Inputs[k].Logits), bitsFloats(w.Inputs[k].Logits))
			}
			if j := slices.Index(slices.Collect(func(yield func(bool) bool) {
				for n := range max(len(g.Inputs[k].Tensors), len(w.Inputs[k].Tensors)) {
					if !yield(n >= len(g.Inputs[k].Tensors) || n >= len(w.Inputs[k].Tensors) || g.Inputs[k].Tensors[n] != w.Inputs[k].Tensors[n]) {
						return
					}
				}
			}), true); j >= 0 {
				t.Errorf("%s input %d: tensor %d differs from the recorded one", w.File, k, j)
			}
		}
	}
}

func bitsFloats(b []uint32) []float32 {
	f := make([]float32, len(b))
	for i, v := range b {
		f[i] = math.Float32frombits(v)
	}
	return f
}

// runOld runs m on the fixed inputs on one thread.
func runOld(t *testing.T, path string, m model.Any) (r struct {
	File   string `json:"file"`
	Kind   string `json:"kind"`
	Inputs []struct {
		Logits  []uint32 `json:"logits"`
		Tensors []string `json:"tensors,omitempty"`
	} `json:"inputs"`
}) {
	r.File, r.Kind = filepath.ToSlash(path), m.Describe().Kind
	var run func() []float32
	var input []float32
	var net *int8net.Net
	if q, ok := m.(*int8net.Model); ok {
		net = q.NewNetKeepingTensors(1)
		defer net.Close()
		run, input = net.Run, net.Input()
	} else {
		e, err := m.NewEngine(1)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		defer e.Close()
		run, input = e.Run, e.Input()
	}
	for i := range oldInputs {
		oldInput(i, input)
		logits := run()
		var in struct {
			Logits  []uint32 `json:"logits"`
			Tensors []string `json:"tensors,omitempty"`
		}
		for _, v := range logits {
			in.Logits = append(in.Logits, math.Float32bits(v))
		}
		if net != nil {
			for ti := range net.Program().Tensors {
				h := fnv.New64a()
				for _, v := range net.Value(graph.TensorID(ti)) {
					h.Write([]byte{byte(v)})
				}
				in.Tensors = append(in.Tensors, fmt.Sprintf("%016x", h.Sum64()))
			}
		}
		r.Inputs = append(r.Inputs, in)
	}
	return r
}

// synthCal is a smooth random calibration set.
type synthCal struct{ n, size int }

func (s synthCal) Len() int     { return s.n }
func (s synthCal) Name() string { return "synthetic" }
func (s synthCal) Input(i int, dst []float32) error {
	for j := range dst {
		p := j % (s.size * s.size)
		y, x := p/s.size, p%s.size
		dst[j] = float32(1.2*arch.SeededUniform(uint64(1+i), uint64(j/8)) + 0.3*float64((x+y)%7)/7)
	}
	return nil
}

// writeOldFixtures quantizes tiny synthetic CoAtNets with this code and
// saves them into testdata.
func writeOldFixtures(t *testing.T) {
	for _, f := range oldFixtures {
		cfg, err := arch.Arch(f.arch)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.HeadHiddenSize > 0 {
			cfg.HeadHiddenSize = 16
		}
		cfg.ImgSize, cfg.NumClasses, cfg.Attention = 64, 10, f.form
		cfg.EmbedDim, cfg.Depths, cfg.StemWidth = [4]int{16, 32, 32, 32}, [4]int{1, 2, 2, 1}, [2]int{8, 16}
		fm := &model.Model{Metadata: arch.Metadata{Kind: model.KindFloat32, Name: "old-" + f.arch, Config: cfg,
			Labels: arch.DefaultLabels(10), Preprocess: preprocess.TimmDefault(64, 0.9)},
			Weights: arch.SyntheticWeights(&cfg, 3)}
		qm, _, err := quant.Quantize(context.Background(), fm, synthCal{n: 4, size: 64}, quant.Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := qm.Save(filepath.Join("testdata", f.file)); err != nil {
			t.Fatal(err)
		}
	}
}
