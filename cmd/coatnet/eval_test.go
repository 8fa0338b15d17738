package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/dataset"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
)

// writeFashionLike writes n 28x28 IDX test images with labels into dir.
func writeFashionLike(t *testing.T, dir string, n int) { writeIDXSplit(t, dir, "t10k", n) }

// writeIDXSplit writes n 28x28 IDX images with labels as split prefix.
func writeIDXSplit(t *testing.T, dir, prefix string, n int) {
	t.Helper()
	pix := make([]byte, n*28*28)
	for i := range pix {
		img, p := i/(28*28), i%(28*28)
		pix[i] = byte((p*(img+3))>>2) ^ byte(img*29)
	}
	labels := make([]byte, n)
	for i := range labels {
		labels[i] = byte(i % 10)
	}
	head := func(dims ...uint32) []byte {
		b := []byte{0, 0, 8, byte(len(dims))}
		for _, d := range dims {
			b = binary.BigEndian.AppendUint32(b, d)
		}
		return b
	}
	os.WriteFile(filepath.Join(dir, prefix+"-images-idx3-ubyte"), append(head(uint32(n), 28, 28), pix...), 0o644)
	os.WriteFile(filepath.Join(dir, prefix+"-labels-idx1-ubyte"), append(head(uint32(n)), labels...), 0o644)
}

// greyModel converts synthetic weights of a small 64x64 grey 10-class model.
func greyModel(t *testing.T, dir string) string {
	t.Helper()
	cfg, err := arch.Arch("coatnet_nano_rw")
	if err != nil {
		t.Fatal(err)
	}
	cfg.ImgSize, cfg.InChans, cfg.NumClasses = 64, 1, 10
	cfg.EmbedDim, cfg.Depths, cfg.StemWidth = [4]int{16, 32, 32, 64}, [4]int{1, 1, 1, 1}, [2]int{8, 16}
	ckpt := filepath.Join(dir, "grey.safetensors")
	writeSafetensors(t, ckpt, arch.SyntheticWeights(&cfg, 8))
	labels := filepath.Join(dir, "labels.txt")
	os.WriteFile(labels, []byte(strings.Join(dataset.FashionMNISTLabels, "\n")), 0o644)
	out := filepath.Join(dir, "grey.coatnet")
	if _, stderr, err := run(t, "convert", ckpt, "-o", out, "--arch", "coatnet_nano_rw", "--img-size", "64",
		"--embed-dim", "16,32,32,64", "--depths", "1,1,1,1", "--stem-width", "8,16", "--labels", labels,
		"--interpolation", "bilinear", "--crop-pct", "1", "--mean", "0.286", "--std", "0.353"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	return out
}

// TestEvalMatchesClassify evaluates a small IDX set and checks the report
// against classify run on the same pictures saved as PNG, and that the
// number of workers does not change it.
func TestEvalMatchesClassify(t *testing.T) {
	dir := t.TempDir()
	const n = 30
	writeFashionLike(t, dir, n)
	m := greyModel(t, dir)
	var reports []evalReport
	for _, threads := range []string{"1", "3"} {
		stdout, _, err := run(t, "eval", m, "--dataset", "fashion-mnist:"+dir, "--json", "--threads", threads)
		if err != nil {
			t.Fatal(err)
		}
		var r evalReport
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("%v\n%s", err, stdout)
		}
		reports = append(reports, r)
	}
	r := reports[0]
	if !slices.EqualFunc(r.Confusion, reports[1].Confusion, slices.Equal) {
		t.Fatalf("1 and 3 workers disagree: %v vs %v", r.Confusion, reports[1].Confusion)
	}
	set, err := dataset.Open("fashion-mnist:"+dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"classify", m, "--json", "--top", "1"}
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("%02d.png", i))
		f, _ := os.Create(p)
		png.Encode(f, set.Image(i))
		f.Close()
		args = append(args, p)
	}
	stdout, _, err := run(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	want := make([][]int, 10)
	for i := range want {
		want[i] = make([]int, 10)
	}
	correct := 0
	for i, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var c classification
		json.Unmarshal([]byte(line), &c)
		want[set.Labels[i]][c.Top[0].Index]++
		if c.Top[0].Index == set.Labels[i] {
			correct++
		}
	}
	if !slices.EqualFunc(r.Confusion, want, slices.Equal) {
		t.Errorf("confusion %v, classify gives %v", r.Confusion, want)
	}
	if r.Images != n || r.Correct != correct || r.PerClass[3].Total != 3 || r.PerClass[3].Label != "Dress" {
		t.Errorf("report %+v", r)
	}

	stdout, _, err = run(t, "eval", m, "--dataset", "fashion-mnist:"+dir, "--limit", "10")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"10 images", "top-1 accuracy", "true \\ predicted", "Ankle boot", "accuracy"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("text report lacks %q:\n%s", want, stdout)
		}
	}
	if _, _, err := run(t, "eval", m, "--dataset", "cifar10"); err == nil || !strings.Contains(err.Error(), "unknown dataset") {
		t.Errorf("unknown dataset: %v", err)
	}
}

