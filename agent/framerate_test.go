package agent

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/coatnet-edge/coatnet-edge/camera"
)

// TestCameraFPSConfig: camera.fps is decoded, and a rate that is negative,
// not a number, too high or so low that its frames would count as stalls
// is an error naming the key.
func TestCameraFPSConfig(t *testing.T) {
	cfg, err := ParseConfig([]byte("camera: {fps: 12.5}\n"))
	if err != nil || cfg.Camera.FPS != 12.5 {
		t.Fatalf("camera.fps 12.5: %v, %+v", err, cfg.Camera)
	}
	for _, fps := range []float64{-1, math.NaN(), math.Inf(1), 1001, 0.05} {
		cfg := Defaults()
		cfg.Camera.FPS = fps
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "camera.fps") {
			t.Errorf("camera.fps %v: %v", fps, err)
		}
	}
	cfg = Defaults()
	cfg.Camera.FPS, cfg.Camera.StallTimeout = 0.5, 3*time.Second
	if err := cfg.Validate(); err != nil {
		t.Errorf("a frame every 2s with stall_timeout 3s: %v", err)
	}
}

// TestSourceFPS: what the camera is asked to play at. camera.fps wins; a
// folder has no rate of its own and plays at the classification rate (or
// the default without one); a file or live camera keeps its own (0),
// whatever pipeline.max_rate is.
func TestSourceFPS(t *testing.T) {
	for _, c := range []struct {
		source       string
		fps, maxRate float64
		want         float64
	}{
		{"../testdata/fashion", 0, 5, 5},
		{"../testdata/fashion", 0, 0, camera.DefaultFPS},
		{"../testdata/fashion", 12, 5, 12},
		{"clip.mkv", 0, 5, 0},
		{"clip.mkv", 30, 5, 30},
		{"/dev/video0", 0, 2, 0},
		{"/dev/video0", 15, 2, 15},
		{Demo, 0, 5, 0},
	} {
		if c.source == Demo {
			// Even where a folder is named demo (the repository's root):
			// it stands for the demo video. The last case.
			t.Chdir("..")
		}
		cfg := Defaults()
		cfg.Camera.Source, cfg.Camera.FPS, cfg.Pipeline.MaxRate = c.source, c.fps, c.maxRate
		if got := sourceFPS(cfg); got != c.want {
			t.Errorf("%s with camera.fps %v, max_rate %v: %v, want %v", c.source, c.fps, c.maxRate, got, c.want)
		}
	}
}
