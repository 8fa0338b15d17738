package dataset

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"image"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func idx(dims []uint32, data []byte) []byte {
	b := []byte{0, 0, 8, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, data...)
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestReadIDX(t *testing.T) {
	raw := idx([]uint32{2, 2, 3}, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	for name, b := range map[string][]byte{"plain": raw, "gzip": gz(raw)} {
		data, dims, err := ReadIDX(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(dims) != 3 || dims[0] != 2 || dims[2] != 3 || len(data) != 12 || data[11] != 12 {
			t.Errorf("%s: dims %v data %v", name, dims, data)
		}
	}
}

func TestReadIDXErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "not an IDX file"},
		{"png", []byte("\x89PNG\r\n\x1a\n"), "not an IDX file"},
		{"float", []byte{0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0}, "element type 0x0d"},
		{"no dims", []byte{0, 0, 8, 0}, "0 dimensions"},
		{"zero dim", idx([]uint32{0}, nil), "empty"},
		{"huge", idx([]uint32{1 << 16, 1 << 16}, nil), "larger than"},
		{"short header", []byte{0, 0, 8, 2, 0, 0}, "truncated IDX header"},
		{"short data", idx([]uint32{4}, []byte{1, 2}), "truncated IDX data: 2 of 4 bytes"},
		{"long data", idx([]uint32{1}, []byte{1, 2}), "longer than"},
		{"bad gzip", []byte{0x1f, 0x8b, 0}, "gzip"},
	} {
		if _, _, err := ReadIDX(bytes.NewReader(tc.b)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestFashionMNISTFolder builds a small set on disk, one file gzipped and
// one not, and reads it back through Open.
func TestFashionMNISTFolder(t *testing.T) {
	dir := t.TempDir()
	pix := make([]byte, 3*28*28)
	for i := range pix {
		pix[i] = byte(i)
	}
	os.WriteFile(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"), gz(idx([]uint32{3, 28, 28}, pix)), 0o644)
	os.WriteFile(filepath.Join(dir, "t10k-labels-idx1-ubyte"), idx([]uint32{3}, []byte{9, 0, 4}), 0o644)
	s, err := Open("fashion-mnist:"+dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 3 || s.Width != 28 || s.Labels[0] != 9 || s.Classes[s.Labels[2]] != "Coat" {
		t.Fatalf("set %+v", s.Labels)
	}
	if img := s.Image(1); img.Bounds().Dx() != 28 || img.GrayAt(1, 0).Y != pix[28*28+1] {
		t.Errorf("image 1 does not alias the right pixels")
	}
	os.WriteFile(filepath.Join(dir, "t10k-labels-idx1-ubyte"), idx([]uint32{3}, []byte{9, 0, 12}), 0o644)
	if _, err := Open("fashion-mnist:"+dir, "test"); err == nil || !strings.Contains(err.Error(), "label 12 of image 2") {
		t.Errorf("bad label: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "t10k-labels-idx1-ubyte"), idx([]uint32{2}, []byte{9, 0}), 0o644)
	if _, err := Open("fashion-mnist:"+dir, "test"); err == nil || !strings.Contains(err.Error(), "3 images but") {
		t.Errorf("count mismatch: %v", err)
	}
	for _, src := range []string{"mnist", "cifar10:/tmp"} {
		if _, err := Open(src, "test"); err == nil {
			t.Errorf("%s accepted", src)
		}
	}
	if _, err := Open("fashion-mnist:"+dir, "validation"); err == nil {
		t.Error("unknown split accepted")
	}
	if _, err := Open("fashion-mnist:"+t.TempDir(), "test"); err == nil || !strings.Contains(err.Error(), "dataset-fashion-mnist") {
		t.Errorf("missing files: %v", err)
	}
}

// TestDebianFashionMNIST reads the real test split where Debian's package
// is installed.
func TestDebianFashionMNIST(t *testing.T) {
	if _, err := os.Stat(FashionMNISTDir); err != nil {
		t.Skip("dataset-fashion-mnist is not installed")
	}
	s, err := Open("fashion-mnist", "test")
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 10000 || s.Width != 28 || s.Height != 28 {
		t.Fatalf("%d images of %dx%d", s.Len(), s.Width, s.Height)
	}
	counts := make([]int, 10)
	for _, l := range s.Labels {
		counts[l]++
	}
	for c, n := range counts {
		if n != 1000 {
			t.Errorf("class %d has %d test images, want 1000", c, n)
		}
	}
}

func FuzzReadIDX(f *testing.F) {
	f.Add(idx([]uint32{2, 2}, []byte{1, 2, 3, 4}))
	f.Add(gz(idx([]uint32{1}, []byte{7})))
	f.Fuzz(func(t *testing.T, b []byte) {
		data, dims, err := ReadIDX(bytes.NewReader(b))
		if err != nil {
			return
		}
		n := 1
		for _, d := range dims {
			n *= d
		}
		if n != len(data) {
			t.Fatalf("dims %v but %d bytes", dims, len(data))
		}
	})
}

// firstPixel is a Classifier that answers the first pixel modulo 10.
type firstPixel struct{ closed *atomic.Int32 }

func (f firstPixel) Classify(img image.Image) (int, error) {
	return int(img.(*image.Gray).Pix[0]) % 10, nil
}
func (f firstPixel) Close() error { f.closed.Add(1); return nil }

// TestEvaluateScores checks counts, confusion and per-class figures
// against a hand computation, for several worker counts.
func TestEvaluateScores(t *testing.T) {
	s := &Set{Name: "t", Width: 1, Height: 1, Pixels: []byte{0, 1, 2, 13, 4, 9}, Labels: []int{0, 1, 1, 3, 4, 0}, Classes: FashionMNISTLabels}
	for _, workers := range []int{1, 2, 9} {
		var closed, calls atomic.Int32
		r, err := s.Evaluate(context.Background(), 100, workers,
			func() (Classifier, error) { return firstPixel{&closed}, nil }, func() { calls.Add(1) })
		if err != nil {
			t.Fatal(err)
		}
		// predictions 0,1,2,3,4,9 against labels 0,1,1,3,4,0
		if r.Images != 6 || r.Correct != 4 || r.Confusion[1][2] != 1 || r.Confusion[0][9] != 1 || r.PerClass[1].Accuracy != 0.5 {
			t.Errorf("workers %d: %+v", workers, r)
		}
		if int(closed.Load()) != min(workers, 6) || calls.Load() != 6 {
			t.Errorf("workers %d: %d classifiers closed, %d progress calls", workers, closed.Load(), calls.Load())
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Evaluate(ctx, 6, 1, func() (Classifier, error) { return firstPixel{new(atomic.Int32)}, nil }, nil); err == nil {
		t.Error("a cancelled evaluation returned no error")
	}
}
