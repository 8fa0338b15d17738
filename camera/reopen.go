package camera

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coatnet-edge/coatnet-edge/internal/backoff"
)

// ErrClosed is what Next returns after Close.
var ErrClosed = errors.New("camera: source closed")

// ErrBadFrame marks an error of one frame, not of the source: a picture
// of a folder that does not decode. Reopening logs, counts and skips it
// rather than reopening the source, which would start a folder again from
// its first picture and never get past the bad one.
var ErrBadFrame = errors.New("camera: unreadable frame skipped")

var _ Source = (*Reopening)(nil)

// ReopenConfig says how Reopening opens its source and when it gives up on
// one.
type ReopenConfig struct {
	// Open opens the underlying source: once at the start and again after
	// every stall or failure. It should honour ctx or time out by itself:
	// Next waits for it.
	Open func(ctx context.Context) (Source, error)
	// Name is what the source is called until it opens (then Name is
	// the source's own).
	Name string
	// StallTimeout: a read that gives no frame for this long is a stall.
	StallTimeout time.Duration
	// Backoff bounds the wait before the first reopen attempt; the bound
	// doubles with every attempt up to BackoffMax and starts again from
	// Backoff after a good frame, so a source that opens but fails at once
	// is not reopened in a tight loop. Each wait is random below its bound
	// (full jitter, at least a tenth of Backoff), so cameras that failed
	// together do not retry together.
	Backoff, BackoffMax time.Duration
	// Log receives the stalls, failures and reopens; nil discards them.
	Log *slog.Logger
}

// Reopening is a source that survives its camera: a read that hangs (an
// RTSP Read in OpenCV can block forever) or fails (a V4L2 device that
// vanished) makes it abandon the underlying source and open a new one,
// with back-off, instead of ending the stream; a source that does not open
// at the start is retried the same way. The end of a video file or folder
// (io.EOF) still ends it.
//
// Reads run on a goroutine of their own per underlying source, one at a
// time, because a blocked OpenCV read cannot be interrupted and its
// VideoCapture must not be closed while the read is in progress: an
// abandoned source is closed by that goroutine when (and if) its read
// returns, and a frame that read returns late is released there.
//
// Next must not be called concurrently, as with any Source; Close may be
// called at any time from any goroutine.
type Reopening struct {
	cfg   ReopenConfig
	log   *slog.Logger
	timer *time.Timer // stall timer and back-off wait, used by Next only
	// wait sleeps between reopen attempts; tests replace it to see the
	// back-off without waiting for it.
	wait func(ctx context.Context, d time.Duration) error

	// Owned by Next.
	pending  bool      // a read was asked of rd and its result not taken
	deadline time.Time // when the pending read becomes a stall
	bo       backoff.Policy
	attempt  int           // reopen attempts since the last good frame
	retryIn  time.Duration // the wait before the next reopen attempt

	mu      sync.Mutex
	rd      *reader // nil between abandoning a source and reopening
	name    string
	closed  bool
	closing chan struct{} // closed by Close, so a waiting Next returns

	stalled   atomic.Bool
	openSince atomic.Int64 // UnixNano when the Open in progress began; 0: none
	stalls    atomic.Int64
	reopens   atomic.Int64
	skipped   atomic.Int64
}

// NewReopening checks cfg and tries to open the source once. A source that
// does not open is no error: a camera unplugged, a stream that is down or
// a file not there yet may come later, so it is logged, counted as a
// stall and retried by Next with back-off (Available says whether a
// source is open). Only a wrong cfg is an error.
func NewReopening(ctx context.Context, cfg ReopenConfig) (*Reopening, error) {
	return newReopening(ctx, cfg, nil)
}

