// Package camera is where frames come from: sources behind one interface
// and Latest, which keeps only the newest frame of a source.
package camera

import (
	"context"
	"image"
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
	Index                 int64 // position in the source, from 0
	release               func()
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

// pacer spaces frames of a file or folder source to a frame rate, as a
// camera would deliver them (rate 0: as fast as they decode).
type pacer struct {
	rate float64
	next time.Time
}

// wait blocks until the next frame is due or ctx ends.
func (p *pacer) wait(ctx context.Context) error {
	if p.rate <= 0 {
		return ctx.Err()
	}
	if wait := time.Until(p.next); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	p.next = time.Now().Add(time.Duration(float64(time.Second) / p.rate))
	return ctx.Err()
}
