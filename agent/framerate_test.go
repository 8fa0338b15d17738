package agent

import (
	"math"
	"math/rand/v2"
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

// TestRateLimitKeepsStep plays a source at exactly the rate limit, the
// limit's wake-ups late by up to 70% of an interval, the hand-over of a
// frame the pipeline waits for by up to 20%, and classification taking a
// tenth: the schedule does not drift, so every frame is classified once.
// (Making the next slot one interval after the frame was taken, as the
// limit did, loses a frame for every interval the lateness adds up to.)
// No interval holds more than two frames.
func TestRateLimitKeepsStep(t *testing.T) {
	const interval = 20 * time.Millisecond
	const n = 2000
	r := rand.New(rand.NewPCG(1, 2))
	late := func(max float64) time.Duration { return time.Duration(r.Float64() * max * float64(interval)) }
	t0 := time.Unix(1000, 0)
	arrival := func(k int) time.Time { return t0.Add(time.Duration(k) * interval) }
	var slot time.Time
	now := t0.Add(-interval) // the pipeline starts before the first frame
	var taken []time.Time
	got := -1 // the newest frame taken
	for got < n-1 {
		next := slot.Add(interval)
		wake := now
		if next.After(now) {
			wake = next.Add(late(0.7))
		}
		// The newest frame there at wake, or the next one to come.
		k, at := int(wake.Sub(t0)/interval), wake
		if wake.Before(t0) || k <= got {
			k, at = got+1, arrival(got+1).Add(late(0.2))
		}
		if k = min(k, n-1); k != got+1 {
			t.Fatalf("frame %d taken after %d: %d dropped", k, got, k-got-1)
		}
		got = k
		taken = append(taken, at)
		slot = rateSlot(next, at, interval)
		now = at.Add(interval / 10)
	}
	for i := range taken {
		j := i // the last frame within one interval of frame i
		for j+1 < len(taken) && taken[j+1].Sub(taken[i]) < interval {
			j++
		}
		if j-i+1 > 2 {
			t.Fatalf("%d frames within %v from %v", j-i+1, interval, taken[i].Sub(t0))
		}
	}
	// Taken an interval late or more: the schedule starts again.
	if s, at := rateSlot(t0, t0.Add(time.Hour), interval), t0.Add(time.Hour); !s.Equal(at) {
		t.Errorf("a frame an hour late keeps the slot %v", s.Sub(t0))
	}
	if s := rateSlot(time.Time{}, t0, 0); !s.Equal(t0) {
		t.Errorf("without a limit the slot is %v, not when the frame was taken", s)
	}
}
