package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Limits bound what clients can hold of the agent. A zero field takes its
// default (DefaultLimits).
type Limits struct {
	// MaxConns is the number of connections open at once; further ones wait
	// in the kernel's accept queue until one closes.
	MaxConns int
	// MaxStreams is the number of MJPEG clients of one Hub; beyond, 503.
	MaxStreams int
	// StreamFPS bounds the frames a second sent to each MJPEG client.
	StreamFPS float64
	// WriteTimeout bounds each response and the reading of its request
	// body: past it writes fail and the request's context ends. For a
	// stream it bounds each frame, so a client that stops reading is
	// dropped after it.
	WriteTimeout time.Duration
	// ReadHeaderTimeout bounds the reading of a request's header.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a keep-alive connection idle for that long.
	IdleTimeout time.Duration
}

// DefaultLimits are the values a zero field of Limits takes.
var DefaultLimits = Limits{MaxConns: 64, MaxStreams: 8, StreamFPS: 5, WriteTimeout: 15 * time.Second,
	ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 60 * time.Second}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxConns <= 0 {
		l.MaxConns = d.MaxConns
	}
	if l.MaxStreams <= 0 {
		l.MaxStreams = d.MaxStreams
	}
	if l.StreamFPS <= 0 {
		l.StreamFPS = d.StreamFPS
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = d.WriteTimeout
	}
	if l.ReadHeaderTimeout <= 0 {
		l.ReadHeaderTimeout = d.ReadHeaderTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = d.IdleTimeout
	}
	return l
}

// maxBody bounds a request body: the API takes small JSON documents only.
const maxBody = 1 << 20

// Server is an HTTP server on a listener whose connections are limited.
type Server struct {
	ln     *limitListener
	srv    *http.Server
	limits Limits
	// streams ends at Shutdown; long-lived responses (Hub) end with it
	// instead of holding Shutdown up.
	streams    context.Context
	endStreams context.CancelFunc
}

type streamsKey struct{}

// Listen listens on addr (host:port) with the limits l; Serve then serves it.
// An empty addr is an error, not every interface: "" means no server.
func Listen(addr string, l Limits) (*Server, error) {
	if addr == "" {
		return nil, errors.New("listen: no address")
	}
	l = l.withDefaults()
	inner, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	s := &Server{ln: newLimitListener(inner, l.MaxConns), limits: l}
	s.streams, s.endStreams = context.WithCancel(context.Background())
	base := context.WithValue(context.Background(), streamsKey{}, s.streams)
	s.srv = &http.Server{
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    16 << 10,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn),
	}
	return s, nil
}

// Addr is the address listened on, with the port chosen when addr had 0.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Loopback says whether only this machine can connect (the listener is on
// a loopback address), so that reads may go without authentication.
func (s *Server) Loopback() bool {
	a, ok := s.ln.Addr().(*net.TCPAddr)
	return ok && a.IP.IsLoopback()
}

// Serve serves h until Shutdown, then returns nil; any other end is an error.
func (s *Server) Serve(h http.Handler) error {
	s.srv.Handler = s.bound(h)
	if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// bound gives every response the write deadline and body bound of the
// limits, and the headers that keep the page out of other sites' frames.
// On a loopback listener, whose reads need no credential, a request must
// name a loopback host: a page of another site whose name was made to
// resolve to 127.0.0.1 (DNS rebinding) would read the cameras otherwise.
func (s *Server) bound(h http.Handler) http.Handler {
	loopback := s.Loopback()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if loopback && !loopbackHost(r.Host) {
			WriteError(w, http.StatusForbidden, fmt.Sprintf("host %q refused: this server listens on %s only and answers "+
				"requests for that address or localhost (a proxy in front must pass one of them as Host)", r.Host, s.Addr()))
			return
		}
		rc := http.NewResponseController(w)
		deadline := time.Now().Add(s.limits.WriteTimeout)
		_ = rc.SetWriteDeadline(deadline)
		_ = rc.SetReadDeadline(deadline)
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		h.ServeHTTP(w, r)
	})
}

// loopbackHost says whether a Host header names this machine: localhost
// (and its subdomains), a loopback address, or nothing (not a browser).
func loopbackHost(host string) bool {
	if host == "" {
		return true
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"), ".")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Shutdown ends the streams at once, then shuts the server down gracefully:
// no new connections, idle ones closed, the others waited for until ctx
// ends, when they are closed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.endStreams()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, s.srv.Close())
	}
	// Serve may never have run, or not yet: the listener is closed all the same.
	_ = s.ln.Close()
	return err
}

// streamsEnd is the context that ends with the Server's streams; nil when
// the request did not come through a Server (a Hub served by httptest).
func streamsEnd(r *http.Request) context.Context {
	c, _ := r.Context().Value(streamsKey{}).(context.Context)
	return c
}

// limitListener accepts a connection only while fewer than the limit are
// open: the others wait in the kernel's queue, costing no goroutine.
type limitListener struct {
	net.Listener
	slots     chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func newLimitListener(l net.Listener, n int) *limitListener {
	return &limitListener{Listener: l, slots: make(chan struct{}, n), done: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitConn{Conn: c, slots: l.slots}, nil
}

func (l *limitListener) Close() error {
	err := net.ErrClosed
	l.closeOnce.Do(func() {
		close(l.done)
		err = l.Listener.Close()
	})
	return err
}

// limitConn gives its slot back when closed (once, however often Close is called).
type limitConn struct {
	net.Conn
	slots chan struct{}
	once  sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { <-c.slots })
	return err
}
