package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coatnet-edge/coatnet-edge/agent"
	"github.com/coatnet-edge/coatnet-edge/camera"
)

func TestNeedsGoCV(t *testing.T) {
	if camera.GoCV {
		t.Skip("this build has GoCV: it never hands over")
	}
	folder := t.TempDir()
	for source, want := range map[string]bool{
		"demo":                           true,
		"0":                              true,
		"/dev/video0":                    true,
		"rtsp://cam/stream":              true,
		"libcamerasrc ! appsink":         true,
		filepath.Join(folder, "v"):       true, // not there yet: maybe a video file
		folder:                           false,
		abs(t, "../../testdata/fashion"): false,
	} {
		if got := needsGoCV(source); got != want {
			t.Errorf("needsGoCV(%q) = %v, want %v", source, got, want)
		}
	}
}

// A file with cameras: hands over when any camera needs OpenCV, not only
// camera.source (which is unset there).
func TestGoCVSourceEveryCamera(t *testing.T) {
	if camera.GoCV {
		t.Skip("this build has GoCV: it never hands over")
	}
	folder := t.TempDir()
	cfg := agent.Defaults()
	cfg.Camera.Source = folder
	if s, need := gocvSource(cfg); need {
		t.Errorf("a folder camera: hands over for %q", s)
	}
	spec := func(source string) agent.CameraSpec {
		c := agent.CameraSpec{}
		c.Source = source
		return c
	}
	cfg.Camera = agent.Defaults().Camera
	cfg.Cameras = map[string]agent.CameraSpec{"a": spec(folder), "b": spec("rtsp://cam/stream")}
	if s, need := gocvSource(cfg); !need || s != "rtsp://cam/stream" {
		t.Errorf("cameras with a stream: %q, %v", s, need)
	}
	cfg.Cameras = map[string]agent.CameraSpec{"a": spec(folder)}
	if s, need := gocvSource(cfg); need {
		t.Errorf("cameras with only a folder: hands over for %q", s)
	}
}

func TestHelperPath(t *testing.T) {
	defer func(h string) { gocvHelper = h }(gocvHelper)
	gocvHelper = "/opt/x/coatnet-gocv"
	if p, err := helperPath(); err != nil || p != gocvHelper {
		t.Errorf("absolute: %q, %v", p, err)
	}
	gocvHelper = "../libexec/coatnet/coatnet-gocv"
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(filepath.Dir(filepath.Dir(exe)), "libexec/coatnet/coatnet-gocv")
	if p, err := helperPath(); err != nil || p != want {
		t.Errorf("relative: %q, %v; want %q", p, err, want)
	}
}

// pureBuild builds coatnet as the Makefile's build-pure does (CGO_ENABLED=0,
// -tags nogocv), stamped with the helper path the Makefile stamps, into
// ROOT/bin/coatnet, and returns ROOT; the helper belongs in
// ROOT/libexec/coatnet/coatnet-gocv.
func pureBuild(t *testing.T) string {
	t.Helper()
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goCmd); err != nil {
		if goCmd, err = exec.LookPath("go"); err != nil {
			t.Skip("no go command to build coatnet with")
		}
	}
	root := t.TempDir()
	cmd := exec.Command(goCmd, "build", "-tags", "nogocv", "-trimpath",
		"-ldflags", "-X main.gocvHelper=../libexec/coatnet/coatnet-gocv", "-o", filepath.Join(root, "bin", "coatnet"), ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return root
}

// fakeHelper writes a shell script at ROOT/libexec/coatnet/coatnet-gocv
// that records its PID, arguments and two environment variables in the
// file it returns, and exits 0.
func fakeHelper(t *testing.T, root string) string {
	t.Helper()
	record := filepath.Join(root, "record")
	script := fmt.Sprintf(`#!/bin/sh
{ echo "pid=$$"; for a in "$@"; do echo "arg=$a"; done
  echo "notify=$NOTIFY_SOCKET"; echo "mark=$COATNET_TEST_MARK"; } >%[1]s.tmp && mv %[1]s.tmp %[1]s
`, record)
	path := filepath.Join(root, "libexec", "coatnet", "coatnet-gocv")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return record
}

