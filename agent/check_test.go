package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheck: Check opens the model, a file or folder camera source and the
// MQTT files, and lists every one that does not open; a camera device
// need not exist.
func TestCheck(t *testing.T) {
	good := Defaults()
	good.Model.Path = "../models/fmnist-pre-int8.coatnet"
	good.Camera.Source = "../testdata/fashion"
	if err := Check(good); err != nil {
		t.Errorf("a good configuration: %v", err)
	}
	if err := Check(Defaults()); err != nil {
		t.Errorf("the demo: %v", err)
	}
	for _, src := range []string{"/dev/video97", "97", "rtsp://10.0.0.5/stream", "libcamerasrc ! videoconvert ! appsink drop=1"} {
		cfg := good
		cfg.Camera.Source = src
		if err := Check(cfg); err != nil {
			t.Errorf("camera %q: %v", src, err)
		}
	}

	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := good
	bad.Model.Path = "../testdata/fashion/pytorch-fmnist-pre.json" // not a model
	bad.Camera.Source = dir                                        // no pictures
	bad.MQTT.Broker, bad.MQTT.Username, bad.MQTT.PasswordFile = "mqtts://h:8883", "cam", filepath.Join(dir, "missing")
	bad.MQTT.CAFile = notPEM
	wantProblems(t, Check(bad), "model.path: ", "camera.source: camera: no .png or .jpg pictures in",
		"mqtt.password_file: open ", "mqtt: CA: no PEM certificate in")

	for src, want := range map[string]string{
		filepath.Join(dir, "missing.mp4"): "no such file",
		"rtsp:///stream":                  "needs a host",
		"v4l2src ! videoconvert":          "must end in appsink",
	} {
		cfg := good
		cfg.Camera.Source = src
		if err := Check(cfg); err == nil || !strings.Contains(err.Error(), "camera.source: ") || !strings.Contains(err.Error(), want) {
			t.Errorf("camera %q: %v, want %q", src, err, want)
		}
	}
	// An invalid value is reported before anything is opened.
	cfg := good
	cfg.Pipeline.TopK = 0
	if err := Check(cfg); err == nil || !strings.Contains(err.Error(), "pipeline.top_k") {
		t.Errorf("invalid top_k: %v", err)
	}
}
