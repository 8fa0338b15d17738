package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/conformance"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
)

// run executes the CLI in-process and returns stdout, stderr and the error.
func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRootCmd(&out, &errb)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

// tinyCheckpoints locates the tiny conformance case's real checkpoint files.
func tinyCheckpoints(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(conformance.Dir(), "tiny_nano_rw_64_s3")
	if _, err := os.Stat(filepath.Join(dir, "model.pth")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("conformance data missing: %v", err)
		}
		t.Skipf("conformance data missing: %v", err)
	}
	return dir
}

var tinyArch = []string{"--arch", "coatnet_nano_rw", "--img-size", "64",
	"--embed-dim", "16,32,64,128", "--depths", "1,1,2,1", "--stem-width", "8,16"}

func writePNG(t *testing.T, path string, w, h int, seed uint8) {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.NRGBA{uint8(x*7) + seed, uint8(y * 5), uint8(x*y) ^ seed, 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// TestConvertInfoClassify converts the tiny checkpoint from both formats,
// describes the result and classifies images with it: both model files
// must give the same answers.
func TestConvertInfoClassify(t *testing.T) {
	ckpt := tinyCheckpoints(t)
	dir := t.TempDir()
	labels := filepath.Join(dir, "labels.txt")
	os.WriteFile(labels, []byte("# ten made-up classes\nzero\none\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\n"), 0o644)
	img1, img2 := filepath.Join(dir, "a.png"), filepath.Join(dir, "b.png")
	writePNG(t, img1, 80, 60, 0)
	writePNG(t, img2, 50, 90, 99)

	var results []string
	for _, src := range []string{"model.safetensors", "model.pth"} {
		out := filepath.Join(dir, src+".coatnet")
		args := append([]string{"convert", filepath.Join(ckpt, src), "-o", out, "--labels", labels}, tinyArch...)
		stdout, stderr, err := run(t, args...)
		if err != nil {
			t.Fatalf("convert %s: %v\n%s", src, err, stderr)
		}
		if !strings.Contains(stdout, "10 classes") {
			t.Errorf("convert output: %s", stdout)
		}

		stdout, _, err = run(t, "info", out)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"checksums verified", "memory-mapped", "labels     10: zero, one", "stages.2", "total", "CPU"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("info lacks %q:\n%s", want, stdout)
			}
		}

		stdout, _, err = run(t, "classify", out, img1, img2, "--top", "3", "--json", "--threads", "1")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		if len(lines) != 2 {
			t.Fatalf("want one JSON line per image, got:\n%s", stdout)
		}
		var r classification
		if err := json.Unmarshal([]byte(lines[0]), &r); err != nil {
			t.Fatal(err)
		}
		if len(r.Top) != 3 || r.Top[0].Score < r.Top[1].Score || r.Top[0].Label == "" {
			t.Errorf("bad top-3: %+v", r)
		}
		// Scores without timings, to compare the two model files.
		var sig strings.Builder
		for _, l := range lines {
			var r classification
			json.Unmarshal([]byte(l), &r)
			for _, s := range r.Top {
				fmt.Fprintf(&sig, "%s %.6f;", s.Label, s.Score)
			}
		}
		results = append(results, sig.String())
	}
	if results[0] != results[1] {
		t.Errorf("safetensors and pth models disagree:\n%s\n%s", results[0], results[1])
	}
}

// TestConvertErrors checks that bad input gives a clear error, not a panic
// or a silently wrong file.
func TestConvertErrors(t *testing.T) {
	ckpt := tinyCheckpoints(t)
	dir := t.TempDir()
	pth := filepath.Join(ckpt, "model.pth")
	out := filepath.Join(dir, "m.coatnet")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"inferred, wrong size", []string{"convert", pth, "-o", out, "--img-size", "96"}, "the weights fit --arch coatnet_nano_rw --embed-dim 16,32,64,128 --depths 1,1,2,1 --stem-width 8,16 --img-size 64"},
		{"unknown arch", []string{"convert", pth, "-o", out, "--arch", "resnet50"}, "unknown architecture \"resnet50\""},
		{"wrong arch", []string{"convert", pth, "-o", out, "--arch", "coatnet_pico_rw_224"}, "missing    stages.0.blocks.1.pre_norm.weight, want shape (64,)"},
		{"bad size", append([]string{"convert", pth, "-o", out}, append(tinyArch, "--img-size", "70")...), "img_size 70: must be a positive multiple of 32"},
		{"no output", []string{"convert", pth, "--arch", "coatnet_nano_rw"}, "required flag(s) \"output\" not set"},
		{"missing file", []string{"convert", filepath.Join(dir, "nope.pth"), "-o", out, "--arch", "coatnet_nano_rw"}, "no such file"},
		{"bad mean", append([]string{"convert", pth, "-o", out, "--mean", "0.5"}, tinyArch...), "mean has 1 values, colour \"rgb\" needs 3"},
		{"labels vs head", append([]string{"convert", pth, "-o", out, "--num-classes", "7"}, tinyArch...), "wrong shape head.fc.weight: got (10, 128), want (7, 128)"},
	} {
		_, _, err := run(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed convert left %s behind", out)
	}
}

