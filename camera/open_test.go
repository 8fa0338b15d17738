package camera

import (
	"context"
	"strings"
	"testing"
	"time"
)

// stillSource delivers BGR frames stamped on a fake clock, 100 ms apart,
// whose pixels change only while changing is set.
type stillSource struct {
	pix      []byte
	now      time.Time
	changing bool
	released int
}

func (s *stillSource) Next(context.Context) (Frame, error) {
	s.now = s.now.Add(100 * time.Millisecond)
	if s.changing {
		s.pix[0]++
	}
	return Frame{BGR: s.pix, Width: 2, Height: 1, Stride: 6, Time: s.now, release: func() { s.released++ }}, nil
}
func (s *stillSource) Name() string { return "still" }
func (s *stillSource) Close() error { return nil }

// TestDetectFrozen: changing frames pass; the same pixels for the timeout
// are an error naming the source, and the guard starts over after it.
func TestDetectFrozen(t *testing.T) {
	src := &stillSource{pix: make([]byte, 6), now: time.Unix(0, 0), changing: true}
	g := DetectFrozen(src, time.Second)
	ctx := context.Background()
	for i := range 30 {
		if _, err := g.Next(ctx); err != nil {
			t.Fatalf("changing frame %d: %v", i, err)
		}
	}
	src.changing = false
	// The last changed frame starts the clock: nine repeats fit in 1 s.
	for i := range 9 {
		if _, err := g.Next(ctx); err != nil {
			t.Fatalf("repeat %d, under the timeout: %v", i, err)
		}
	}
	_, err := g.Next(ctx)
	if err == nil || !strings.Contains(err.Error(), "frozen") || !strings.Contains(err.Error(), "still") {
		t.Fatalf("after 1 s of the same frame: %v", err)
	}
	if src.released != 1 {
		t.Errorf("the frozen frame was released %d times, want 1", src.released)
	}
	if _, err := g.Next(ctx); err != nil {
		t.Errorf("the next frame after the error: %v", err)
	}
	if Live("../testdata/fashion") || Live("clip.mkv") || !Live("/dev/video0") || !Live("rtsp://cam/1") ||
		!Live("libcamerasrc ! appsink") {
		t.Error("Live misjudges a source")
	}
}