// runPure runs ROOT/bin/coatnet with args and env added, to its end.
func runPure(t *testing.T, root string, env []string, args ...string) (pid int, stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "bin", "coatnet"), args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.Is(err, syscall.ENOEXEC):
		t.Skipf("cannot run the built coatnet here: %v", err)
	case ctx.Err() != nil:
		t.Fatalf("coatnet %q still running after 2 minutes\n%s", args, errb.String())
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return cmd.Process.Pid, out.String(), errb.String(), code
}

// TestRunExecsGoCVHelper: the pure-Go build stamped with a helper path
// replaces itself with the helper (same PID, arguments and environment)
// for a camera and for the demo, runs the agent itself for a folder and
// `run --check` for anything, and says what to install when the helper is
// missing.
func TestRunExecsGoCVHelper(t *testing.T) {
	root := pureBuild(t)
	record := fakeHelper(t, root)
	dir := t.TempDir()
	model := abs(t, "../../models/fmnist-pre-int8.coatnet")
	config := func(name, source string) string {
		path := filepath.Join(dir, name)
		text := fmt.Sprintf("device: exec-cam\nstate_dir: %s\nmodel: {path: %s, threads: 1}\n"+
			"camera: {source: %q, loop: true}\nmqtt: {broker: mqtt://127.0.0.1:1}\n", dir, model, source)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	env := []string{"NOTIFY_SOCKET=/run/test/notify", "COATNET_TEST_MARK=kept", "XDG_STATE_HOME=" + dir, "STATE_DIRECTORY="}
	handedOver := func(what string, args ...string) {
		t.Helper()
		os.Remove(record)
		pid, _, stderr, code := runPure(t, root, env, args...)
		data, err := os.ReadFile(record)
		if err != nil || code != 0 {
			t.Fatalf("%s: the helper did not run (status %d, %v)\n%s", what, code, err, stderr)
		}
		want := fmt.Sprintf("pid=%d\n", pid)
		for _, a := range args {
			want += "arg=" + a + "\n"
		}
		want += "notify=/run/test/notify\nmark=kept\n"
		if string(data) != want {
			t.Errorf("%s: the helper recorded\n%s\nwant (the same process, arguments and environment)\n%s", what, data, want)
		}
	}
	camCfg := config("camera.yaml", "/dev/video-coatnet-test")
	handedOver("a V4L2 camera", "run", "--config", camCfg)
	handedOver("a stream", "run", "--config", config("rtsp.yaml", "rtsp://user:secret@cam.example/live"))
	handedOver("the demo", "run")
	handedOver("--log-level before run", "--log-level", "debug", "run", "--config", camCfg)

	os.Remove(record)
	if _, out, stderr, code := runPure(t, root, env, "run", "--check", "--config", camCfg); code != 0 || out != camCfg+": ok\n" {
		t.Errorf("run --check: status %d, stdout %q, stderr %q", code, out, stderr)
	}
	if _, err := os.Stat(record); err == nil {
		t.Error("run --check handed over to the GoCV helper")
	}

	// A folder runs here: the agent starts (READY=1 from this PID) and
	// stops on SIGTERM, and the helper never runs.
	socket, notes := listenNotify(t)
	cmd := exec.Command(filepath.Join(root, "bin", "coatnet"), "run", "--config", config("folder.yaml", abs(t, "../../testdata/fashion")))
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+socket, "STATE_DIRECTORY=")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	notes.wait(t, 0, "READY=1")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("folder: exit after SIGTERM: %v\n%s", err, errb.String())
	}
	if _, err := os.Stat(record); err == nil {
		t.Error("a folder source was handed over to the GoCV helper")
	}

	// Without the helper: an error that names it and what to install, and
	// no stream password.
	if err := os.RemoveAll(filepath.Join(root, "libexec")); err != nil {
		t.Fatal(err)
	}
	_, _, stderr, code := runPure(t, root, env, "run", "--config", config("rtsp2.yaml", "rtsp://user:secret@cam.example/live"))
	helper := filepath.Join(root, "libexec", "coatnet", "coatnet-gocv")
	for _, want := range []string{"needs OpenCV", helper, "not installed", "apt-get install --reinstall coatnet-edge", "make install"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("missing helper: stderr lacks %q: %q", want, stderr)
		}
	}
	if code != 1 || strings.Contains(stderr, "secret") {
		t.Errorf("missing helper: status %d, stderr %q", code, stderr)
	}
}
