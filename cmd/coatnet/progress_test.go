package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestProgressOffATerminal: eval and quantize, writing to a buffer as to
// a log, report progress in a few plain lines without \r; --no-progress
// turns it off.
func TestProgressOffATerminal(t *testing.T) {
	dir := t.TempDir()
	m := greyModel(t, dir)
	writeFashionLike(t, dir, 300)
	writeIDXSplit(t, dir, "train", 16)
	// check looks for one line of each pass in want, and at most 12 lines
	// of progress per pass: every tenth and the last.
	check := func(what, stderr string, want ...string) {
		t.Helper()
		if strings.Contains(stderr, "\r") {
			t.Errorf("%s: stderr holds \\r: %q", what, stderr)
		}
		if n := strings.Count(stderr, "\n"); n > 12*len(want) {
			t.Errorf("%s: %d lines of progress:\n%s", what, n, stderr)
		}
		for _, w := range want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", what, w, stderr)
			}
		}
	}
	_, stderr, err := run(t, "eval", m, "--dataset", "fashion-mnist:"+dir, "--threads", "2")
	if err != nil {
		t.Fatal(err)
	}
	check("eval", stderr, "eval fashion-mnist test: 300/300 (100%) in ")
	q := filepath.Join(dir, "q.coatnet")
	_, stderr, err = run(t, "quantize", m, "--calib", "fashion-mnist:"+dir, "--images", "16", "--measure", "8", "--refine", "2", "-o", q)
	if err != nil {
		t.Fatal(err)
	}
	check("quantize", stderr, "calibrate: 16/16 (100%) in ", "\nrefine: ", "measure: 8/8 (100%) in ")
	_, stderr, err = run(t, "eval", m, "--dataset", "fashion-mnist:"+dir, "--limit", "20", "--no-progress")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stderr, "eval fashion-mnist") {
		t.Errorf("--no-progress still reports progress:\n%s", stderr)
	}
}
