package main

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/ckptbomb"
	"github.com/coatnet-edge/coatnet-edge/model/checkpoint"
)

// TestConvertZipBomb: a .pth whose storage inflates to far more than the
// architecture's weights is refused before it is inflated, not after
// gigabytes (here 64 MiB, 128 MiB as float32, from a 400 KB file).
func TestConvertZipBomb(t *testing.T) {
	dir := t.TempDir()
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
	_, _, err = run(t, append([]string{"convert", bomb, "-o", filepath.Join(dir, "m.coatnet")}, tinyArch...)...)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, checkpoint.ErrTooLarge) || !strings.Contains(err.Error(), "--arch") {
		t.Errorf("error %v, want checkpoint.ErrTooLarge explaining the bound", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 32<<20 {
		t.Errorf("allocated %d MiB before refusing", n>>20)
	}
}

// TestClassifyDirectory: an empty directory among the pictures is reported
// as one, and the others are still classified.
func TestClassifyDirectory(t *testing.T) {
	ckpt := tinyCheckpoints(t)
	dir := t.TempDir()
	model := filepath.Join(dir, "m.coatnet")
	if _, _, err := run(t, append([]string{"convert", filepath.Join(ckpt, "model.safetensors"), "-o", model}, tinyArch...)...); err != nil {
		t.Fatal(err)
	}
	a, sub := filepath.Join(dir, "a.png"), filepath.Join(dir, "pictures")
	writePNG(t, a, 64, 64, 1)
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := run(t, "classify", model, sub, a, "--threads", "1")
	if err == nil || !strings.Contains(err.Error(), "1 of 2 images failed") {
		t.Errorf("want the failure count, got %v", err)
	}
	if !strings.Contains(stderr, sub+": ") || !strings.Contains(stderr, "directory") || strings.Contains(stderr, "unsupported") {
		t.Errorf("stderr does not report %s as a directory:\n%s", sub, stderr)
	}
	if !strings.Contains(stdout, "a.png") {
		t.Errorf("a.png not classified:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	// The model itself.
	if _, _, err := run(t, "classify", sub, a); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("classify with a directory as the model: %v", err)
	}
}
