package main

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/ckptbomb"
	"github.com/coatnet-edge/coatnet-edge/internal/testing/conformance"
	"github.com/coatnet-edge/coatnet-edge/model"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/checkpoint"
)

// tinyCase is one small conformance case and a checkpoint file of its
// weights: the shared case's real files, or a safetensors file written
// from a testdata case.
type tinyCase struct {
	c    *conformance.Case
	ckpt string
}

func tinyCases(t *testing.T) []tinyCase {
	t.Helper()
	shared := tinyCheckpoints(t)
	sc, err := conformance.Load(shared)
	if err != nil {
		t.Fatal(err)
	}
	out := []tinyCase{{sc, filepath.Join(shared, "model.safetensors")}, {sc, filepath.Join(shared, "model.pth")}}
	for _, name := range []string{"tiny_0_rw_32_s18", "tiny_rmlp_1_rw_gray_96_s19"} {
		c, err := conformance.Load(filepath.Join("..", "..", "testdata", "conformance", name))
		if err != nil {
			t.Fatal(err)
		}
		sd, err := c.StateDict()
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		ckpt := filepath.Join(dir, "model.safetensors")
		writeSafetensors(t, ckpt, sd)
		out = append(out, tinyCase{c, ckpt})
	}
	return out
}

// caseLogits runs the model file on the case's input and compares with
// timm's logits.
func caseLogits(t *testing.T, c *conformance.Case, path string) {
	t.Helper()
	m, err := model.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	net, err := m.NewFloatNet(1)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	input, err := c.Input.Generate()
	if err != nil {
		t.Fatal(err)
	}
	want, err := c.Logits()
	if err != nil {
		t.Fatal(err)
	}
	copy(net.Input(), input)
	got := net.Run()
	if len(got) != len(want) {
		t.Fatalf("%d logits, timm has %d", len(got), len(want))
	}
	scale := 0.0
	for _, w := range want {
		scale = max(scale, math.Abs(w))
	}
	for i := range want {
		if d := math.Abs(float64(got[i]) - want[i]); d > 1e-3*max(1, scale) {
			t.Fatalf("logit %d = %v, timm %v", i, got[i], want[i])
		}
	}
}

// TestConvertInfersTinyCases: convert without --arch gives each tiny
// case's configuration and timm's logits. The rmlp case holds no image
// size in its weights; its config.json says it, as a timm hub download's
// does.
func TestConvertInfersTinyCases(t *testing.T) {
	for _, tc := range tinyCases(t) {
		t.Run(tc.c.Name+"/"+filepath.Ext(tc.ckpt), func(t *testing.T) {
			want, err := tc.c.Config()
			if err != nil {
				t.Fatal(err)
			}
			ckpt := tc.ckpt
			if want.Transformer.RelPos == "mlp" {
				os.WriteFile(filepath.Join(filepath.Dir(ckpt), "config.json"),
					[]byte(`{"architecture": "coatnet_rmlp_1_rw_224", "pretrained_cfg": {"input_size": [1, 96, 96]}}`), 0o644)
			}
			out := filepath.Join(t.TempDir(), "m.coatnet")
			stdout, stderr, err := run(t, "convert", ckpt, "-o", out)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			if !strings.Contains(stdout, "architecture custom, as --arch "+tc.c.TimmModel) {
				t.Errorf("stdout does not name the custom config:\n%s", stdout)
			}
			m, err := model.Load(out)
			if err != nil {
				t.Fatal(err)
			}
			got := m.Metadata.Config
			m.Close()
			if got.Arch != tc.c.TimmModel+arch.CustomSuffix {
				t.Errorf("arch %q", got.Arch)
			}
			got.Arch, want.Arch = "", ""
			if got != want {
				t.Errorf("config\n%+v\nwant\n%+v", got, want)
			}
			caseLogits(t, tc.c, out)
		})
	}
}

