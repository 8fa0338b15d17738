//go:build !nogocv

package agent

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
)

// writeTestVideo writes an MJPEG .avi of n grey 64x64 frames at fps.
func writeTestVideo(t *testing.T, n int, fps float64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "clip.avi")
	w, err := gocv.VideoWriterFile(path, "MJPG", fps, 64, 64, true)
	if err != nil {
		t.Fatal(err)
	}
	m := gocv.NewMatWithSize(64, 64, gocv.MatTypeCV8UC3)
	defer m.Close()
	for i := range n {
		m.SetTo(gocv.NewScalar(float64(i*7%256), 0, 0, 0))
		if err := w.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// stopAfter is a sink that ends the run after max messages.
type stopAfter struct {
	sink
	max  int
	stop context.CancelFunc
}

func (s *stopAfter) PublishLabels(m LabelsMessage) (uint64, error) {
	seq, err := s.sink.PublishLabels(m)
	if int(seq) >= s.max {
		s.stop()
	}
	return seq, err
}

// playVideo runs the agent's camera and pipeline, with a classifier that
// answers at once, on cfg's camera until the source ends or max messages
// are published, and returns them with when it started.
func playVideo(t *testing.T, cfg Config, max int) ([]LabelsMessage, time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	cam, err := openCamera(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer cam.close()
	out := &stopAfter{max: max, stop: cancel}
	p := Pipeline{Source: cam.frames, Classifier: &constantClassifier{logits: make([]float32, 10)},
		Labels: []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}, Sink: out, Camera: cam.src.Name(),
		Model: "fake", Config: cfg.Pipeline, Stats: &Stats{}}
	if err := p.Run(ctx); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("the video did not end: %d messages", len(out.msgs))
	}
	return out.msgs, start
}

// TestVideoFileEveryFrame: a video file plays at its own frame rate, not
// at pipeline.max_rate, so with no cap (max_rate 0) and a classifier that
// keeps up, every frame is classified once, in order, and the playback
// takes as long as the video lasts.
func TestVideoFileEveryFrame(t *testing.T) {
	// 10 fps: a busy machine gives the pipeline the CPU within 100 ms.
	const n, fps = 30, 10
	cfg := Defaults()
	cfg.Camera.Source, cfg.Camera.Loop = writeTestVideo(t, n, fps), false
	cfg.Pipeline.MaxRate = 0
	msgs, start := playVideo(t, cfg, n)
	if len(msgs) != n {
		t.Fatalf("%d of %d frames classified", len(msgs), n)
	}
	for i, m := range msgs {
		if m.Frame != int64(i) {
			t.Fatalf("message %d is frame %d", i, m.Frame)
		}
	}
	if d, want := msgs[n-1].Time.Sub(start), time.Duration(n-1)*time.Second/fps; d < want {
		t.Errorf("the last of %d frames at %d fps came after %v, want at least %v", n, fps, d, want)
	}
}

// TestVideoFileLoops: a looping file numbers its frames from 0 again on
// every pass, with loop counting the passes, and keeps its own rate
// across the loop.
func TestVideoFileLoops(t *testing.T) {
	const n, fps = 10, 10
	cfg := Defaults()
	cfg.Camera.Source, cfg.Camera.Loop = writeTestVideo(t, n, fps), true
	cfg.Pipeline.MaxRate = 0
	msgs, start := playVideo(t, cfg, 2*n+5)
	if len(msgs) != 2*n+5 {
		t.Fatalf("%d messages, want %d", len(msgs), 2*n+5)
	}
	for i, m := range msgs {
		if m.Frame != int64(i%n) || m.Loop != int64(i/n) {
			t.Fatalf("message %d is frame %d of loop %d, want %d of %d", i, m.Frame, m.Loop, i%n, i/n)
		}
	}
	last := msgs[len(msgs)-1]
	if d, want := last.Time.Sub(start), time.Duration(len(msgs)-1)*time.Second/fps; d < want {
		t.Errorf("the last of %d frames at %d fps came after %v, want at least %v", len(msgs), fps, d, want)
	}
	if b, err := json.Marshal(msgs[n+1]); err != nil || !strings.Contains(string(b), `"frame":1,"loop":1,`) {
		t.Errorf("the labels payload %s (%v) does not say frame 1 of loop 1", b, err)
	}
}

// TestVideoFileCameraFPS: camera.fps overrides the file's own rate, here
// with a slower one; every frame is still classified.
func TestVideoFileCameraFPS(t *testing.T) {
	const n, fps = 20, 10
	cfg := Defaults()
	cfg.Camera.Source, cfg.Camera.Loop = writeTestVideo(t, n, 4*fps), false
	cfg.Camera.FPS = fps
	cfg.Pipeline.MaxRate = 0
	msgs, start := playVideo(t, cfg, n)
	if len(msgs) != n {
		t.Fatalf("%d of %d frames classified", len(msgs), n)
	}
	if d, want := msgs[n-1].Time.Sub(start), time.Duration(n-1)*time.Second/fps; d < want {
		t.Errorf("the last of %d frames at camera.fps %d (the file says %d) came after %v, want at least %v",
			n, fps, 4*fps, d, want)
	}
}

// TestReloadVideoMaxRate: a reload that changes only pipeline.max_rate
// leaves a video file playing where it was, since the file's rate does
// not depend on it; a new camera.fps reopens it.
func TestReloadVideoMaxRate(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	cfg.Camera.Source, cfg.Camera.Loop = writeTestVideo(t, 100, 20), true
	cfg.Pipeline.MaxRate = 10
	topics := TopicsFor(&cfg)
	rec := record(t, b.URL, "test-recorder", cfg.MQTT.Prefix+"/#")
	var mu sync.Mutex
	next := cfg
	reload := make(chan struct{})
	log, stop := startAgent(t, cfg, Options{Reload: reload, LoadConfig: func() (Config, error) {
		mu.Lock()
		defer mu.Unlock()
		return next, nil
	}})
	waitFor(t, "labels", func() bool { return rec.count(topics.Labels) > 3 })
	mu.Lock()
	next.Pipeline.MaxRate = 5
	mu.Unlock()
	reload <- struct{}{}
	waitFor(t, "the reload", func() bool { return strings.Count(log.String(), "configuration reloaded") == 1 })
	if !strings.Contains(log.String(), "camera_reopened=false") {
		t.Errorf("a new max_rate reopened the video:\n%s", log.String())
	}
	mu.Lock()
	next.Camera.FPS = 25
	mu.Unlock()
	reload <- struct{}{}
	waitFor(t, "the second reload", func() bool { return strings.Count(log.String(), "configuration reloaded") == 2 })
	if !strings.Contains(log.String(), "camera_reopened=true") {
		t.Errorf("a new camera.fps did not reopen the video:\n%s", log.String())
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestVideoFileAtTheRateCap: with pipeline.max_rate the file's own rate
// (the demo's 5 and 5), the rate limit keeps step with the file, and every
// frame is classified: late wake-ups of the limit do not add up to a
// dropped frame (TestRateLimitKeepsStep shows it without a clock).
func TestVideoFileAtTheRateCap(t *testing.T) {
	const n, fps = 40, 10
	cfg := Defaults()
	cfg.Camera.Source, cfg.Camera.Loop = writeTestVideo(t, n, fps), false
	cfg.Pipeline.MaxRate = fps
	msgs, _ := playVideo(t, cfg, n)
	if len(msgs) != n {
		t.Fatalf("%d of %d frames classified at max_rate %d, the file's rate", len(msgs), n, fps)
	}
}
