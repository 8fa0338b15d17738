package main

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/ckptbomb"
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
