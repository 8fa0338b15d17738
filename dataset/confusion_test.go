package dataset

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
)

// TestFolderConfusion checks the confusion matrix, the misclassified
// pictures with their top five and the classes without pictures.
func TestFolderConfusion(t *testing.T) {
	dir := t.TempDir()
	writeGrey(t, filepath.Join(dir, "T-shirt_top", "a.png"), 0)  // 0, right
	writeGrey(t, filepath.Join(dir, "T-shirt_top", "b.png"), 20) // 0 seen as 2
	writeGrey(t, filepath.Join(dir, "dress", "c.png"), 30)       // 3, right
	writeGrey(t, filepath.Join(dir, "ANKLE BOOT", "d.png"), 90)  // 9, right
	writeGrey(t, filepath.Join(dir, "ANKLE BOOT", "e.png"), 30)  // 9 seen as 3
	write(t, filepath.Join(dir, "ANKLE BOOT", "f.png"), "broken")
	writeGrey(t, filepath.Join(dir, "unicorn", "u.png"), 0)
	if err := mkdir(filepath.Join(dir, "Bag")); err != nil { // an empty class
		t.Fatal(err)
	}
	f, err := OpenFolder(dir, FashionMNISTLabels)
	if err != nil {
		t.Fatal(err)
	}
	wantMissing := []string{"Trouser", "Pullover", "Coat", "Sandal", "Shirt", "Sneaker", "Bag"}
	if !reflect.DeepEqual(f.Missing, wantMissing) || !reflect.DeepEqual(f.Unknown, []string{"unicorn"}) {
		t.Fatalf("missing %q unknown %q", f.Missing, f.Unknown)
	}
	r, err := f.Evaluate(context.Background(), 2, func() (Scorer, error) { return pixelScorer{new(atomic.Int32)}, nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &Confusion{
		Classes: []int{0, 2, 3, 9},
		Labels:  []string{"T-shirt/top", "Pullover", "Dress", "Ankle boot"},
		Counts:  [][]int{{1, 1, 0, 0}, {0, 0, 0, 0}, {0, 0, 1, 0}, {0, 0, 1, 1}},
	}
	if !reflect.DeepEqual(r.Confusion, want) || !reflect.DeepEqual(r.Missing, wantMissing) {
		t.Errorf("confusion %+v missing %q, want %+v", r.Confusion, r.Missing, want)
	}
	if len(r.Misses) != 2 {
		t.Fatalf("misses %+v", r.Misses)
	}
	m := r.Misses[0]
	if filepath.Base(m.File) != "b.png" || m.Class != 0 || m.Label != "T-shirt/top" || len(m.Top) != 5 {
		t.Fatalf("first miss %+v", m)
	}
	// Pixel 20: scores -(c-2)², so 2 first, then 1 and 3 (tied, lower
	// class first), then 0 and 4.
	var sum float64
	for c := range 10 {
		sum += math.Exp(-float64((c - 2) * (c - 2)))
	}
	for i, c := range []int{2, 1, 3, 0, 4} {
		p := math.Exp(-float64((c-2)*(c-2))) / sum
		if m.Top[i].Class != c || m.Top[i].Label != FashionMNISTLabels[c] || math.Abs(m.Top[i].Score-p) > 1e-6 {
			t.Errorf("top %d: %+v, want class %d score %.6f", i, m.Top[i], c, p)
		}
	}
	if m := r.Misses[1]; filepath.Base(m.File) != "e.png" || m.Class != 9 || m.Top[0].Class != 3 {
		t.Errorf("second miss %+v", m)
	}
}

func TestTopScores(t *testing.T) {
	labels := []string{"a", "b", "c"}
	got := TopScores([]float32{1, 3, 3}, labels, 5)
	if len(got) != 3 || got[0].Class != 1 || got[1].Class != 2 || got[2].Class != 0 || got[0].Score != got[1].Score {
		t.Errorf("%+v", got)
	}
	if got := TopScores([]float32{5}, labels[:1], 5); len(got) != 1 || got[0].Score != 1 {
		t.Errorf("one class: %+v", got)
	}
}

func mkdir(dir string) error { return os.MkdirAll(dir, 0o755) }
