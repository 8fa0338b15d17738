package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckConfig: CheckConfig opens the model, a file or folder camera
// source and the MQTT files, and lists every one that does not open, with
// the file's other problems and their lines; a camera device need not
// exist.
func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(text string) string {
		t.Helper()
		path := filepath.Join(t.TempDir(), "agent.yaml")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	model, _ := filepath.Abs("../models/fmnist-pre-int8.coatnet")
	pictures, _ := filepath.Abs("../testdata/fashion")
	good := "model: {path: " + model + "}\ncamera: {source: %q}\n"
	for _, src := range []string{pictures, "/dev/video97", "97", "rtsp://10.0.0.5/stream",
		"libcamerasrc ! videoconvert ! appsink drop=1"} {
		if err := CheckConfig(write(strings.Replace(good, "%q", `"`+src+`"`, 1))); err != nil {
			t.Errorf("camera %q: %v", src, err)
		}
	}
	if err := CheckConfig(""); err != nil {
		t.Errorf("the defaults: %v", err)
	}

	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := write("model:\n  path: ../testdata/fashion/pytorch-fmnist-pre.json\n" + // not a model
		"camera: {source: " + dir + "}\n" + // no pictures
		"pipeline: {top_k: 0}\n" +
		"mqtt:\n  broker: mqtts://h:8883\n  username: cam\n  password_file: " + filepath.Join(dir, "missing") + "\n" +
		"  ca_file: " + notPEM + "\n")
	err := CheckConfig(bad)
	wantProblems(t, err, "line 2: model.path: modelfile: ../testdata/fashion/pytorch-fmnist-pre.json: not a coatnet model file",
		"line 3: camera.source: camera: no .png or .jpg pictures in", "line 4: pipeline.top_k: 0 must be",
		"line 8: mqtt.password_file: open ", "mqtt: CA: no PEM certificate in")
	if err != nil && !strings.HasPrefix(err.Error(), bad+": config: 5 problems:") {
		t.Errorf("does not name the file: %v", err)
	}

	for src, want := range map[string]string{
		filepath.Join(dir, "missing.mp4"): "no such file",
		"rtsp:///stream":                  "needs a host",
		"v4l2src ! videoconvert":          "must end in appsink",
	} {
		err := CheckConfig(write(strings.Replace(good, "%q", `"`+src+`"`, 1)))
		if err == nil || !strings.Contains(err.Error(), "line 2: camera.source: ") || !strings.Contains(err.Error(), want) {
			t.Errorf("camera %q: %v, want %q", src, err, want)
		}
	}
	// A key with a problem already is not opened as well.
	err = CheckConfig(write("model: {path: [a]}\n"))
	if err == nil || strings.Count(err.Error(), "model.path") != 1 {
		t.Errorf("model.path reported twice or not at all: %v", err)
	}
	if err := CheckConfig(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("a missing file: %v", err)
	}
}

// TestCheckConfigCameras: with cameras:, every camera's source and every
// region's model is opened, each model once, and named by its key.
func TestCheckConfigCameras(t *testing.T) {
	model, _ := filepath.Abs("../models/fmnist-pre-int8.coatnet")
	pictures, _ := filepath.Abs("../testdata/fashion")
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.yaml")
	text := "model: {path: " + model + "}\n" +
		"cameras:\n" +
		"  a:\n" +
		"    source: " + pictures + "\n" +
		"    regions: {x: {}, y: {model: " + model + "}}\n" +
		"  b:\n" +
		"    source: " + filepath.Join(dir, "missing.mp4") + "\n" +
		"    regions:\n" +
		"      z: {model: " + filepath.Join(dir, "missing.coatnet") + "}\n" +
		"      w: {model: " + filepath.Join(dir, "missing.coatnet") + "}\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	wantProblems(t, CheckConfig(path), "line 7: cameras.b.source: stat ", "line 10: cameras.b.regions.w.model: ")
}
