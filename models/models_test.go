// Tests of the demo models shipped in this folder (see README.md): their
// accuracy through the Go engine and their agreement with PyTorch.
package models_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/dataset"
	"github.com/coatnet-edge/coatnet-edge/internal/testing/implcheck"
	"github.com/coatnet-edge/coatnet-edge/model"
	"github.com/coatnet-edge/coatnet-edge/model/int8net"
	"github.com/coatnet-edge/coatnet-edge/preprocess"
)

// shipped are the float demo models, with the reference figures PyTorch
// measured when training them (testdata/fashion/pytorch-*.json).
var shipped = []struct {
	file, reference string
	minAccuracy     float64 // the bar through the Go engine; 0: reported only
}{
	{"fmnist-pre.coatnet", "pytorch-fmnist-pre.json", 0.930},
	{"fmnist-post.coatnet", "pytorch-fmnist-post.json", 0},
}

type reference struct {
	TestAccuracy float64              `json:"test_accuracy"`
	Logits       map[string][]float64 `json:"logits"`
}

func load(t *testing.T, file, ref string) (*model.Model, reference) {
	t.Helper()
	m, err := model.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "fashion", ref))
	if err != nil {
		t.Fatal(err)
	}
	var r reference
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return m, r
}

// TestSamplesAgreeWithPyTorch classifies the sample pictures and compares
// every logit with the one PyTorch computed from the same PNG.
func TestSamplesAgreeWithPyTorch(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "testdata", "fashion", "labels.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range shipped {
		m, ref := load(t, s.file, s.reference)
		c, err := model.NewClassifier(m, 1)
		if err != nil {
			t.Fatal(err)
		}
		var worst float64
		correct := 0
		for _, row := range rows[1:] {
			img, err := preprocess.LoadImage(filepath.Join("..", "testdata", "fashion", row[0]))
			if err != nil {
				t.Fatal(err)
			}
			logits, err := c.Logits(img)
			if err != nil {
				t.Fatal(err)
			}
			want, ok := ref.Logits[row[0]]
			if !ok || len(want) != len(logits) {
				t.Fatalf("%s: no PyTorch logits for %s", s.file, row[0])
			}
			best := 0
			for i := range want {
				worst = max(worst, math.Abs(float64(logits[i])-want[i]))
				if logits[i] > logits[best] {
					best = i
				}
			}
			if m.Labels[best] == row[2] {
				correct++
			}
		}
		c.Close()
		t.Logf("%s: max |logit - PyTorch| %.2g over %d samples, %d correct", s.file, worst, len(rows)-1, correct)
		if worst >= 1e-3 {
			t.Errorf("%s: max |logit - PyTorch| = %.3g, want < 1e-3", s.file, worst)
		}
	}
}

// testSet is the Fashion-MNIST test set; without it the test is skipped,
// except under CI=true, where the Makefile installs it.
func testSet(t *testing.T) *dataset.Set {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the test set takes minutes under emulation")
	}
	set, err := dataset.Open("fashion-mnist", "test")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return set
}

// evalImages is how many test images the accuracy tests classify: the
// first evalSample (evalsample_test.go) in `make test`, all 10,000 under
// -tags accuracy (`make accuracy`).
func evalImages(set *dataset.Set) int { return min(evalSample, set.Len()) }

// slack widens a bound met on the whole test set for a sample of n of its
// images: three standard errors of a proportion p over n, none on the
// whole set. The sample is fixed, so the outcome is deterministic; the
// slack is what a correct engine needs on an arbitrary sample of that size.
func slack(p float64, n int, set *dataset.Set) float64 {
	if n >= set.Len() {
		return 0
	}
	return 3 * math.Sqrt(p*(1-p)/float64(n))
}

// evaluated caches each model file's evaluation: the tests share them.
var evaluated = map[string]*dataset.Report{}

