package quant

import (
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/preprocess"
)

// TestFolderCalibration: the pictures of a folder and of its subfolders
// (a folder dataset's classes) calibrate; one that does not decode is
// ErrUnreadable, naming it; hidden files are not pictures.
func TestFolderCalibration(t *testing.T) {
	dir := t.TempDir()
	pic := func(p string) {
		os.MkdirAll(filepath.Dir(p), 0o755)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		png.Encode(f, image.NewGray(image.Rect(0, 0, 8, 8)))
	}
	pic(filepath.Join(dir, "a.png"))
	pic(filepath.Join(dir, "Bag", "b.png"))
	pic(filepath.Join(dir, "Coat", "c.png"))
	pic(filepath.Join(dir, ".hidden", "h.png"))
	os.WriteFile(filepath.Join(dir, "Coat", "d.png"), []byte("not a png"), 0o644)
	cal, err := FolderCalibration(dir, preprocess.TimmDefault(8, 1), 0)
	if err != nil {
		t.Fatal(err)
	}
	if cal.Len() != 4 {
		t.Fatalf("%d pictures, want 4", cal.Len())
	}
	dst := make([]float32, 3*8*8)
	for i, want := range []bool{true, true, false, true} { // sorted: Bag/b, Coat/c, Coat/d, a
		err := cal.Input(i, dst)
		if ok := err == nil; ok != want {
			t.Errorf("input %d: %v", i, err)
		}
		if !want && (!errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), "d.png")) {
			t.Errorf("input %d: %v, want ErrUnreadable naming d.png", i, err)
		}
	}
	if _, err := FolderCalibration(filepath.Join(dir, ".hidden", "none"), preprocess.TimmDefault(8, 1), 0); err == nil {
		t.Error("a missing folder opened")
	}
}