// newReopening is NewReopening with the back-off's random source (nil:
// the real one).
func newReopening(ctx context.Context, cfg ReopenConfig, rnd func() float64) (*Reopening, error) {
	var errs []error
	if cfg.Open == nil {
		errs = append(errs, errors.New("camera: reopening: no Open function"))
	}
	if cfg.StallTimeout <= 0 {
		errs = append(errs, fmt.Errorf("camera: reopening: stall timeout %v must be positive", cfg.StallTimeout))
	}
	if cfg.Backoff <= 0 {
		errs = append(errs, fmt.Errorf("camera: reopening: back-off %v must be positive", cfg.Backoff))
	}
	if cfg.BackoffMax < cfg.Backoff {
		errs = append(errs, fmt.Errorf("camera: reopening: maximum back-off %v is below the back-off %v", cfg.BackoffMax, cfg.Backoff))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	r := &Reopening{
		cfg:     cfg,
		log:     cfg.Log,
		timer:   time.NewTimer(time.Hour),
		bo:      backoff.Policy{Base: cfg.Backoff, Max: cfg.BackoffMax, Min: cfg.Backoff / 10, Rand: rnd},
		closing: make(chan struct{}),
		name:    cfg.Name,
	}
	r.timer.Stop()
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.wait = r.sleep
	src, err := r.open(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		r.stalls.Add(1)
		r.stalled.Store(true)
		r.retryIn = r.delay()
		r.log.Warn("camera unavailable; retrying", "source", cfg.Name, "err", err, "retry_in", r.retryIn)
		return r, nil
	}
	r.name = src.Name()
	r.rd = startReader(src, r.log)
	return r, nil
}

// open calls Open, noting how long it takes (see OpenElapsed).
func (r *Reopening) open(ctx context.Context) (Source, error) {
	r.openSince.Store(time.Now().UnixNano())
	defer r.openSince.Store(0)
	return open(ctx, r.cfg.Open)
}

// delay is the wait before the next reopen attempt.
func (r *Reopening) delay() time.Duration {
	d := r.bo.Delay(r.attempt)
	r.attempt++
	return d
}

// open calls Open, turning a nil source without an error into one so that
// a wrong Open cannot crash the reader later.
func open(ctx context.Context, fn func(context.Context) (Source, error)) (Source, error) {
	src, err := fn(ctx)
	if err == nil && src == nil {
		err = errors.New("camera: reopening: Open returned no source and no error")
	}
	return src, err
}

// Name is the name of the underlying source.
func (r *Reopening) Name() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.name
}

// Stalled is true from a stall or failure until the next good frame, so
// the agent can report the camera unavailable and stop its watchdog pings.
func (r *Reopening) Stalled() bool { return r.stalled.Load() }

// Available is true while a source is open: false between a failure or
// stall and the next successful open, and while a source that did not
// open at the start is retried.
func (r *Reopening) Available() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rd != nil
}

// OpenElapsed is how long the Open in progress has been running (0: none),
// so a supervisor can tell a camera waited for from one stuck opening.
func (r *Reopening) OpenElapsed() time.Duration {
	if t := r.openSince.Load(); t != 0 {
		return time.Since(time.Unix(0, t))
	}
	return 0
}

// Stalls is how many stalls and failures were seen, failed opens at the
// start included.
func (r *Reopening) Stalls() int64 { return r.stalls.Load() }

// Reopens is how many times the source was opened again successfully.
func (r *Reopening) Reopens() int64 { return r.reopens.Load() }

// Skipped is how many frames were skipped as unreadable (ErrBadFrame).
func (r *Reopening) Skipped() int64 { return r.skipped.Load() }

// Next returns the next frame of the underlying source, reopening it as
// often as it takes. It returns io.EOF when the source ends, ctx's error
// when ctx ends (a read in progress then carries on, and its frame is the
// next call's), and ErrClosed after Close.
func (r *Reopening) Next(ctx context.Context) (Frame, error) {
	for {
		if err := ctx.Err(); err != nil {
			return Frame{}, err
		}
		r.mu.Lock()
		rd, closed, name := r.rd, r.closed, r.name
		r.mu.Unlock()
		if closed {
			return Frame{}, ErrClosed
		}
		if rd == nil {
			var err error
			if rd, err = r.reopen(ctx, name); err != nil {
				return Frame{}, err
			}
		}
		if !r.pending {
			rd.req <- struct{}{} // never blocks: one read at a time, room for one
			r.pending, r.deadline = true, time.Now().Add(r.cfg.StallTimeout)
		}
		r.timer.Reset(time.Until(r.deadline))
		var (
			res result
			got bool
		)
		select {
		case res = <-rd.res:
			got = true
		case <-r.timer.C:
			// A frame that waited for a late call is no stall.
			select {
			case res = <-rd.res:
				got = true
			default:
			}
		case <-ctx.Done():
			r.timer.Stop()
			return Frame{}, ctx.Err()
		case <-r.closing:
			r.timer.Stop()
			return Frame{}, ErrClosed
		}
		r.timer.Stop()
		r.pending = false
		switch {
		case got && res.err == nil:
			r.stalled.Store(false)
			r.attempt = 0
			return res.frame, nil
		case got && errors.Is(res.err, io.EOF):
			res.frame.Release()
			return Frame{}, res.err
		case got && errors.Is(res.err, ErrBadFrame):
			r.skipped.Add(1)
			r.log.Warn("camera frame skipped", "source", name, "err", res.err)
			continue
		case got:
			res.frame.Release()
			r.log.Warn("camera failed, reopening", "source", name, "err", res.err)
		default:
			r.log.Warn("camera stalled: no frame for "+r.cfg.StallTimeout.String()+", reopening", "source", name)
		}
		r.stalls.Add(1)
		r.stalled.Store(true)
		r.retryIn = r.delay()
		r.mu.Lock()
		if r.rd == rd {
			r.rd = nil
		}
		r.mu.Unlock()
		// After a failure the reader is idle and this closes the source
		// before it is opened again (a V4L2 device stays busy until
		// closed); after a stall it leaves the closing to the reader.
		if err := rd.abandon(); err != nil {
			r.log.Warn("closing the failed camera", "source", name, "err", err)
		}
	}
}