// TestQuantizeThenUseInt8 quantizes a float model with the CLI, then
// describes, classifies and evaluates the int8 file: classify, eval and info
// pick the engine from the file.
func TestQuantizeThenUseInt8(t *testing.T) {
	dir := t.TempDir()
	writeFashionLike(t, dir, 20)
	writeIDXSplit(t, dir, "train", 40)
	m := greyModel(t, dir)
	q := filepath.Join(dir, "q.coatnet")
	stdout, stderr, err := run(t, "quantize", m, "--calib", "fashion-mnist:"+dir, "--images", "16", "--measure", "8", "-o", q)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, want := range []string{"calibrated on fashion-mnist train: 16 pictures", "stem.conv1", "SQNR", "top-1 agreement", "wrote"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("quantize output lacks %q:\n%s", want, stdout)
		}
	}
	info, _, err := run(t, "info", q)
	if err != nil || !strings.Contains(info, "coatnet-int8") || !strings.Contains(info, "Int8 program") {
		t.Fatalf("info: %v\n%s", err, info)
	}
	stdout, _, err = run(t, "eval", q, "--dataset", "fashion-mnist:"+dir, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var r evalReport
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || r.Images != 20 {
		t.Fatalf("int8 eval: %v %+v", err, r)
	}
	set, _ := dataset.Open("fashion-mnist:"+dir, "test")
	p := filepath.Join(dir, "x.png")
	f, _ := os.Create(p)
	png.Encode(f, set.Image(0))
	f.Close()
	if stdout, _, err = run(t, "classify", q, p); err != nil || !strings.Contains(stdout, "x.png") {
		t.Fatalf("int8 classify: %v\n%s", err, stdout)
	}
	if _, _, err := run(t, "quantize", m, "--calib", filepath.Join(dir, "nope"), "-o", q); err == nil || !strings.Contains(err.Error(), "not fashion-mnist") {
		t.Errorf("bad calibration source: %v", err)
	}
}

// TestBench runs bench on a float and an int8 model with a fixed number of
// iterations and checks the report's figures are consistent.
func TestBench(t *testing.T) {
	dir := t.TempDir()
	writeIDXSplit(t, dir, "train", 20)
	m := greyModel(t, dir)
	q := filepath.Join(dir, "q.coatnet")
	if _, _, err := run(t, "quantize", m, "--calib", "fashion-mnist:"+dir, "--images", "8", "-o", q); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{m, q} {
		stdout, _, err := run(t, "bench", file, "--iterations", "5", "--warmup", "1", "--sweep", "--json")
		if err != nil {
			t.Fatal(err)
		}
		var rep benchReport
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatal(err)
		}
		if len(rep.Runs) < 1 || rep.PeakRSS <= 0 || rep.MACs <= 0 {
			t.Fatalf("%s: %+v", file, rep)
		}
		for _, r := range rep.Runs {
			if r.Iterations != 5 || !(r.MinMs <= r.MedianMs && r.MedianMs <= r.P90Ms && r.P90Ms <= r.P99Ms) || len(r.Layers) == 0 {
				t.Errorf("%s: inconsistent run %+v", file, r)
			}
			var macs int64
			for _, l := range r.Layers {
				macs += l.MACs
			}
			if macs != rep.MACs {
				t.Errorf("%s: layers sum to %d MACs, the model has %d", file, macs, rep.MACs)
			}
		}
		if (rep.Kind == "coatnet-int8") != (rep.Kernels != nil) {
			t.Errorf("%s: kernels %v for kind %s", file, rep.Kernels, rep.Kind)
		}
		stdout, _, err = run(t, "bench", file, "--iterations", "2", "--layers")
		if err != nil || !strings.Contains(stdout, "latency ms") || !strings.Contains(stdout, "GMAC/s") {
			t.Errorf("%s text report: %v\n%s", file, err, stdout)
		}
	}
}
