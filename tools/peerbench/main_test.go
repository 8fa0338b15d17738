package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/conformance"
)

func runArgs(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestBadArguments(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-threads", "0"}, "-threads"},
		{[]string{"-threads", "1,x"}, "-threads"},
		{[]string{"-engines", "ort-fp32,tflite"}, `unknown engine "tflite"`},
		{[]string{"-rounds", "0"}, "-rounds 0"},
		{[]string{"-round-time", "-1s"}, "must not be negative"},
		{[]string{"-calib", "0"}, "-calib 0"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"-no-such-flag"}, "no-such-flag"},
	} {
		code, _, stderr := runArgs(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
	if code, _, stderr := runArgs(t, "-h"); code != 0 || !strings.Contains(stderr, "-round-time") {
		t.Errorf("-h: exit %d, stderr %q", code, stderr)
	}
}

// TestSkips: what the machine lacks ends the run with a message and exit
// status 0, before anything is built.
func TestSkips(t *testing.T) {
	cache := t.TempDir()
	bad := filepath.Join(cache, "not-a-library.so")
	if err := os.WriteFile(bad, []byte("text"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no case", []string{"-cases", t.TempDir()}, "no conformance case coatnet_nano_rw_224_224_s1"},
		{"no npm", []string{"-npm", filepath.Join(cache, "no-npm")}, "no " + filepath.Join(cache, "no-npm") + " to fetch ONNX Runtime"},
		{"library does not load", []string{"-ort-lib", bad}, "does not load"},
	} {
		if _, err := os.Stat(filepath.Join(conformance.Dir(), "coatnet_nano_rw_224_224_s1")); err != nil && tc.name != "no case" {
			t.Logf("%s: no conformance cases here, the case check skips first", tc.name)
			tc.want = "no conformance case"
		}
		code, stdout, stderr := runArgs(t, append([]string{"-cache", cache, "-cases", conformance.Dir()}, tc.args...)...)
		if code != 0 || !strings.Contains(stdout, "skipped: ") || !strings.Contains(stdout, tc.want) || !strings.Contains(stdout, "not a failure") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 0 and %q", tc.name, code, stdout, stderr, tc.want)
		}
	}
}

// ortLib is the library `make bench-peers` fetched, or $PEERBENCH_ORT_LIB.
func ortLib(t *testing.T) string {
	lib := os.Getenv("PEERBENCH_ORT_LIB")
	if lib == "" {
		lib = filepath.Join("..", "..", "bin", "bench-peers", "onnxruntime-1.30.0", "libonnxruntime.so")
	}
	if _, err := os.Stat(lib); err != nil {
		t.Skipf("no ONNX Runtime library (make bench-peers fetches one; or set PEERBENCH_ORT_LIB): %v", err)
	}
	abs, err := filepath.Abs(lib)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

const python = "/usr/bin/python3"

func havePyTorch(t *testing.T) {
	if err := exec.Command(python, "-c", "import torch, onnx").Run(); err != nil {
		t.Skipf("%s cannot import torch and onnx: %v", python, err)
	}
}

// TestTinyRun exports the small conformance case, quantizes it both ways
// and runs every engine twice at 1 and 2 threads.
func TestTinyRun(t *testing.T) {
	lib := ortLib(t)
	havePyTorch(t)
	if _, err := os.Stat(filepath.Join(conformance.Dir(), "tiny_nano_rw_64_s3")); err != nil {
		t.Skip(err)
	}
	code, stdout, stderr := runArgs(t, "-case", "tiny_nano_rw_64_s3", "-cases", conformance.Dir(), "-cache", t.TempDir(),
		"-ort-lib", lib, "-export", "../train/export_onnx.py", "-python", python,
		"-rounds", "2", "-round-time", "0", "-warmup", "0", "-calib", "2", "-threads", "1,2")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	t.Log(stdout)
	for _, th := range []string{"1", "2"} {
		for _, e := range allEngines {
			if !regexp.MustCompile(`(?m)^` + th + ` +` + regexp.QuoteMeta(label[e]) + ` +2 `).MatchString(stdout) {
				t.Errorf("no row of 2 runs for %s at %s threads", label[e], th)
			}
		}
	}
	// The float engines run the same weights: their logits agree closely.
	if !strings.Contains(stdout, "logits of coatnet-edge float32 against ONNX Runtime fp32 on the case input: max |d| ") ||
		!strings.Contains(stdout, "same top-1: true") {
		t.Errorf("no agreement lines:\n%s", stdout)
	}
}

// TestPythonMissing: with the library but without PyTorch, the run skips.
func TestPythonMissing(t *testing.T) {
	lib := ortLib(t)
	if _, err := os.Stat(filepath.Join(conformance.Dir(), "tiny_nano_rw_64_s3")); err != nil {
		t.Skip(err)
	}
	code, stdout, stderr := runArgs(t, "-case", "tiny_nano_rw_64_s3", "-cases", conformance.Dir(), "-cache", t.TempDir(),
		"-ort-lib", lib, "-export", "../train/export_onnx.py", "-python", filepath.Join(t.TempDir(), "python3"))
	if code != 0 || !strings.Contains(stdout, "cannot import torch and onnx") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
