package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Hub fans one MJPEG stream out to its clients. Publish copies each frame
// into a buffer of the hub's own (reused once no client holds it); every
// client sends only the newest frame when it is ready for one, at most
// Limits.StreamFPS a second, so a slow client skips frames instead of
// queueing them and the producer never waits for any client.
type Hub struct {
	limits Limits

	mu      sync.Mutex
	cur     *frame   // newest; nil while nobody watches
	free    []*frame // buffers no client holds
	seq     uint64
	clients map[*client]struct{}
	closed  bool

	watchers atomic.Int32
}

// frame is one published JPEG, held by the hub while newest and by each
// client sending it.
type frame struct {
	buf  []byte
	seq  uint64
	refs int
}

type client struct {
	wake chan struct{} // a frame newer than the last sent may be there
	end  context.CancelFunc
	part []byte // the part header, reused
}

// NewHub makes a Hub with the stream limits of l (MaxStreams, StreamFPS,
// WriteTimeout).
func NewHub(l Limits) *Hub {
	return &Hub{limits: l.withDefaults(), clients: map[*client]struct{}{}}
}

// Watchers is the number of clients: while it is 0 the producer need not
// encode frames, and Publish does nothing.
func (h *Hub) Watchers() int { return int(h.watchers.Load()) }

// Publish makes jpeg the stream's newest frame. It copies jpeg (the caller
// may reuse it) and never waits for a client.
func (h *Hub) Publish(jpeg []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || len(h.clients) == 0 {
		return
	}
	var f *frame
	if n := len(h.free); n > 0 {
		f, h.free = h.free[n-1], h.free[:n-1]
	} else {
		f = new(frame)
	}
	if cap(f.buf) < len(jpeg) {
		f.buf = make([]byte, len(jpeg), len(jpeg)+len(jpeg)/4) // room for the next, a little larger
	}
	f.buf = f.buf[:len(jpeg)]
	copy(f.buf, jpeg)
	h.seq++
	f.seq, f.refs = h.seq, 1
	h.dropCurrent()
	h.cur = f
	for c := range h.clients {
		select {
		case c.wake <- struct{}{}:
		default: // already woken; it will take the newest
		}
	}
}

// dropCurrent releases the hub's hold on the newest frame. h.mu is held.
func (h *Hub) dropCurrent() {
	if h.cur != nil {
		h.releaseLocked(h.cur)
		h.cur = nil
	}
}

func (h *Hub) releaseLocked(f *frame) {
	if f.refs--; f.refs == 0 {
		h.free = append(h.free, f)
	}
}

func (h *Hub) release(f *frame) {
	h.mu.Lock()
	h.releaseLocked(f)
	h.mu.Unlock()
}

// take holds the newest frame if it is newer than seq; nil if not.
func (h *Hub) take(seq uint64) *frame {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.cur
	if f == nil || f.seq == seq {
		return nil
	}
	f.refs++
	return f
}

func (h *Hub) join(c *client) (code int, msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return http.StatusServiceUnavailable, "stream closed"
	}
	if len(h.clients) >= h.limits.MaxStreams {
		return http.StatusServiceUnavailable, fmt.Sprintf("at most %d clients watch this stream at once", h.limits.MaxStreams)
	}
	h.clients[c] = struct{}{}
	h.watchers.Store(int32(len(h.clients)))
	if h.cur != nil {
		c.wake <- struct{}{}
	}
	return 0, ""
}

func (h *Hub) leave(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.clients, c)
	h.watchers.Store(int32(len(h.clients)))
	if len(h.clients) == 0 {
		h.dropCurrent() // a later client gets a fresh frame, not this one
	}
}

// Close ends every client's stream and refuses new ones (503).
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for c := range h.clients {
		c.end()
	}
	h.dropCurrent()
}