// TestClassifyReportsBadImages keeps going past an unreadable image and
// exits with an error.
func TestClassifyReportsBadImages(t *testing.T) {
	ckpt := tinyCheckpoints(t)
	dir := t.TempDir()
	model := filepath.Join(dir, "m.coatnet")
	if _, _, err := run(t, append([]string{"convert", filepath.Join(ckpt, "model.safetensors"), "-o", model}, tinyArch...)...); err != nil {
		t.Fatal(err)
	}
	good, bad := filepath.Join(dir, "good.png"), filepath.Join(dir, "bad.png")
	writePNG(t, good, 64, 64, 1)
	os.WriteFile(bad, []byte("not a picture"), 0o644)
	stdout, stderr, err := run(t, "classify", model, bad, good)
	if err == nil || !strings.Contains(err.Error(), "1 of 2 images failed") {
		t.Errorf("want failure count, got %v", err)
	}
	if !strings.Contains(stderr, "bad.png") || !strings.Contains(stdout, "good.png") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	if _, _, err := run(t, "classify", filepath.Join(ckpt, "model.pth"), good); err == nil || !strings.Contains(err.Error(), "coatnet convert") {
		t.Errorf("classify on a checkpoint should point to convert: %v", err)
	}
}

// TestInfoArch describes an architecture without weights.
func TestInfoArch(t *testing.T) {
	stdout, _, err := run(t, "info", "--arch", "coatnet_nano_rw_224")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "15.14 M") || !strings.Contains(stdout, "2.38 G") {
		t.Errorf("nano should show 15.14 M params and 2.38 GMACs:\n%s", stdout)
	}
	stdout, _, err = run(t, "info", "--arch", "coatnet_0_224", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Config struct {
			HeadHiddenSize int `json:"head_hidden_size"`
		} `json:"config"`
		Total struct {
			MACs int64 `json:"macs"`
		} `json:"total"`
	}
	if err := json.Unmarshal([]byte(stdout), &v); err != nil || v.Config.HeadHiddenSize != 768 || v.Total.MACs < 4e9 {
		t.Errorf("json: %v %+v", err, v)
	}
	if _, _, err := run(t, "info"); err == nil {
		t.Error("info without arguments should fail")
	}
}

// TestHelpHasExamples makes sure every command explains itself.
func TestHelpHasExamples(t *testing.T) {
	for _, c := range []string{"convert", "info", "classify"} {
		stdout, _, err := run(t, c, "--help")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(stdout, "Examples:") || !strings.Contains(stdout, "coatnet "+c) {
			t.Errorf("%s --help lacks an example:\n%s", c, stdout)
		}
	}
}

// writeSafetensors writes float32 tensors in the safetensors format.
func writeSafetensors(t *testing.T, path string, tensors map[string]arch.Tensor) {
	t.Helper()
	header := map[string]any{}
	var data []byte
	names := make([]string, 0, len(tensors))
	for n := range tensors {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		tt := tensors[n]
		begin := len(data)
		for _, v := range tt.Data {
			data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
		}
		header[n] = map[string]any{"dtype": "F32", "shape": tt.Shape, "data_offsets": []int{begin, len(data)}}
	}
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	out = append(append(out, h...), data...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGreyInvertedModel converts a one-channel model with a grey, inverted
// recipe and checks that classify applies it: a picture and its colour
// negative must swap roles, so their results differ, while the same picture
// in colour and in grey gives the same answer.
func TestGreyInvertedModel(t *testing.T) {
	cfg, err := arch.Arch("coatnet_nano_rw")
	if err != nil {
		t.Fatal(err)
	}
	cfg.ImgSize, cfg.InChans, cfg.NumClasses = 32, 1, 4
	cfg.EmbedDim, cfg.Depths, cfg.StemWidth = [4]int{16, 32, 32, 64}, [4]int{1, 1, 1, 1}, [2]int{8, 16}
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "grey.safetensors")
	writeSafetensors(t, ckpt, arch.SyntheticWeights(&cfg, 4))
	out := filepath.Join(dir, "grey.coatnet")
	_, stderr, err := run(t, "convert", ckpt, "-o", out, "--arch", "coatnet_nano_rw", "--img-size", "32",
		"--embed-dim", "16,32,32,64", "--depths", "1,1,1,1", "--stem-width", "8,16",
		"--invert", "--mean", "0.3", "--std", "0.4")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	info, _, err := run(t, "info", out)
	if err != nil || !strings.Contains(info, "grey") || !strings.Contains(info, "invert true") || !strings.Contains(info, "1 x 32 x 32") {
		t.Fatalf("info: %v\n%s", err, info)
	}
	colour, grey, negative := filepath.Join(dir, "c.png"), filepath.Join(dir, "g.png"), filepath.Join(dir, "n.png")
	rgb := image.NewNRGBA(image.Rect(0, 0, 40, 40))
	g := image.NewGray(rgb.Rect)
	n := image.NewGray(rgb.Rect)
	for i := range 40 * 40 {
		v := uint8(i*37) ^ uint8(i/40*11)
		rgb.Pix[4*i], rgb.Pix[4*i+1], rgb.Pix[4*i+2], rgb.Pix[4*i+3] = v, v, v, 255
		g.Pix[i], n.Pix[i] = v, 255-v
	}
	for path, img := range map[string]image.Image{colour: rgb, grey: g, negative: n} {
		f, _ := os.Create(path)
		png.Encode(f, img)
		f.Close()
	}
	stdout, _, err := run(t, "classify", out, colour, grey, negative, "--json", "--top", "4")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	scores := make([]string, len(lines))
	for i, l := range lines {
		var r classification
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		scores[i] = fmt.Sprint(r.Top)
	}
	if scores[0] != scores[1] {
		t.Errorf("colour and grey versions of one picture disagree:\n%s\n%s", scores[0], scores[1])
	}
	if scores[1] == scores[2] {
		t.Errorf("a picture and its negative give the same scores: inversion ignored")
	}
}
