package dataset

import (
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// writeGrey writes a 4x4 grey PNG whose every pixel is v.
func writeGrey(t *testing.T, path string, v uint8) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	img := image.NewGray(image.Rect(0, 0, 4, 4))
	for i := range img.Pix {
		img.Pix[i] = v
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

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// pixelScorer scores class c with -|c - v/10| for the first pixel v: a
// picture of value 10*c is class c first, c±1 next.
type pixelScorer struct{ closed *atomic.Int32 }

func (p pixelScorer) Logits(img image.Image) ([]float32, error) {
	v := float32(color.GrayModel.Convert(img.At(0, 0)).(color.Gray).Y) / 10
	out := make([]float32, 10)
	for c := range out {
		d := float32(c) - v
		out[c] = -d * d
	}
	return out, nil
}
func (p pixelScorer) Close() error { p.closed.Add(1); return nil }

// TestFolder matches folders to labels by name (case and punctuation
// aside) or number, reports the unknown ones, skips bad pictures and
// counts top-1 and top-5 per class, whatever the number of workers.
func TestFolder(t *testing.T) {
	dir := t.TempDir()
	writeGrey(t, filepath.Join(dir, "T-shirt_top", "a.png"), 0)    // class 0, right
	writeGrey(t, filepath.Join(dir, "T-shirt_top", "b.PNG"), 20)   // class 0 seen as 2: rank 3
	writeGrey(t, filepath.Join(dir, "ankle boot", "x.png"), 90)    // class 9, right
	writeGrey(t, filepath.Join(dir, "ankle boot", "y.png"), 20)    // class 9 seen as 2: rank 7
	write(t, filepath.Join(dir, "ankle boot", "broken.png"), "no") // bad: counted, skipped
	write(t, filepath.Join(dir, "ankle boot", "notes.txt"), "not a picture")
	writeGrey(t, filepath.Join(dir, "3", "d.png"), 30)         // class 3 by number, right
	writeGrey(t, filepath.Join(dir, "cats", "c.png"), 0)       // no such class
	writeGrey(t, filepath.Join(dir, ".thumbs", "t.png"), 0)    // hidden
	writeGrey(t, filepath.Join(dir, "loose.png"), 0)           // not in a class folder
	writeGrey(t, filepath.Join(dir, "Trouser", ".hid.png"), 0) // hidden
	f, err := OpenFolder(dir, FashionMNISTLabels)
	if err != nil {
		t.Fatal(err)
	}
	if f.Len() != 6 || !reflect.DeepEqual(f.Labels, []int{0, 0, 3, 9, 9, 9}) || !reflect.DeepEqual(f.Unknown, []string{"cats"}) {
		t.Fatalf("files %v labels %v unknown %v", f.Files, f.Labels, f.Unknown)
	}
	var first *FolderReport
	for _, workers := range []int{1, 3, 10} {
		var closed, calls atomic.Int32
		r, err := f.Evaluate(context.Background(), workers, func() (Scorer, error) { return pixelScorer{&closed}, nil }, func() { calls.Add(1) })
		if err != nil {
			t.Fatal(err)
		}
		if r.Images != 5 || r.Skipped != 1 || r.Top1 != 3 || r.Top5 != 4 || r.Top1Acc != 0.6 || r.Top5Acc != 0.8 {
			t.Errorf("workers %d: %+v", workers, r)
		}
		want := []FolderClass{{"T-shirt/top", 2, 1, 2}, {"Dress", 1, 1, 1}, {"Ankle boot", 2, 1, 1}}
		if !reflect.DeepEqual(r.PerClass, want) {
			t.Errorf("workers %d: per class %+v, want %+v", workers, r.PerClass, want)
		}
		if len(r.Bad) != 1 || !strings.Contains(r.Bad[0], "broken.png") || !slices.Equal(r.Unknown, []string{"cats"}) {
			t.Errorf("workers %d: bad %q unknown %q", workers, r.Bad, r.Unknown)
		}
		if int(closed.Load()) != min(workers, 6) || calls.Load() != 6 {
			t.Errorf("workers %d: %d scorers closed, %d progress calls", workers, closed.Load(), calls.Load())
		}
		if first == nil {
			first = r
		} else if !reflect.DeepEqual(r, first) {
			t.Errorf("workers %d changed the report:\n%+v\n%+v", workers, r, first)
		}
	}
}

// errScorer fails on every picture.
type errScorer struct{}

func (errScorer) Logits(image.Image) ([]float32, error) { return nil, errors.New("engine broke") }
func (errScorer) Close() error                          { return nil }

func TestFolderErrors(t *testing.T) {
	if _, err := OpenFolder(filepath.Join(t.TempDir(), "none"), FashionMNISTLabels); err == nil {
		t.Error("a missing folder opened")
	}
	dir := t.TempDir()
	writeGrey(t, filepath.Join(dir, "dogs", "a.png"), 0)
	write(t, filepath.Join(dir, "Trouser", "readme.txt"), "")
	if _, err := OpenFolder(dir, FashionMNISTLabels); !errors.Is(err, ErrEmpty) || !strings.Contains(err.Error(), "Trouser") && !strings.Contains(err.Error(), "T-shirt") {
		t.Errorf("no pictures in a class folder: %v", err)
	}
	if _, err := OpenFolder(t.TempDir(), FashionMNISTLabels); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty folder: %v", err)
	}
	// Only bad pictures: nothing to score is an error, with the count.
	write(t, filepath.Join(dir, "Bag", "x.jpg"), "not a jpeg")
	f, err := OpenFolder(dir, FashionMNISTLabels)
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.Evaluate(context.Background(), 2, func() (Scorer, error) { return pixelScorer{new(atomic.Int32)}, nil }, nil)
	if !errors.Is(err, ErrEmpty) || r == nil || r.Skipped != 1 {
		t.Errorf("only bad pictures: %v %+v", err, r)
	}
	// A scorer that cannot be made is fatal; so is a cancelled context.
	writeGrey(t, filepath.Join(dir, "Bag", "y.png"), 80)
	f, _ = OpenFolder(dir, FashionMNISTLabels)
	if _, err := f.Evaluate(context.Background(), 1, func() (Scorer, error) { return nil, errors.New("no engine") }, nil); err == nil || !strings.Contains(err.Error(), "no engine") {
		t.Errorf("scorer error: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.Evaluate(ctx, 1, func() (Scorer, error) { return pixelScorer{new(atomic.Int32)}, nil }, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	// Scores that do not fit the classes are the model's fault, not the
	// picture's.
	r, err = f.Evaluate(context.Background(), 1, func() (Scorer, error) { return errScorer{}, nil }, nil)
	if err == nil || r == nil || r.Skipped != 2 || !strings.Contains(r.Bad[1], "engine broke") {
		t.Errorf("failing scorer: %v %+v", err, r)
	}
}
