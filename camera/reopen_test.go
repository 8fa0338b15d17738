package camera

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeSource is a Source whose reads the test scripts. It notices reads
// that overlap and a Close during a read, which OpenCV would not survive.
type fakeSource struct {
	name     string
	next     func(ctx context.Context, i int64) (Frame, error) // i counts reads from 0
	reads    atomic.Int64                                      // reads started
	returned atomic.Int64                                      // reads finished
	inRead   atomic.Int32
	overlap  atomic.Bool
	closes   atomic.Int32
	badClose atomic.Bool // closed during a read
}

func (f *fakeSource) Next(ctx context.Context) (Frame, error) {
	if f.inRead.Add(1) > 1 {
		f.overlap.Store(true)
	}
	defer f.inRead.Add(-1)
	defer f.returned.Add(1)
	return f.next(ctx, f.reads.Add(1)-1)
}

func (f *fakeSource) Name() string { return f.name }

func (f *fakeSource) Close() error {
	if f.inRead.Load() > 0 {
		f.badClose.Store(true)
	}
	f.closes.Add(1)
	return nil
}

// check fails the test if the source was misused.
func (f *fakeSource) check(t *testing.T) {
	t.Helper()
	if f.overlap.Load() {
		t.Errorf("%s: reads overlapped", f.name)
	}
	if f.badClose.Load() {
		t.Errorf("%s: closed during a read", f.name)
	}
	if n := f.closes.Load(); n > 1 {
		t.Errorf("%s: closed %d times", f.name, n)
	}
}

// frames returns a Next that gives numbered frames whose Release counts
// into released.
func frames(released *atomic.Int64) func(context.Context, int64) (Frame, error) {
	return func(_ context.Context, i int64) (Frame, error) {
		return Frame{Index: i, Width: 1, Height: 1, Stride: 3, BGR: make([]byte, 3), release: func() { released.Add(1) }}, nil
	}
}

// failing returns a Next that gives n good frames and then err.
func failing(n int64, err error) func(context.Context, int64) (Frame, error) {
	return func(_ context.Context, i int64) (Frame, error) {
		if i < n {
			return Frame{Index: i}, nil
		}
		return Frame{}, err
	}
}

// opener plays a script of Open results, a *fakeSource or an error each,
// repeating the last one, and records how each call went.
type opener struct {
	mu     sync.Mutex
	script []any
	calls  int
	hook   func(call int) // called at the start of every Open
}

func (o *opener) open(ctx context.Context) (Source, error) {
	o.mu.Lock()
	call := o.calls
	o.calls++
	step := o.script[min(call, len(o.script)-1)]
	hook := o.hook
	o.mu.Unlock()
	if hook != nil {
		hook(call)
	}
	if err, ok := step.(error); ok {
		return nil, err
	}
	return step.(*fakeSource), nil
}

func (o *opener) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.calls
}

