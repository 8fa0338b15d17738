package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
)

// npmArch is onnxruntime-node's folder name for each GOARCH it ships a
// Linux library for.
var npmArch = map[string]string{"amd64": "x64", "arm64": "arm64"}

// fetchORT returns ONNX Runtime's shared library from the cache, taking it
// out of the npm package onnxruntime-node (`npm pack`: the tarball only,
// no install scripts run) the first time.
func fetchORT(ctx context.Context, o *options, stderr io.Writer) (string, error) {
	arch := npmArch[runtime.GOARCH]
	if runtime.GOOS != "linux" || arch == "" {
		return "", skipf("onnxruntime-node ships ONNX Runtime for linux x64 and arm64, not %s/%s (give -ort-lib)", runtime.GOOS, runtime.GOARCH)
	}
	dir := filepath.Join(o.cache, "onnxruntime-"+o.ortVersion)
	lib := filepath.Join(dir, "libonnxruntime.so")
	if _, err := os.Stat(lib); err == nil {
		return lib, nil
	}
	npm, err := exec.LookPath(o.npm)
	if err != nil {
		return "", skipf("no %s to fetch ONNX Runtime from the npm package onnxruntime-node (Debian: apt-get install npm)", o.npm)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(dir, "pack")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	pkg := "onnxruntime-node@" + o.ortVersion
	fmt.Fprintf(stderr, "peerbench: npm pack %s (about 110 MB, once)\n", pkg)
	cmd := exec.CommandContext(ctx, npm, "pack", pkg, "--pack-destination", tmp, "--silent")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", skipf("npm pack %s: %v: %s", pkg, err, strings.TrimSpace(out.String()))
	}
	tgz, err := filepath.Glob(filepath.Join(tmp, "*.tgz"))
	if err != nil || len(tgz) != 1 {
		return "", fmt.Errorf("npm pack %s left %d tarballs in %s", pkg, len(tgz), tmp)
	}
	want := "linux/" + arch + "/libonnxruntime.so"
	if err := extract(tgz[0], want, lib); err != nil {
		return "", fmt.Errorf("%s: %w", pkg, err)
	}
	fmt.Fprintf(stderr, "peerbench: wrote %s\n", lib)
	return lib, nil
}

// extract writes the one regular file of the tarball whose path has a
// folder ending in want's folder and a name starting with want's name
// (package/bin/napi-v6/linux/x64/libonnxruntime.so.1) to dst.
func extract(tgz, want, dst string) error {
	f, err := os.Open(tgz)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return fmt.Errorf("no %s* in the package", want)
		}
		if err != nil {
			return err
		}
		dir, name := path.Split(h.Name)
		if h.Typeflag != tar.TypeReg || !strings.HasSuffix(dir, path.Dir(want)+"/") || !strings.HasPrefix(name, path.Base(want)) {
			continue
		}
		tmp := dst + ".tmp"
		w, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		_, err = io.Copy(w, tr)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(tmp)
			return err
		}
		return os.Rename(tmp, dst)
	}
}

// exportONNX returns the case's float32 and int8 ONNX models from the
// cache, made by the export script with PyTorch when missing or older than
// the script.
func exportONNX(ctx context.Context, o *options, caseDir string, stderr io.Writer) (string, string, error) {
	name := filepath.Base(caseDir)
	fp32 := filepath.Join(o.cache, name+"-fp32.onnx")
	int8 := filepath.Join(o.cache, fmt.Sprintf("%s-int8-calib%d.onnx", name, o.calib))
	script, err := os.Stat(o.export)
	if err != nil {
		return "", "", fmt.Errorf("the export script: %w (run from the repository root, or give -export)", err)
	}
	if newer(fp32, script.ModTime().Unix()) && newer(int8, script.ModTime().Unix()) {
		return fp32, int8, nil
	}
	var out bytes.Buffer
	check := exec.CommandContext(ctx, o.python, "-c", "import torch, onnx")
	check.Stdout, check.Stderr = &out, &out
	if err := check.Run(); err != nil {
		return "", "", skipf("%s cannot import torch and onnx, which export the model to ONNX (Debian: apt-get install python3-torch python3-onnx): %v %s",
			o.python, err, lastLine(out.String()))
	}
	if err := os.MkdirAll(o.cache, 0o755); err != nil {
		return "", "", err
	}
	fmt.Fprintf(stderr, "peerbench: exporting %s to ONNX with PyTorch (%s)\n", name, o.export)
	cmd := exec.CommandContext(ctx, o.python, o.export, caseDir, "--fp32", fp32, "--int8", int8, "--calib", fmt.Sprint(o.calib))
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return "", "", fmt.Errorf("%s %s: %w", o.python, o.export, err)
	}
	return fp32, int8, nil
}

// newer reports whether the file exists and was modified at or after t.
func newer(file string, t int64) bool {
	st, err := os.Stat(file)
	return err == nil && st.ModTime().Unix() >= t
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}
