package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/imagebomb"
)

// TestClassifySkipsBombs: a picture declaring 100000x100000 pixels is one
// error among the others, not the end of the process.
func TestClassifySkipsBombs(t *testing.T) {
	ckpt := tinyCheckpoints(t)
	dir := t.TempDir()
	model := filepath.Join(dir, "m.coatnet")
	if _, _, err := run(t, append([]string{"convert", filepath.Join(ckpt, "model.safetensors"), "-o", model}, tinyArch...)...); err != nil {
		t.Fatal(err)
	}
	a, b := filepath.Join(dir, "a.png"), filepath.Join(dir, "b.png")
	writePNG(t, a, 64, 64, 1)
	writePNG(t, b, 64, 64, 2)
	png, jpg := filepath.Join(dir, "bomb.png"), filepath.Join(dir, "bomb.jpg")
	if err := os.WriteFile(png, imagebomb.PNG(100000, 100000), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jpg, imagebomb.JPEG(65500, 65500), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := run(t, "classify", model, a, png, jpg, b, "--threads", "1")
	if err == nil || !strings.Contains(err.Error(), "2 of 4 images failed") {
		t.Errorf("want the failure count, got %v", err)
	}
	for _, bomb := range []string{png, jpg} {
		if !strings.Contains(stderr, bomb+": ") || !strings.Contains(stderr, "too large") {
			t.Errorf("stderr does not report %s as too large:\n%s", bomb, stderr)
		}
	}
	if !strings.Contains(stdout, "a.png") || !strings.Contains(stdout, "b.png") {
		t.Errorf("a.png and b.png not classified:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
}

// TestConvertNamedFilesAreBounded: --config and --labels set to
// /dev/zero are quick, clear errors, not reads until memory runs out.
func TestConvertNamedFilesAreBounded(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero:", err)
	}
	ckpt := tinyCheckpoints(t)
	out := filepath.Join(t.TempDir(), "m.coatnet")
	_, _, err := run(t, "convert", filepath.Join(ckpt, "model.safetensors"), "-o", out, "--config", "/dev/zero")
	if err == nil || !strings.Contains(err.Error(), "/dev/zero") || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("--config /dev/zero: %v", err)
	}
	_, _, err = run(t, append([]string{"convert", filepath.Join(ckpt, "model.safetensors"), "-o", out, "--labels", "/dev/zero"}, tinyArch...)...)
	if err == nil || !strings.Contains(err.Error(), "/dev/zero") || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("--labels /dev/zero: %v", err)
	}
}