// reopen opens the source again, waiting the back-off before each attempt,
// until it opens, ctx ends or Close is called.
func (r *Reopening) reopen(ctx context.Context, name string) (*reader, error) {
	for {
		if err := r.wait(ctx, r.retryIn); err != nil {
			return nil, err
		}
		src, err := r.open(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			r.retryIn = r.delay()
			r.log.Warn("camera reopen failed", "source", name, "err", err, "retry_in", r.retryIn)
			continue
		}
		rd := startReader(src, r.log)
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return nil, errors.Join(ErrClosed, rd.abandon())
		}
		r.rd, r.name = rd, src.Name()
		r.mu.Unlock()
		r.reopens.Add(1)
		r.log.Info("camera reopened", "source", src.Name())
		return rd, nil
	}
}

// sleep is the real back-off wait, on Next's timer.
func (r *Reopening) sleep(ctx context.Context, d time.Duration) error {
	r.timer.Reset(d)
	select {
	case <-r.timer.C:
		return nil
	case <-ctx.Done():
		r.timer.Stop()
		return ctx.Err()
	case <-r.closing:
		r.timer.Stop()
		return ErrClosed
	}
}

// Close closes the underlying source and makes Next return ErrClosed. It
// never waits for a read in progress, which may never return: that
// source is closed by its reader goroutine when the read returns, and
// Close reports no error for it. Close is idempotent.
func (r *Reopening) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	rd := r.rd
	r.rd = nil
	close(r.closing)
	r.mu.Unlock()
	if rd == nil {
		return nil
	}
	return rd.abandon()
}

// result is one read of an underlying source.
type result struct {
	frame Frame
	err   error
}

// reader owns one underlying source: its goroutine does every Next and the
// Close, so the source is never closed during a read.
type reader struct {
	src    Source
	log    *slog.Logger
	ctx    context.Context // ends when the source is abandoned
	cancel context.CancelFunc
	req    chan struct{} // a read is wanted; room for one
	res    chan result   // unbuffered: a frame is either taken or released here
	gone   chan struct{} // closed when the source is abandoned
	done   chan struct{} // closed after the source is closed
	err    error         // from Close, once done is closed

	mu        sync.Mutex
	busy      bool // in src.Next
	abandoned bool
	orphaned  bool // abandoned during a read: nobody waits for Close's error
}

func startReader(src Source, log *slog.Logger) *reader {
	ctx, cancel := context.WithCancel(context.Background())
	rd := &reader{
		src: src, log: log, ctx: ctx, cancel: cancel,
		req:  make(chan struct{}, 1),
		res:  make(chan result),
		gone: make(chan struct{}),
		done: make(chan struct{}),
	}
	go rd.run()
	return rd
}

func (rd *reader) run() {
	defer close(rd.done)
	for {
		select {
		case <-rd.req:
		case <-rd.gone:
			rd.close()
			return
		}
		rd.mu.Lock()
		if rd.abandoned {
			rd.mu.Unlock()
			rd.close()
			return
		}
		rd.busy = true
		rd.mu.Unlock()

		f, err := rd.src.Next(rd.ctx)

		rd.mu.Lock()
		rd.busy = false
		abandoned := rd.abandoned
		rd.mu.Unlock()
		if !abandoned {
			select {
			case rd.res <- result{f, err}:
				continue
			case <-rd.gone:
			}
		}
		// Nobody will take this frame: hand its buffer back.
		f.Release()
		rd.close()
		return
	}
}

func (rd *reader) close() {
	rd.err = rd.src.Close()
	rd.mu.Lock()
	orphaned := rd.orphaned
	rd.mu.Unlock()
	if orphaned && rd.err != nil {
		rd.log.Warn("closing the abandoned camera", "source", rd.src.Name(), "err", rd.err)
	}
}

// abandon tells the reader to close the source and stop. If no read is in
// progress it waits for that and returns Close's error; otherwise it
// returns nil at once and the reader closes the source after the read.
// Calling it again does nothing.
func (rd *reader) abandon() error {
	rd.mu.Lock()
	if rd.abandoned {
		rd.mu.Unlock()
		return nil
	}
	rd.abandoned = true
	busy := rd.busy
	rd.orphaned = busy
	rd.mu.Unlock()
	rd.cancel() // a source that honours ctx stops waiting
	close(rd.gone)
	if busy {
		return nil
	}
	<-rd.done
	return rd.err
}