// evaluate classifies the first evalImages of the set with the model in
// file (float or int8), the way coatnet eval does, once per test binary.
func evaluate(t *testing.T, set *dataset.Set, file string) *dataset.Report {
	t.Helper()
	if r, ok := evaluated[file]; ok {
		return r
	}
	m, err := model.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	r, err := set.Evaluate(context.Background(), evalImages(set), runtime.NumCPU(),
		func() (dataset.Classifier, error) { return model.NewClassifier(m, 1) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	evaluated[file] = r
	return r
}

// TestFashionMNISTAccuracy evaluates the test images through the Go
// engine: the pre-softmax model must reach its bar, and both must match
// PyTorch's test-set accuracy to within 0.05 points on the whole set (with
// the sampling slack on a sample).
func TestFashionMNISTAccuracy(t *testing.T) {
	set := testSet(t)
	for _, s := range shipped {
		_, ref := load(t, s.file, s.reference)
		r := evaluate(t, set, s.file)
		tol := slack(ref.TestAccuracy, r.Images, set)
		t.Logf("%s: top-1 %.2f%% on %d test images through the Go engine, %.2f%% in PyTorch on all %d (slack %.2f points)",
			s.file, 100*r.Accuracy, r.Images, 100*ref.TestAccuracy, set.Len(), 100*tol)
		if s.minAccuracy > 0 && r.Accuracy < s.minAccuracy-tol {
			t.Errorf("%s: top-1 %.2f%% is below %.1f%% (less %.2f points of slack)", s.file, 100*r.Accuracy, 100*s.minAccuracy, 100*tol)
		}
		if d := math.Abs(r.Accuracy - ref.TestAccuracy); d > 0.0005+tol {
			t.Errorf("%s: Go %.4f and PyTorch %.4f differ by more than %.4f", s.file, r.Accuracy, ref.TestAccuracy, 0.0005+tol)
		}
	}
}

// int8Pairs are the shipped int8 models and the float models they were
// quantized from.
var int8Pairs = []struct{ float, int8 string }{
	{"fmnist-pre.coatnet", "fmnist-pre-int8.coatnet"},
	{"fmnist-post.coatnet", "fmnist-post-int8.coatnet"},
}

// TestInt8MatchesFloat runs the test images through the float and int8
// engines: on the whole set int8 top-1 may be at most 0.5 points below
// float, and the two must agree on the top label of at least 99% of the
// images (each with the sampling slack on a sample).
func TestInt8MatchesFloat(t *testing.T) {
	set := testSet(t)
	for _, p := range int8Pairs {
		f, q := evaluate(t, set, p.float), evaluate(t, set, p.int8)
		agree := 0
		for i := range f.Predictions {
			if f.Predictions[i] == q.Predictions[i] {
				agree++
			}
		}
		n := float64(f.Images)
		// A disagreement rate of 1% is the bound: its standard error
		// bounds both the agreement's and the accuracy difference's.
		tol := slack(0.01, f.Images, set)
		t.Logf("%s on %d test images: float top-1 %.2f%%, int8 top-1 %.2f%% (%+.2f points), top-1 agreement %.2f%% (slack %.2f points)",
			p.int8, f.Images, 100*f.Accuracy, 100*q.Accuracy, 100*(q.Accuracy-f.Accuracy), 100*float64(agree)/n, 100*tol)
		if float64(f.Correct-q.Correct)/n > 0.005+tol {
			t.Errorf("%s: int8 top-1 is more than %.2f points below float", p.int8, 100*(0.005+tol))
		}
		if float64(agree)/n < 0.99-tol {
			t.Errorf("%s: int8 and float agree on %.2f%% of the images, want at least %.2f%%", p.int8, 100*float64(agree)/n, 100*(0.99-tol))
		}
	}
}

// TestInt8KernelsAgree runs the shipped int8 models on the sample pictures
// with every kernel implementation this CPU runs (under qemu-aarch64 in
// `make test`: the SDOT and SMULL NEON kernels and the portable Go ones)
// and 1 to 4 threads: every tensor must be bit-identical to the portable
// path's on one thread.
func TestInt8KernelsAgree(t *testing.T) {
	pictures, err := filepath.Glob(filepath.Join("..", "testdata", "fashion", "*.png"))
	if err != nil || len(pictures) == 0 {
		t.Fatalf("no sample pictures: %v", err)
	}
	for _, p := range int8Pairs {
		m, err := model.Open(p.int8)
		if err != nil {
			t.Fatal(err)
		}
		qm, ok := m.(*int8net.Model)
		if !ok {
			t.Fatalf("%s is not an int8 model", p.int8)
		}
		prep, err := preprocess.New(qm.Preprocess)
		if err != nil {
			t.Fatal(err)
		}
		var levels []string
		for _, pic := range pictures {
			img, err := preprocess.LoadImage(pic)
			if err != nil {
				t.Fatal(err)
			}
			levels, err = implcheck.Agree(qm, func(dst []float32) {
				if err := prep.Apply(img, dst); err != nil {
					t.Fatal(err)
				}
			}, []int{1, 2, 3, 4})
			if err != nil {
				t.Errorf("%s on %s: %v", p.int8, filepath.Base(pic), err)
			}
		}
		t.Logf("%s: levels %v, 1-4 threads: bit-identical on %d pictures", p.int8, levels, len(pictures))
		m.Close()
	}
}

// TestCameraFramesMatchPictures classifies test images as an OpenCV camera
// delivers them (BGR bytes, grey in all three channels, rows padded) with
// every shipped model: the logits must be exactly those of the picture.
func TestCameraFramesMatchPictures(t *testing.T) {
	set := testSet(t)
	for _, file := range []string{"fmnist-pre.coatnet", "fmnist-post.coatnet", "fmnist-pre-int8.coatnet", "fmnist-post-int8.coatnet"} {
		m, err := model.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		c, err := model.NewClassifier(m, 1)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 20 {
			img := set.Image(i)
			w, h := img.Rect.Dx(), img.Rect.Dy()
			stride := 3*w + 4
			bgr := make([]byte, h*stride)
			for y := range h {
				for x := range w {
					v := img.GrayAt(x, y).Y
					copy(bgr[y*stride+3*x:], []byte{v, v, v})
				}
			}
			want, err := c.Logits(img)
			if err != nil {
				t.Fatal(err)
			}
			want = slices.Clone(want)
			got, err := c.LogitsBGR(bgr, w, h, stride)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s, test image %d: camera frame logits %v, picture %v", file, i, got, want)
			}
		}
		c.Close()
		m.Close()
	}
}