// logBuffer collects log lines from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), s)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// noLeaks fails the test if goroutines started during it are still there
// once its cleanups ran. Call it first, so its cleanup runs last.
func noLeaks(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Errorf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// eventually waits for cond, failing the test after a generous time.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// newTestReopening opens a Reopening on o, logging into the returned
// buffer, with back-off waits recorded instead of slept.
func newTestReopening(t *testing.T, o *opener, stall time.Duration) (*Reopening, *logBuffer, *[]time.Duration) {
	t.Helper()
	logs := &logBuffer{}
	// The random part of the back-off at its top: the waits are the
	// doubling ceilings.
	r, err := newReopening(context.Background(), ReopenConfig{
		Open:         o.open,
		StallTimeout: stall,
		Backoff:      10 * time.Millisecond,
		BackoffMax:   50 * time.Millisecond,
		Log:          slog.New(slog.NewTextHandler(logs, nil)),
	}, func() float64 { return 1 })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	waits := &[]time.Duration{}
	r.wait = func(ctx context.Context, d time.Duration) error {
		if !r.Stalled() {
			t.Errorf("back-off wait while not stalled")
		}
		*waits = append(*waits, d)
		if len(*waits) > 100 {
			return errors.New("test: reopening without end")
		}
		return ctx.Err()
	}
	return r, logs, waits
}

func TestReopeningPassesFramesThrough(t *testing.T) {
	noLeaks(t)
	var released atomic.Int64
	src := &fakeSource{name: "device 0", next: frames(&released)}
	r, _, waits := newTestReopening(t, &opener{script: []any{src}}, time.Minute)
	if r.Name() != "device 0" {
		t.Errorf("Name %q", r.Name())
	}
	var got []Frame
	for i := range 5 {
		f, err := r.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if f.Index != int64(i) || len(f.BGR) != 3 || f.Stride != 3 {
			t.Fatalf("frame %d: %+v", i, f)
		}
		got = append(got, f)
	}
	if released.Load() != 0 {
		t.Fatalf("%d frames released before their holder did", released.Load())
	}
	for _, f := range got {
		f.Release()
	}
	if released.Load() != 5 {
		t.Errorf("Release reached the source %d times, want 5", released.Load())
	}
	if r.Stalls() != 0 || r.Reopens() != 0 || r.Stalled() || len(*waits) != 0 {
		t.Errorf("stalls %d, reopens %d, stalled %v, waits %v", r.Stalls(), r.Reopens(), r.Stalled(), *waits)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if src.closes.Load() != 1 {
		t.Errorf("source closed %d times, want 1", src.closes.Load())
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := r.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Next after Close: %v, want ErrClosed", err)
	}
	src.check(t)
}

func TestReopeningStall(t *testing.T) {
	noLeaks(t)
	var lateReleased, released atomic.Int64
	unblock := make(chan struct{})
	blocked := &fakeSource{name: "stream rtsp://cam", next: func(_ context.Context, i int64) (Frame, error) {
		// Like an OpenCV read on a dead stream: ctx does not reach it.
		<-unblock
		return Frame{Index: i, release: func() { lateReleased.Add(1) }}, nil
	}}
	good := &fakeSource{name: "stream rtsp://cam", next: frames(&released)}
	o := &opener{script: []any{blocked, good}}
	const stall = 50 * time.Millisecond
	r, logs, waits := newTestReopening(t, o, stall)
	t.Cleanup(func() {
		select {
		case <-unblock:
		default:
			close(unblock)
		}
	})

	start := time.Now()
	f, err := r.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < stall {
		t.Errorf("stall detected after %v, before the %v timeout", d, stall)
	}
	if f.Index != 0 || good.reads.Load() != 1 {
		t.Errorf("frame %d after reopening, %d reads of the new source", f.Index, good.reads.Load())
	}
	f.Release()
	if r.Stalls() != 1 || r.Reopens() != 1 || r.Stalled() {
		t.Errorf("stalls %d, reopens %d, stalled %v; want 1, 1, false", r.Stalls(), r.Reopens(), r.Stalled())
	}
	if !slices.Equal(*waits, []time.Duration{10 * time.Millisecond}) {
		t.Errorf("back-off waits %v, want [10ms]", *waits)
	}
	if n := logs.count("camera stalled: no frame for 50ms"); n != 1 {
		t.Errorf("%d stall warnings, want 1:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), "rtsp://cam") {
		t.Errorf("the warning does not name the source:\n%s", logs)
	}

	// The blocked read still owns the old source: it must not be closed
	// under it, and is closed, with its late frame released, once the
	// read returns.
	time.Sleep(20 * time.Millisecond)
	if blocked.closes.Load() != 0 {
		t.Fatal("the old source was closed during its read")
	}
	close(unblock)
	eventually(t, "the old source to be closed", func() bool { return blocked.closes.Load() == 1 })
	if lateReleased.Load() != 1 {
		t.Errorf("late frame released %d times, want 1", lateReleased.Load())
	}
	if _, err := r.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r.Stalls() != 1 || blocked.reads.Load() != 1 {
		t.Errorf("stalls %d, reads of the stalled source %d", r.Stalls(), blocked.reads.Load())
	}
	blocked.check(t)
	good.check(t)
}

// A source that honours ctx (a folder waiting for its frame rate) is
// closed as soon as it is abandoned, not whenever its read would end.
func TestReopeningStallCancelsRead(t *testing.T) {
	noLeaks(t)
	waiting := &fakeSource{name: "a", next: func(ctx context.Context, _ int64) (Frame, error) {
		<-ctx.Done()
		return Frame{}, ctx.Err()
	}}
	var released atomic.Int64
	good := &fakeSource{name: "b", next: frames(&released)}
	r, _, _ := newTestReopening(t, &opener{script: []any{waiting, good}}, 20*time.Millisecond)
	if _, err := r.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the abandoned source to be closed", func() bool { return waiting.closes.Load() == 1 })
	if r.Stalls() != 1 {
		t.Errorf("%d stalls, want 1", r.Stalls())
	}
	waiting.check(t)
}

func TestReopeningAfterError(t *testing.T) {
	noLeaks(t)
	gone := errors.New("camera: device /dev/video0 gave no frame")
	first := &fakeSource{name: "device /dev/video0", next: failing(2, gone)}
	var released atomic.Int64
	second := &fakeSource{name: "device /dev/video0", next: frames(&released)}
	o := &opener{script: []any{first, second}}
	closedBeforeReopen := -1
	o.hook = func(call int) {
		if call == 1 {
			closedBeforeReopen = int(first.closes.Load())
		}
	}
	r, logs, waits := newTestReopening(t, o, time.Minute)
	for i := range 3 {
		f, err := r.Next(context.Background())
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if want := []int64{0, 1, 0}[i]; f.Index != want {
			t.Errorf("frame %d has index %d, want %d", i, f.Index, want)
		}
	}
	if r.Stalls() != 1 || r.Reopens() != 1 || r.Stalled() || len(*waits) != 1 {
		t.Errorf("stalls %d, reopens %d, stalled %v, waits %v", r.Stalls(), r.Reopens(), r.Stalled(), *waits)
	}
	// A V4L2 device stays busy until closed: close before opening again.
	if closedBeforeReopen != 1 {
		t.Errorf("the failed source was closed %d times before reopening, want 1", closedBeforeReopen)
	}
	if n := logs.count("gave no frame"); n != 1 {
		t.Errorf("the error was logged %d times, want 1:\n%s", n, logs)
	}
	first.check(t)
	second.check(t)
}

func TestReopeningBackoff(t *testing.T) {
	noLeaks(t)
	boom := errors.New("boom")
	refused := errors.New("connection refused")
	a := &fakeSource{name: "a", next: failing(0, boom)}
	b := &fakeSource{name: "b", next: failing(1, boom)} // one good frame, then fails
	c := &fakeSource{name: "c", next: failing(0, boom)} // opens, fails at once
	var released atomic.Int64
	d := &fakeSource{name: "d", next: frames(&released)}
	o := &opener{script: []any{a, refused, refused, refused, refused, b, c, d}}
	r, logs, waits := newTestReopening(t, o, time.Minute)

	f, err := r.Next(context.Background())
	if err != nil || f.Index != 0 || r.Name() != "b" {
		t.Fatalf("first frame: %v, %+v from %q", err, f, r.Name())
	}
	const ms = time.Millisecond
	// Doubling from 10ms, capped at 50ms, over four refused opens.
	if want := []time.Duration{10 * ms, 20 * ms, 40 * ms, 50 * ms, 50 * ms}; !slices.Equal(*waits, want) {
		t.Errorf("waits %v, want %v", *waits, want)
	}
	if n := logs.count("camera reopen failed"); n != 4 {
		t.Errorf("%d failed attempts logged, want 4:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), "retry_in=50ms") {
		t.Errorf("failed attempts do not say the next wait:\n%s", logs)
	}
	// b's good frame reset the back-off; c fails without a frame, so the
	// wait before d doubles.
	*waits = nil
	f, err = r.Next(context.Background())
	if err != nil || r.Name() != "d" {
		t.Fatalf("after b and c failed: %v, %+v from %q", err, f, r.Name())
	}
	f.Release()
	if want := []time.Duration{10 * ms, 20 * ms}; !slices.Equal(*waits, want) {
		t.Errorf("waits %v, want %v", *waits, want)
	}
	if r.Stalls() != 3 || r.Reopens() != 3 || o.count() != 8 {
		t.Errorf("stalls %d, reopens %d, opens %d; want 3, 3, 8", r.Stalls(), r.Reopens(), o.count())
	}
	for _, s := range []*fakeSource{a, b, c} {
		if s.closes.Load() != 1 {
			t.Errorf("%s closed %d times", s.name, s.closes.Load())
		}
		s.check(t)
	}
}

func TestReopeningCancelDuringBackoff(t *testing.T) {
	noLeaks(t)
	a := &fakeSource{name: "a", next: failing(0, errors.New("boom"))}
	o := &opener{script: []any{a, errors.New("refused")}}
	r, err := NewReopening(context.Background(), ReopenConfig{
		Open: o.open, StallTimeout: time.Minute, Backoff: time.Hour, BackoffMax: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := r.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next: %v, want the context's error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Next took %v to see its context end", d)
	}
	if o.count() != 1 || !r.Stalled() {
		t.Errorf("%d opens (want 1: the back-off was not over), stalled %v", o.count(), r.Stalled())
	}

	// Close wakes a Next waiting out its back-off too.
	errc := make(chan error)
	go func() {
		_, err := r.Next(context.Background())
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Next: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next still waiting after Close")
	}
	a.check(t)
}

func TestReopeningEOF(t *testing.T) {
	noLeaks(t)
	src := &fakeSource{name: "file clip.mp4", next: failing(1, io.EOF)}
	o := &opener{script: []any{src}}
	r, _, waits := newTestReopening(t, o, time.Minute)
	if _, err := r.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := r.Next(context.Background()); err != io.EOF {
			t.Fatalf("Next at the end: %v, want io.EOF", err)
		}
	}
	if r.Stalls() != 0 || r.Reopens() != 0 || r.Stalled() || o.count() != 1 || len(*waits) != 0 {
		t.Errorf("the end of a file was taken for a failure: stalls %d, reopens %d, opens %d", r.Stalls(), r.Reopens(), o.count())
	}
	src.check(t)
}

func TestReopeningCloseDuringBlockedRead(t *testing.T) {
	noLeaks(t)
	var released atomic.Int64
	unblock := make(chan struct{})
	reading := make(chan struct{}, 1)
	src := &fakeSource{name: "stream rtsp://cam", next: func(_ context.Context, i int64) (Frame, error) {
		reading <- struct{}{}
		<-unblock
		return Frame{Index: i, release: func() { released.Add(1) }}, nil
	}}
	r, _, _ := newTestReopening(t, &opener{script: []any{src}}, time.Hour)
	errc := make(chan error)
	go func() {
		_, err := r.Next(context.Background())
		errc <- err
	}()
	<-reading
	closed := make(chan error)
	go func() { closed <- r.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close waits for a read that never returns")
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("Next: %v, want ErrClosed", err)
	}
	if src.closes.Load() != 0 {
		t.Fatal("the source was closed during its read")
	}
	close(unblock)
	eventually(t, "the source to be closed after its read", func() bool { return src.closes.Load() == 1 })
	if released.Load() != 1 {
		t.Errorf("the frame nobody took was released %d times, want 1", released.Load())
	}
	src.check(t)
}

func TestReopeningKeepsReadAcrossCancel(t *testing.T) {
	noLeaks(t)
	unblock := make(chan struct{})
	var released atomic.Int64
	src := &fakeSource{name: "a", next: func(ctx context.Context, i int64) (Frame, error) {
		if i == 0 {
			<-unblock
		}
		return frames(&released)(ctx, i)
	}}
	const stall = 50 * time.Millisecond
	r, _, _ := newTestReopening(t, &opener{script: []any{src}}, stall)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := r.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next: %v, want the context's error", err)
	}
	close(unblock)
	eventually(t, "the read to return", func() bool { return src.returned.Load() == 1 })
	// Call again well after the read's stall deadline: its frame has been
	// waiting, so this is no stall and no second read was started.
	time.Sleep(2 * stall)
	f, err := r.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // time for a wrong second read to start
	if f.Index != 0 || src.reads.Load() != 1 || r.Stalls() != 0 {
		t.Errorf("frame %d, %d reads, %d stalls; want the first read's frame, 1, 0", f.Index, src.reads.Load(), r.Stalls())
	}
	f.Release()
	src.check(t)
}

func TestReopeningConfig(t *testing.T) {
	noLeaks(t)
	_, err := NewReopening(context.Background(), ReopenConfig{Backoff: time.Second})
	for _, want := range []string{"no Open", "stall timeout 0s", "maximum back-off 0s is below"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad config: %v, want it to say %q", err, want)
		}
	}
}

func TestReopeningNoAllocsPerFrame(t *testing.T) {
	noLeaks(t)
	var released atomic.Int64
	frame := Frame{BGR: make([]byte, 12), Width: 2, Height: 2, Stride: 6, release: func() { released.Add(1) }}
	src := &fakeSource{name: "a", next: func(context.Context, int64) (Frame, error) { return frame, nil }}
	r, _, _ := newTestReopening(t, &opener{script: []any{src}}, time.Second)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(200, func() {
		f, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		f.Release()
	})
	if allocs != 0 {
		t.Errorf("%v allocations per frame, want 0", allocs)
	}
	if released.Load() != 201 {
		t.Errorf("%d releases, want 201", released.Load())
	}
}

// TestReopeningFirstOpenFails: a camera missing at the start (a device
// not plugged in, a stream that is down, a file not there yet) is no
// error: it is logged, counted and retried with back-off until it opens.
func TestReopeningFirstOpenFails(t *testing.T) {
	noLeaks(t)
	refused := errors.New("connection refused")
	var released atomic.Int64
	good := &fakeSource{name: "stream rtsp://cam", next: frames(&released)}
	o := &opener{script: []any{refused, refused, good}}
	logs := &logBuffer{}
	r, err := NewReopening(context.Background(), ReopenConfig{
		Open: o.open, Name: "rtsp://cam", StallTimeout: time.Minute, Backoff: time.Millisecond,
		BackoffMax: 2 * time.Millisecond, Log: slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		t.Fatalf("first Open failing: %v, want the camera retried", err)
	}
	defer r.Close()
	if o.count() != 1 || !r.Stalled() || r.Available() || r.Stalls() != 1 || r.Name() != "rtsp://cam" {
		t.Errorf("after a failed first open: %d opens, stalled %v, available %v, %d stalls, name %q",
			o.count(), r.Stalled(), r.Available(), r.Stalls(), r.Name())
	}
	if !strings.Contains(logs.String(), "camera unavailable") || !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("the failed first open was not logged:\n%s", logs)
	}
	f, err := r.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f.Release()
	if o.count() != 3 || r.Stalled() || !r.Available() || r.Reopens() != 1 || r.Stalls() != 1 || r.Name() != "stream rtsp://cam" {
		t.Errorf("once open: %d opens, stalled %v, available %v, %d reopens, %d stalls, name %q",
			o.count(), r.Stalled(), r.Available(), r.Reopens(), r.Stalls(), r.Name())
	}
	if n := logs.count("camera reopen failed"); n != 1 {
		t.Errorf("%d failed retries logged, want 1:\n%s", n, logs)
	}
	good.check(t)
}

// TestReopeningBackoffJitter: the waits between reopen attempts are random
// within the doubling ceiling, so cameras that failed together do not
// retry together.
func TestReopeningBackoffJitter(t *testing.T) {
	noLeaks(t)
	boom := errors.New("boom")
	a := &fakeSource{name: "a", next: failing(0, boom)}
	var released atomic.Int64
	d := &fakeSource{name: "d", next: frames(&released)}
	script := []any{a}
	for range 40 {
		script = append(script, errors.New("refused"))
	}
	o := &opener{script: append(script, d)}
	r, _, waits := newTestReopening(t, o, time.Minute)
	r.bo.Rand = nil // the real random source
	f, err := r.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f.Release()
	seen := map[time.Duration]bool{}
	for i, w := range *waits {
		ceiling := min(10*time.Millisecond<<min(i, 10), 50*time.Millisecond)
		if w < 0 || w > ceiling {
			t.Errorf("wait %d: %v, outside [0, %v]", i, w, ceiling)
		}
		seen[w] = true
	}
	if len(*waits) != 41 || len(seen) < 30 {
		t.Errorf("%d waits, %d distinct: %v", len(*waits), len(seen), *waits)
	}
}
