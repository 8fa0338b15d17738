package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestQuantizeCalibSkipsUnreadable: a calibration folder with pictures
// that do not decode is calibrated on the others, the skipped ones
// counted and named; a folder dataset (pictures in class subfolders)
// calibrates too.
func TestQuantizeCalibSkipsUnreadable(t *testing.T) {
	dir := t.TempDir()
	m := greyModel(t, dir)
	calib := filepath.Join(dir, "calib")
	os.MkdirAll(calib, 0o755)
	src, _ := filepath.Glob("../../testdata/fashion/*.png")
	for _, p := range src[:10] {
		b, _ := os.ReadFile(p)
		os.WriteFile(filepath.Join(calib, filepath.Base(p)), b, 0o644)
	}
	for _, name := range []string{"broken1.png", "broken2.jpg", "broken3.png", "broken4.png", "broken5.png", "broken6.png", "broken7.png"} {
		os.WriteFile(filepath.Join(calib, name), []byte("not a picture"), 0o644)
	}
	q := filepath.Join(dir, "q.coatnet")
	stdout, stderr, err := run(t, "quantize", m, "--calib", calib, "--measure", "4", "-o", q, "--no-progress")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, want := range []string{"calibrated on folder " + calib + ": 10 pictures", "skipped 7 unreadable pictures", "broken1.png", "and 2 more", "wrote"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("quantize output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "broken7.png") {
		t.Errorf("more than five unreadable pictures named:\n%s", stdout)
	}
	info, _, err := run(t, "info", q)
	if err != nil || !strings.Contains(info, "10 images") {
		t.Errorf("info of the int8 file: %v\n%s", err, info)
	}

	// Only unreadable pictures: nothing to calibrate on.
	bad := filepath.Join(dir, "bad")
	os.MkdirAll(bad, 0o755)
	os.WriteFile(filepath.Join(bad, "x.png"), []byte("no"), 0o644)
	if _, _, err := run(t, "quantize", m, "--calib", bad, "-o", q, "--no-progress"); err == nil || !strings.Contains(err.Error(), "x.png") {
		t.Errorf("only unreadable pictures: %v", err)
	}

	// A folder dataset: the pictures are in its class subfolders.
	set, _ := fashionFolder(t)
	stdout, stderr, err = run(t, "quantize", m, "--calib", set, "--images", "12", "--measure", "4", "-o", q, "--no-progress")
	if err != nil {
		t.Fatalf("folder dataset: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, ": 12 pictures") {
		t.Errorf("folder dataset:\n%s", stdout)
	}
}

// TestQuantizeInt8File: quantizing a file that is already int8 says so.
func TestQuantizeInt8File(t *testing.T) {
	_, _, err := run(t, "quantize", shippedInt8, "--calib", "fashion-mnist:/nonexistent", "-o", filepath.Join(t.TempDir(), "q.coatnet"))
	if err == nil || !strings.Contains(err.Error(), shippedInt8+" is already an int8 model") || strings.Contains(err.Error(), "unknown field") {
		t.Errorf("quantize of an int8 file: %v", err)
	}
}