// TestConvertArchMismatchIsShort: the wrong --arch on the tiny checkpoint
// gives a few lines, a count of the rest and the flags that fit, not
// hundreds of lines.
func TestConvertArchMismatchIsShort(t *testing.T) {
	ckpt := filepath.Join(tinyCheckpoints(t), "model.safetensors")
	out := filepath.Join(t.TempDir(), "m.coatnet")
	_, _, err := run(t, "convert", ckpt, "-o", out, "--arch", "coatnet_nano_rw_224")
	if err == nil {
		t.Fatal("the wrong --arch converted")
	}
	msg := err.Error()
	for _, want := range []string{
		"178 missing", "more",
		"the weights fit --arch coatnet_nano_rw --embed-dim 16,32,64,128 --depths 1,1,2,1 --stem-width 8,16 --img-size 64",
		"leave out --arch",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if n := strings.Count(msg, "\n") + 1; n > 16 {
		t.Errorf("%d lines:\n%s", n, msg)
	}
	// The weights that fit a registered model are named as it.
	nano, _ := arch.Arch("coatnet_nano_rw_224")
	nano.ImgSize = 64
	sd := map[string]arch.Tensor{}
	for _, p := range nano.Params() {
		sd[p.Name] = arch.Tensor{Shape: p.Shape, Data: make([]float32, arch.Numel(p.Shape))}
	}
	big := filepath.Join(t.TempDir(), "nano.safetensors")
	writeSafetensors(t, big, sd)
	_, _, err = run(t, "convert", big, "-o", out, "--arch", "coatnet_pico_rw_224")
	if err == nil || !strings.Contains(err.Error(), "the weights fit --arch coatnet_nano_rw_224 --img-size 64,") {
		t.Errorf("got %v", err)
	}
	stdout, _, err := run(t, "convert", big, "-o", out)
	if err != nil || !strings.Contains(stdout, "architecture coatnet_nano_rw_224 (inferred") || !strings.Contains(stdout, "coatnet_nano_rw_224 at 64x64") {
		t.Errorf("convert without --arch: %v\n%s", err, stdout)
	}
	os.WriteFile(filepath.Join(filepath.Dir(big), "config.json"), []byte(`{"architecture": "coatnet_pico_rw_224"}`), 0o644)
	if _, _, err := run(t, "convert", big, "-o", out); err == nil || !strings.Contains(err.Error(), "architecture coatnet_pico_rw_224, but the model is coatnet_nano_rw_224") {
		t.Errorf("config.json naming another model: %v", err)
	}
}

func modelSource(t *testing.T, path string) (arch.Metadata, map[string]any) {
	t.Helper()
	m, err := model.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	raw, _ := json.Marshal(m.Metadata.Source)
	var src map[string]any
	json.Unmarshal(raw, &src)
	return m.Metadata, src
}

// TestConvertPretrainedTag: timm's model.tag names are accepted and the
// tag is kept in the file.
func TestConvertPretrainedTag(t *testing.T) {
	ckpt := filepath.Join(tinyCheckpoints(t), "model.safetensors")
	out := filepath.Join(t.TempDir(), "m.coatnet")
	args := append([]string{"convert", ckpt, "-o", out}, tinyArch...)
	args[5] = "coatnet_nano_rw.fmnist_tiny"
	if _, stderr, err := run(t, args...); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	md, src := modelSource(t, out)
	if src["pretrained"] != "fmnist_tiny" || md.Config.Arch != "coatnet_nano_rw"+arch.CustomSuffix {
		t.Errorf("source %v, arch %q", src, md.Config.Arch)
	}
	stdout, _, err := run(t, "info", out)
	if err != nil || !strings.Contains(stdout, "pretrained coatnet_nano_rw (custom).fmnist_tiny") {
		t.Errorf("info: %v\n%s", err, stdout)
	}
	if _, _, err := run(t, "convert", ckpt, "-o", out, "--arch", "resnet50.a1_in1k"); err == nil || !strings.Contains(err.Error(), `unknown architecture "resnet50"`) {
		t.Errorf("resnet50.a1_in1k: %v", err)
	}
}

const tinyHFConfig = `{
  "architecture": "coatnet_nano_rw_224",
  "num_classes": 10,
  "num_features": 128,
  "global_pool": "max",
  "label_names": ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"],
  "pretrained_cfg": {
    "tag": "fmnist",
    "custom_load": false,
    "input_size": [3, 64, 64],
    "fixed_input_size": true,
    "interpolation": "bilinear",
    "crop_pct": 0.875,
    "crop_mode": "squash",
    "mean": [0.1, 0.2, 0.3],
    "std": [0.4, 0.5, 0.6],
    "num_classes": 10,
    "first_conv": "stem.conv1",
    "classifier": "head.fc"
  }
}`

// TestConvertHFConfig: a timm hub config.json beside the checkpoint (or
// named by --hf-config) gives labels and preprocessing; flags win over it;
// a malformed or conflicting one is a clear error.
func TestConvertHFConfig(t *testing.T) {
	src := filepath.Join(tinyCheckpoints(t), "model.safetensors")
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "model.safetensors")
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(ckpt, raw, 0o644)
	cfgPath := filepath.Join(dir, "config.json")
	os.WriteFile(cfgPath, []byte(tinyHFConfig), 0o644)
	out := filepath.Join(dir, "m.coatnet")
	if _, stderr, err := run(t, "convert", ckpt, "-o", out); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	md, source := modelSource(t, out)
	p := md.Preprocess
	if md.Labels[0] != "t-shirt" || md.Labels[9] != "boot" || p.Interpolation != "bilinear" || p.CropPct != 0.875 ||
		p.CropMode != "squash" || p.Mean[2] != 0.3 || p.Std[0] != 0.4 || source["pretrained"] != "fmnist" || md.Config.GlobalPool != "max" {
		t.Errorf("metadata from config.json not applied: labels %v, preprocess %+v, source %v", md.Labels, p, source)
	}

	// Flags win; --hf-config names a file elsewhere.
	other := filepath.Join(t.TempDir(), "hub.json")
	os.WriteFile(other, []byte(strings.Replace(tinyHFConfig, `"t-shirt"`, `"top"`, 1)), 0o644)
	os.Remove(cfgPath)
	if _, stderr, err := run(t, "convert", ckpt, "-o", out, "--hf-config", other, "--interpolation", "bicubic", "--mean", "0.5,0.5,0.5"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	md, _ = modelSource(t, out)
	if md.Labels[0] != "top" || md.Preprocess.Interpolation != "bicubic" || md.Preprocess.Mean[0] != 0.5 || md.Preprocess.CropPct != 0.875 || md.Config.GlobalPool != "max" {
		t.Errorf("labels %v, preprocess %+v", md.Labels, md.Preprocess)
	}

	for _, tc := range []struct{ name, edit, want string }{
		{"not json", `{"architecture": `, "not a timm config.json"},
		{"label type", `"label_names": 7,`, "label_names: want a list"},
		{"label count", `"label_names": ["a", "b", "c"],`, "3 label_names for num_classes 10"},
		{"label index", `"label_names": {"0": "a", "x": "b"},`, `key "x" is not a class index`},
		{"classes", `"num_classes": 5,`, "num_classes 5, but pretrained_cfg.num_classes 10"},
		{"size", `"input_size": [3, 96, 96],`, "input_size 96, but the weights' relative-position tables are for 64"},
		{"channels", `"input_size": [1, 64, 64],`, "input_size has 1 channels, the model reads 3"},
		{"interpolation", `"interpolation": "lanczos",`, `interpolation "lanczos": only bicubic and bilinear`},
		{"mean", `"mean": [0.5, 0.5],`, "2 mean values but 3 std values"},
		{"crop", `"crop_pct": 7,`, "crop_pct 7"},
		{"arch", `"architecture": "resnet50",`, `architecture "resnet50" is not a timm CoAtNet`},
		{"pool", `"global_pool": "token",`, `global_pool "token"`},
	} {
		text := tinyHFConfig
		if tc.name == "not json" {
			text = tc.edit
		} else {
			key, _, _ := strings.Cut(tc.edit, ":")
			lines := strings.Split(text, "\n")
			done := false
			for i, l := range lines {
				if !done && strings.HasPrefix(strings.TrimSpace(l), key+":") {
					lines[i], done = "    "+tc.edit, true
					if tc.name == "classes" {
						done = true
					}
				}
			}
			text = strings.Join(lines, "\n")
		}
		os.WriteFile(cfgPath, []byte(text), 0o644)
		_, _, err := run(t, "convert", ckpt, "-o", filepath.Join(dir, "bad.coatnet"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.coatnet")); !os.IsNotExist(err) {
		t.Error("a failed convert left a file behind")
	}
	if _, _, err := run(t, "convert", ckpt, "-o", out, "--hf-config", filepath.Join(dir, "nope.json")); err == nil || !strings.Contains(err.Error(), "nope.json") {
		t.Errorf("missing --hf-config: %v", err)
	}
}

// TestConvertInferHostile: checkpoints that are not a CoAtNet, or are
// broken, give an error naming the tensor, and a zip bomb is refused
// before it inflates even without --arch to bound it.
func TestConvertInferHostile(t *testing.T) {
	sd, err := checkpoint.Read(filepath.Join(tinyCheckpoints(t), "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "m.coatnet")
	for _, tc := range []struct {
		name string
		edit func(map[string]arch.Tensor)
		want string
	}{
		{"not coatnet", func(m map[string]arch.Tensor) {
			clear(m)
			m["fc.weight"] = arch.Tensor{Shape: []int{2, 2}, Data: make([]float32, 4)}
		}, "stem.conv1.weight is missing"},
		{"missing block tensor", func(m map[string]arch.Tensor) { delete(m, "stages.2.blocks.1.mlp.fc1.weight") }, "stages.2.blocks.1.mlp.fc1.weight is missing"},
		{"odd shape", func(m map[string]arch.Tensor) {
			m["stages.3.blocks.0.attn.rel_pos.relative_position_bias_table"] = arch.Tensor{Shape: []int{3, 4}, Data: make([]float32, 12)}
		}, "relative_position_bias_table: 3 rows"},
		{"scalar stem", func(m map[string]arch.Tensor) {
			m["stem.conv1.weight"] = arch.Tensor{Shape: []int{}, Data: make([]float32, 1)}
		}, "stem.conv1.weight has shape"},
	} {
		m := map[string]arch.Tensor{}
		for k, v := range sd {
			if v.Data != nil {
				m[k] = arch.Tensor{Shape: v.Shape, Data: v.Data}
			}
		}
		tc.edit(m)
		path := filepath.Join(dir, tc.name+".safetensors")
		writeSafetensors(t, path, m)
		_, _, err := run(t, "convert", path, "-o", out)
		if err == nil || !errors.Is(err, arch.ErrInfer) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}

	bomb := filepath.Join(dir, "bomb.pth")
	f, err := os.Create(bomb)
	if err != nil {
		t.Fatal(err)
	}
	if err := ckptbomb.PyTorchZip(f, 32<<20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err = run(t, "convert", bomb, "-o", out)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, checkpoint.ErrTooLarge) || !strings.Contains(err.Error(), "without --arch") {
		t.Errorf("error %v, want checkpoint.ErrTooLarge explaining the bound", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 32<<20 {
		t.Errorf("allocated %d MiB before refusing", n>>20)
	}
}
