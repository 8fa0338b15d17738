package camera

import (
	"context"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const samples = "../testdata/fashion"

func TestFolderPlaysInOrder(t *testing.T) {
	f, err := OpenFolder(samples, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx := context.Background()
	for i := range f.Len() {
		fr, err := f.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if fr.Index != int64(i) || fr.Image.Bounds().Dx() != 28 {
			t.Fatalf("frame %d: index %d, %v", i, fr.Index, fr.Image.Bounds())
		}
	}
	if _, err := f.Next(ctx); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last picture: %v, want io.EOF", err)
	}
	loop, err := OpenFolder(samples, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	// Positions start again at 0 with every pass, which Loop counts.
	for i := range 2*loop.Len() + 2 {
		fr, err := loop.Next(ctx)
		if err != nil {
			t.Fatalf("looping: %v", err)
		}
		if want, pass := int64(i%loop.Len()), int64(i/loop.Len()); fr.Index != want || fr.Loop != pass {
			t.Fatalf("picture %d of the playback: index %d loop %d, want %d and %d", i, fr.Index, fr.Loop, want, pass)
		}
	}
}

// TestPacerSchedule: frame k of a pass is due k/fps after the first
// however late each wake-up is (no drift); a loop starts the schedule
// again from its first frame, one interval after the last; a source far
// behind starts a new schedule instead of bursting.
func TestPacerSchedule(t *testing.T) {
	const fps = 30
	at := func(k int64) time.Duration { return time.Duration(float64(k) * float64(time.Second) / fps) }
	t0 := time.Unix(1000, 0)
	p := pacer{fps: fps}
	now := t0
	for k := range int64(3000) {
		d := p.due(now)
		if want := t0.Add(at(k)); !d.Equal(want) {
			t.Fatalf("frame %d due at %v, want %v", k, d.Sub(t0), want.Sub(t0))
		}
		now = d.Add(7 * time.Millisecond) // every wake-up late
	}
	// The loop: the frame due next is the first of a new pass.
	first := p.due(now)
	if want := t0.Add(at(3000)); !first.Equal(want) {
		t.Fatalf("the first frame of the second pass due at %v, want %v", first.Sub(t0), want.Sub(t0))
	}
	p.rewind()
	if p.n != 1 || !p.start.Equal(first) {
		t.Fatalf("after rewinding: start %v, %d scheduled", p.start.Sub(t0), p.n)
	}
	if d, want := p.due(first), first.Add(at(1)); !d.Equal(want) {
		t.Fatalf("the second frame of the second pass due at %v, want %v", d.Sub(t0), want.Sub(t0))
	}
	// Five seconds behind (a suspended process): a new schedule from now.
	late := first.Add(5 * time.Second)
	if d := p.due(late); !d.Equal(late) {
		t.Fatalf("far behind, the next frame is due at %v, want now (%v)", d.Sub(t0), late.Sub(t0))
	}
	if d, want := p.due(late), late.Add(at(1)); !d.Equal(want) {
		t.Fatalf("after catching up, the next frame is due at %v, want %v", d.Sub(t0), want.Sub(t0))
	}
	for _, fps := range []float64{0, math.Inf(1)} {
		p := pacer{fps: fps}
		if p.paced() {
			t.Errorf("fps %v waits", fps)
		}
	}
}

func TestFolderRate(t *testing.T) {
	f, err := OpenFolder(samples, 100, false)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for range 6 {
		if _, err := f.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// Five intervals of 10 ms at least; no upper bound (noisy machines).
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("6 frames at 100 fps took %v", d)
	}
}

func TestFolderErrors(t *testing.T) {
	if _, err := OpenFolder(samples, math.NaN(), false); err == nil {
		t.Error("a frame rate of NaN was accepted")
	}
	if _, err := OpenFolder(filepath.Join(t.TempDir(), "missing"), 0, false); err == nil {
		t.Error("a missing folder opened")
	}
	empty := t.TempDir()
	if _, err := OpenFolder(empty, 0, false); err == nil || !strings.Contains(err.Error(), "no .png") {
		t.Errorf("an empty folder: %v", err)
	}
	if err := os.WriteFile(filepath.Join(empty, "broken.png"), []byte("not a png"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := OpenFolder(empty, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Next(context.Background()); err == nil || !strings.Contains(err.Error(), "broken.png") {
		t.Errorf("a corrupt picture: %v", err)
	}
}

// counter is a source of n frames produced as fast as asked, counting
// the frames released.
type counter struct {
	n, i     int64
	closed   bool
	released atomic.Int64
	release  func()
}

func (c *counter) Next(ctx context.Context) (Frame, error) {
	if c.i >= c.n {
		return Frame{}, io.EOF
	}
	if c.release == nil {
		c.release = func() { c.released.Add(1) }
	}
	c.i++
	return Frame{Index: c.i - 1, Time: time.Now(), release: c.release}, nil
}
func (c *counter) Name() string { return "counter" }
func (c *counter) Close() error { c.closed = true; return nil }

// TestLatestKeepsNewest: a slow reader of a fast source sees ever newer
// frames, ends with the last one, then io.EOF; every frame is either seen
// or counted as dropped, and released once by Latest or by the reader.
func TestLatestKeepsNewest(t *testing.T) {
	src := &counter{n: 20000}
	l := NewLatest(context.Background(), src)
	last, seen := int64(-1), int64(0)
	for {
		fr, err := l.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if fr.Index <= last {
			t.Fatalf("frame %d after %d", fr.Index, last)
		}
		last = fr.Index
		seen++
		time.Sleep(50 * time.Microsecond)
		fr.Release()
	}
	if last != src.n-1 {
		t.Errorf("last frame seen %d, want %d", last, src.n-1)
	}
	if seen+l.Dropped() != src.n || l.Read() != src.n {
		t.Errorf("seen %d + dropped %d != read %d (produced %d)", seen, l.Dropped(), l.Read(), src.n)
	}
	if err := l.Close(); err != nil || !src.closed {
		t.Errorf("close: %v, source closed %v", err, src.closed)
	}
	if r := src.released.Load(); r != src.n {
		t.Errorf("%d of %d frames released", r, src.n)
	}
}

// TestLatestCloseReleasesUntaken: the frame waiting in Latest when it is
// closed is released.
func TestLatestCloseReleasesUntaken(t *testing.T) {
	src := &counter{n: 3}
	l := NewLatest(context.Background(), src)
	for l.Read() < 3 {
		time.Sleep(time.Millisecond)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if r := src.released.Load(); r != 3 {
		t.Errorf("%d of 3 frames released (none was taken)", r)
	}
}

// TestLatestNextHonoursContext: Next returns when its context ends even
// while the source has nothing new.
func TestLatestNextHonoursContext(t *testing.T) {
	f, err := OpenFolder(samples, 0.5, true) // one frame every 2 s
	if err != nil {
		t.Fatal(err)
	}
	l := NewLatest(context.Background(), f)
	defer l.Close()
	if _, err := l.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := l.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the context's deadline", err)
	}
}

// TestLatestCancelledBeforeFresh: a cancelled caller gets its context's
// error even while a fresh frame waits, so a slow pipeline stops when told
// instead of taking frame after frame.
func TestLatestCancelledBeforeFresh(t *testing.T) {
	src := &counter{n: 1}
	l := NewLatest(context.Background(), src)
	defer l.Close()
	for l.Read() < 1 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Next: %v", err)
	}
	if f, err := l.Next(context.Background()); err != nil || f.Index != 0 {
		t.Fatalf("the frame is still there afterwards: %v, %+v", err, f)
	}
}