// ServeHTTP streams the frames as multipart/x-mixed-replace (boundary
// "frame"; HEAD gets the header only) until the client leaves or stops
// reading for WriteTimeout, the Hub is closed, or the Server shuts down.
// Beyond MaxStreams clients it answers 503 with Retry-After.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		WriteError(w, http.StatusMethodNotAllowed, "a stream is read with GET")
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	c := &client{wake: make(chan struct{}, 1), end: cancel, part: make([]byte, 0, 96)}
	if code, msg := h.join(c); code != 0 {
		w.Header().Set("Retry-After", "5")
		WriteError(w, code, msg)
		return
	}
	defer h.leave(c)
	if s := streamsEnd(r); s != nil {
		defer context.AfterFunc(s, cancel)()
	}
	rc := http.NewResponseController(w)
	// A stream outlives the response bound: no read deadline (net/http's
	// background read still sees the client leave), a write deadline per frame.
	_ = rc.SetReadDeadline(time.Time{})
	// When the stream ends, a write blocked on a client that stopped reading
	// gets endGrace, not the rest of its deadline.
	var mu sync.Mutex
	returned := false
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !returned {
			_ = rc.SetWriteDeadline(time.Now().Add(endGrace))
		}
	})
	defer func() {
		stop()
		mu.Lock()
		returned = true
		mu.Unlock()
	}()

	hd := w.Header()
	hd.Set("Content-Type", "multipart/x-mixed-replace; boundary=frame")
	hd.Set("Cache-Control", "no-store")
	if !h.deadline(ctx, rc) {
		return
	}
	w.WriteHeader(http.StatusOK)
	if rc.Flush() != nil || r.Method == http.MethodHead {
		return
	}
	interval := time.Duration(float64(time.Second) / h.limits.StreamFPS)
	pause := time.NewTimer(interval)
	defer pause.Stop()
	var sent uint64
	next := time.Now() // the earliest time of the next frame
	for {
		select {
		case <-ctx.Done():
			h.end(w, rc)
			return
		case <-c.wake:
		}
		if d := time.Until(next); d > 0 {
			pause.Reset(d)
			select {
			case <-ctx.Done():
				h.end(w, rc)
				return
			case <-pause.C:
			}
		}
		f := h.take(sent)
		if f == nil {
			continue
		}
		sent, next = f.seq, time.Now().Add(interval)
		var err error
		if h.deadline(ctx, rc) {
			err = h.send(w, rc, c, f)
		}
		h.release(f)
		if err != nil {
			return
		}
		if ctx.Err() != nil {
			h.end(w, rc)
			return
		}
	}
}

// endGrace is how long the end of a stream may take: the frame being sent
// and the closing boundary, which tells the client the stream is over.
const endGrace = 200 * time.Millisecond

func (h *Hub) end(w http.ResponseWriter, rc *http.ResponseController) {
	_ = rc.SetWriteDeadline(time.Now().Add(endGrace))
	if _, err := w.Write(closing); err == nil {
		_ = rc.Flush()
	}
}

// deadline gives the next write WriteTimeout, false if the stream has
// ended meanwhile.
func (h *Hub) deadline(ctx context.Context, rc *http.ResponseController) bool {
	_ = rc.SetWriteDeadline(time.Now().Add(h.limits.WriteTimeout))
	return ctx.Err() == nil
}

var crlf, closing = []byte("\r\n"), []byte("--frame--\r\n")

// send writes f as the next part.
func (h *Hub) send(w http.ResponseWriter, rc *http.ResponseController, c *client, f *frame) error {
	c.part = append(c.part[:0], "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "...)
	c.part = strconv.AppendInt(c.part, int64(len(f.buf)), 10)
	c.part = append(c.part, "\r\n\r\n"...)
	if _, err := w.Write(c.part); err != nil {
		return err
	}
	if _, err := w.Write(f.buf); err != nil {
		return err
	}
	if _, err := w.Write(crlf); err != nil {
		return err
	}
	return rc.Flush()
}
