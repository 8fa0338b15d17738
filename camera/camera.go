// Package camera is where frames come from: sources behind one interface
// and Latest, which keeps only the newest frame of a source.
package camera

import (
	"context"
	"fmt"
	"image"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Frame is one picture from a source and when it was captured: a decoded
// Image (folders) or 8-bit BGR pixels straight from OpenCV's buffer. Whoever
// holds a frame calls Release once when done with it, so the source can
// reuse the buffer.
type Frame struct {
	Image image.Image
	// BGR holds Height rows of Width BGR pixels, Stride bytes apart, when
	// Image is nil. It is valid until Release.
	BGR                   []byte
	Width, Height, Stride int
	Time                  time.Time
	// Index is the frame's position in its source, from 0; a looping
	// video file or folder starts from 0 again, one Loop later.
	Index int64
	// Loop counts the times the source started again from its first
	// frame: 0 in the first pass, and always for a live camera.
	Loop    int64
	release func()
}

// NewFrame is a BGR frame from a source outside this package; release
// (nil: none) is called once when the frame's holder is done with pix.
func NewFrame(pix []byte, width, height, stride int, t time.Time, index int64, release func()) Frame {
	return Frame{BGR: pix, Width: width, Height: height, Stride: stride, Time: t, Index: index, release: release}
}

// Release hands the frame's buffer back to its source; a frame without one
// needs nothing.
func (f Frame) Release() {
	if f.release != nil {
		f.release()
	}
}

// Source produces frames. Next blocks until the next frame, ctx's end, or
// the source's end (io.EOF) or failure.
type Source interface {
	Next(ctx context.Context) (Frame, error)
	Name() string
	Close() error
}

// Latest reads a source on its own goroutine as fast as the source goes and
// keeps only the newest frame, so whoever calls Next never works on a stale
// queue however slow it is. Frames replaced before anyone took them are
// counted in Dropped and released.
type Latest struct {
	src     Source
	mu      sync.Mutex
	cond    *sync.Cond
	frame   Frame
	fresh   bool
	err     error
	dropped atomic.Int64
	read    atomic.Int64
	cancel  context.CancelFunc
	done    chan struct{}
}

// NewLatest starts reading src; Close stops it.
func NewLatest(ctx context.Context, src Source) *Latest {
	ctx, cancel := context.WithCancel(ctx)
	l := &Latest{src: src, cancel: cancel, done: make(chan struct{})}
	l.cond = sync.NewCond(&l.mu)
	go l.run(ctx)
	return l
}

func (l *Latest) run(ctx context.Context) {
	defer close(l.done)
	for {
		f, err := l.src.Next(ctx)
		l.mu.Lock()
		if err != nil {
			l.err = err
			l.cond.Broadcast()
			l.mu.Unlock()
			return
		}
		l.read.Add(1)
		if l.fresh {
			l.dropped.Add(1)
			l.frame.Release()
		}
		l.frame, l.fresh = f, true
		l.cond.Broadcast()
		l.mu.Unlock()
	}
}

// Next returns the newest frame not returned before, waiting for one; after
// the source ends or fails, its error (frames already read come first).
// The caller releases the frame.
func (l *Latest) Next(ctx context.Context) (Frame, error) {
	stop := context.AfterFunc(ctx, func() {
		l.mu.Lock()
		l.cond.Broadcast()
		l.mu.Unlock()
	})
	defer stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := ctx.Err(); err != nil {
		// Asked to stop: a waiting frame must not keep a caller going.
		return Frame{}, err
	}
	for !l.fresh && l.err == nil && ctx.Err() == nil {
		l.cond.Wait()
	}
	switch {
	case l.fresh:
		l.fresh = false
		return l.frame, nil
	case l.err != nil:
		return Frame{}, l.err
	default:
		return Frame{}, ctx.Err()
	}
}

// Dropped is how many frames were replaced by a newer one before Next.
func (l *Latest) Dropped() int64 { return l.dropped.Load() }

// Read is how many frames the source produced.
func (l *Latest) Read() int64 { return l.read.Load() }

// Close stops reading, releases a frame nobody took, and closes the
// source.
func (l *Latest) Close() error {
	l.cancel()
	<-l.done
	if l.fresh {
		l.fresh = false
		l.frame.Release()
	}
	return l.src.Close()
}

// DefaultFPS is the frame rate of a video file that states none usable,
// and the one a caller may choose for a folder of pictures, which has no
// rate of its own: a common video rate.
const DefaultFPS = 25

// maxFileFPS: a video file claiming more frames a second than this states
// no usable rate (a broken header, or a container without one).
const maxFileFPS = 1000

// Rate is the frame rate a source delivers at and where it comes from, for
// the log.
type Rate struct {
	// FPS is frames a second: +Inf for as fast as frames decode, 0 when a
	// live source does not say.
	FPS float64
	// From is "asked" (the rate given to Open), "file" (the video file's
	// own), "default" (DefaultFPS: the file states no usable rate) or
	// "source" (a live source's own, as OpenCV reports it).
	From string
	// Reported is what OpenCV reports (CAP_PROP_FPS), for captures.
	Reported float64
}

// RateOf is src's Rate, when it knows it: captures and folders do.
func RateOf(src Source) (Rate, bool) {
	if r, ok := src.(interface{ Rate() Rate }); ok {
		return r.Rate(), true
	}
	return Rate{}, false
}

// checkFPS rejects a rate that is negative or not a number; +Inf is as
// fast as frames decode.
func checkFPS(fps float64) error {
	if !(fps >= 0) {
		return fmt.Errorf("camera: frame rate %v is not zero or more", fps)
	}
	return nil
}

// resync: a source this far behind its schedule (a slow decode, a
// suspended process) starts a new one instead of bursting to catch up, as
// a camera drops the frames it could not deliver.
const resync = time.Second

// pacer spaces the frames of a file or folder at fps, as a camera would
// deliver them. Frame k of a pass is due at start + k/fps, so a late
// wake-up does not delay the frames after it (no drift). fps 0 or +Inf:
// no waiting.
type pacer struct {
	fps   float64
	start time.Time // when frame 0 of this pass was due; zero before any
	n     int64     // frames scheduled in this pass
	timer *time.Timer
}

func (p *pacer) paced() bool { return p.fps > 0 && !math.IsInf(p.fps, 1) }

// offset is when frame n is due after frame 0.
func (p *pacer) offset(n int64) time.Duration {
	return time.Duration(float64(n) * float64(time.Second) / p.fps)
}

// due schedules the next frame, now being now, and says when it is due.
func (p *pacer) due(now time.Time) time.Time {
	if p.start.IsZero() {
		p.start = now
	}
	d := p.start.Add(p.offset(p.n))
	if now.Sub(d) > resync {
		p.start, p.n, d = now, 0, now
	}
	p.n++
	return d
}

// rewind makes the frame scheduled last the first of a new pass: a looping
// source starts its schedule again, one interval after its last frame.
func (p *pacer) rewind() {
	if p.n > 0 {
		p.start, p.n = p.start.Add(p.offset(p.n-1)), 1
	}
}

// wait blocks until the next frame is due or ctx ends.
func (p *pacer) wait(ctx context.Context) error {
	if !p.paced() {
		return ctx.Err()
	}
	wait := time.Until(p.due(time.Now()))
	if wait <= 0 {
		return ctx.Err()
	}
	// One timer for the source's life: no allocation per frame.
	if p.timer == nil {
		p.timer = time.NewTimer(wait)
	} else {
		p.timer.Reset(wait)
	}
	select {
	case <-p.timer.C:
	case <-ctx.Done():
		p.timer.Stop()
	}
	return ctx.Err()
}
