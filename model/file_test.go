package model

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/tinyarch"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/modelfile"
	"github.com/coatnet-edge/coatnet-edge/preprocess"
)

func tinyModel(t testing.TB) *Model {
	cfg := tinyarch.Config(t)
	return &Model{
		Metadata: arch.Metadata{
			Kind: KindFloat32, Name: "tiny", Config: cfg,
			Labels:     arch.DefaultLabels(cfg.NumClasses),
			Preprocess: preprocess.TimmDefault(cfg.ImgSize, 0.9),
		},
		Weights: arch.SyntheticWeights(&cfg, 7),
	}
}

func runOnce(t testing.TB, m *Model) []float32 {
	net, err := m.NewFloatNet(1)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	for i := range net.Input() {
		net.Input()[i] = float32(arch.SeededUniform(3, uint64(i)))
	}
	return slices.Clone(net.Run())
}

// TestSaveLoadRoundTrip writes a model, loads it memory-mapped and checks
// the description and the logits survive exactly.
func TestSaveLoadRoundTrip(t *testing.T) {
	m := tinyModel(t)
	path := filepath.Join(t.TempDir(), "tiny.coatnet")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if !got.File().Mapped() {
		t.Error("model file was not memory-mapped")
	}
	if got.Config != m.Config || !slices.Equal(got.Labels, m.Labels) || got.Name != "tiny" {
		t.Errorf("description changed: %+v", got.Metadata)
	}
	if !slices.Equal(runOnce(t, got), runOnce(t, m)) {
		t.Error("loaded model gives different logits")
	}
}

// TestLoadRejectsInconsistentFiles writes files whose description
// contradicts itself or whose weights do not fit, and expects clear errors.
func TestLoadRejectsInconsistentFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, md any, drop string) string {
		m := tinyModel(t)
		var tensors []modelfile.Tensor
		for _, p := range m.Config.Params() {
			if p.Name != drop {
				tensors = append(tensors, modelfile.Float32Tensor(p.Name, p.Shape, m.Weights[p.Name].Data))
			}
		}
		path := filepath.Join(dir, name)
		if err := modelfile.WriteFile(path, md, tensors); err != nil {
			t.Fatal(err)
		}
		return path
	}
	base := tinyModel(t).Metadata
	labels := base
	labels.Labels = labels.Labels[:3]
	grey := base
	grey.Preprocess.Colour = preprocess.Grey
	kind := base
	kind.Kind = "coatnet-int4"
	for _, tc := range []struct {
		name string
		md   any
		drop string
		want string
	}{
		{"labels", labels, "", "3 labels for 10 classes"},
		{"colour", grey, "", "preprocess colour \"grey\" gives 1 channels, the model reads 3"},
		{"kind", kind, "", "model kind \"coatnet-int4\" is not supported"},
		{"missing", base, "head.fc.bias", "missing    head.fc.bias, want shape (10,)"},
		{"unknown-field", map[string]any{"kind": KindFloat32, "surprise": 1}, "", "unknown field \"surprise\""},
	} {
		_, err := Load(write(tc.name, tc.md, tc.drop))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
		if err != nil && !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s: error does not name the file: %v", tc.name, err)
		}
	}
}

// TestLoadForeignFile points Load at a checkpoint and at text.
func TestLoadForeignFile(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "x.safetensors")
	os.WriteFile(st, append([]byte{16, 0, 0, 0, 0, 0, 0, 0}, []byte(`{"__metadata__":{}}`)...), 0o644)
	txt := filepath.Join(dir, "labels.txt")
	os.WriteFile(txt, []byte("cat\ndog\n"), 0o644)
	for _, p := range []string{st, txt} {
		_, err := Load(p)
		if !errors.Is(err, modelfile.ErrNotModelFile) {
			t.Errorf("%s: got %v, want ErrNotModelFile", p, err)
		}
	}
	if _, err := Load(st); err == nil || !strings.Contains(err.Error(), "coatnet convert") {
		t.Errorf("safetensors file: error should point to coatnet convert: %v", err)
	}
}

// FuzzParse feeds arbitrary bytes to the model loader: it must return an
// error or a model that runs, never panic.
func FuzzParse(f *testing.F) {
	m := tinyModel(f)
	path := filepath.Join(f.TempDir(), "seed.coatnet")
	if err := m.Save(path); err != nil {
		f.Fatal(err)
	}
	valid, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add([]byte("COATNET\x00"))
	f.Add(bytes.Repeat([]byte{0}, 64))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		net, err := m.NewFloatNet(1)
		if err != nil {
			return
		}
		net.Run()
		net.Close()
	})
}

// FuzzMetadata wraps arbitrary description JSON around valid tiny weights
// in a well-formed container, so the fuzzer reaches the description and
// config checks that checksums shield from FuzzParse.
func FuzzMetadata(f *testing.F) {
	m := tinyModel(f)
	var tensors []modelfile.Tensor
	for _, p := range m.Config.Params() {
		tensors = append(tensors, modelfile.Float32Tensor(p.Name, p.Shape, m.Weights[p.Name].Data))
	}
	var seed bytes.Buffer
	if err := modelfile.Write(&seed, &m.Metadata, nil); err != nil {
		f.Fatal(err)
	}
	meta, err := modelfile.Parse(seed.Bytes())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(slices.Clone(meta.Metadata()))
	f.Add([]byte(`{"kind":"coatnet-float32","config":{"img_size":64}}`))
	f.Fuzz(func(t *testing.T, md []byte) {
		var buf bytes.Buffer
		if err := modelfile.Write(&buf, jsonRaw(md), tensors); err != nil {
			return // not valid JSON
		}
		got, err := Parse(buf.Bytes())
		if err != nil {
			return
		}
		net, err := got.NewFloatNet(1)
		if err != nil {
			t.Fatalf("a model that loads must build: %v", err)
		}
		net.Run()
		net.Close()
	})
}

// jsonRaw passes bytes through encoding/json unchanged.
type jsonRaw []byte

func (j jsonRaw) MarshalJSON() ([]byte, error) { return j, nil }
