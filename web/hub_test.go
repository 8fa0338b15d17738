package web

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testJPEG is a stand-in frame of n bytes that says its number: the hub
// never decodes what it sends.
func testJPEG(n, seq int) []byte {
	b := bytes.Repeat([]byte{0xA5}, n)
	copy(b, fmt.Sprintf("frame %08d", seq))
	return b
}

// openStream GETs url and returns the multipart reader of the stream.
func openStream(t testing.TB, url string) (*http.Response, *multipart.Reader) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/x-mixed-replace" || params["boundary"] != "frame" {
		resp.Body.Close()
		t.Fatalf("Content-Type %q, want multipart/x-mixed-replace; boundary=frame", resp.Header.Get("Content-Type"))
	}
	return resp, multipart.NewReader(resp.Body, "frame")
}

// publishUntil publishes numbered frames every period until stop closes,
// and returns how many it published.
func publishUntil(h *Hub, period time.Duration, size int, stop <-chan struct{}) <-chan int {
	done := make(chan int, 1)
	go func() {
		n := 0
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				done <- n
				return
			case <-tick.C:
				n++
				h.Publish(testJPEG(size, n))
			}
		}
	}()
	return done
}

func TestHubStream(t *testing.T) {
	hub := NewHub(Limits{StreamFPS: 50})
	_, url := serve(t, Limits{}, hub)
	if hub.Watchers() != 0 {
		t.Fatalf("Watchers() = %d before any client", hub.Watchers())
	}
	hub.Publish(testJPEG(100, 0)) // nobody watches: dropped, not sent later
	resp, mr := openStream(t, url)
	defer resp.Body.Close()
	if hub.Watchers() != 1 {
		t.Fatalf("Watchers() = %d with one client", hub.Watchers())
	}
	stop := make(chan struct{})
	published := publishUntil(hub, 5*time.Millisecond, 3000, stop)
	defer func() { close(stop); <-published }()
	last := 0
	for i := range 10 {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if ct := p.Header.Get("Content-Type"); ct != "image/jpeg" {
			t.Errorf("part Content-Type %q", ct)
		}
		body, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := strconv.Atoi(p.Header.Get("Content-Length")); n != len(body) || len(body) != 3000 {
			t.Fatalf("part of %d bytes, Content-Length %q, want 3000", len(body), p.Header.Get("Content-Length"))
		}
		var seq int
		if _, err := fmt.Sscanf(string(body[:14]), "frame %08d", &seq); err != nil || seq <= last {
			t.Fatalf("part %d is frame %q after frame %d: want newer frames only", i, body[:14], last)
		}
		last = seq
	}
}

// rawStream opens a stream on its own connection, without a Transport
// (whose goroutines would outlive the test's count): the response is read
// straight from the connection, and closing the connection ends the client.
func rawStream(t testing.TB, addr, path string) (net.Conn, *http.Response) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).SetReadBuffer(16 << 10)
	req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
	if err := req.Write(c); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		t.Fatal(err)
	}
	return c, resp
}

// stalledClient sends a request for path and never reads the answer.
func stalledClient(t testing.TB, addr, path string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).SetReadBuffer(4 << 10)
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, addr)
	return c
}

// waitWatchers waits (bounded) for h to have n watchers.
func waitWatchers(t testing.TB, h *Hub, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for h.Watchers() != n {
		if time.Now().After(deadline) {
			t.Fatalf("Watchers() = %d after 10 s, want %d", h.Watchers(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// readFrames reads parts of a stream until it ends, checking that each is
// newer than the one before, and returns how many it read.
func readFrames(mr *multipart.Reader, pause time.Duration) (n int, err error) {
	last := 0
	for {
		p, err := mr.NextPart()
		if err != nil {
			return n, err
		}
		body, err := io.ReadAll(p)
		if err != nil {
			return n, err
		}
		var seq int
		if _, err := fmt.Sscanf(string(body[:14]), "frame %08d", &seq); err != nil || seq <= last {
			return n, fmt.Errorf("frame %q after frame %d", body[:14], last)
		}
		last = seq
		n++
		time.Sleep(pause)
	}
}

// producer publishes n frames, one every period, and returns how long
// each Publish call took.
func producer(h *Hub, n int, period time.Duration, size int) []time.Duration {
	frames := [2][]byte{testJPEG(size, 0), testJPEG(size, 0)}
	took := make([]time.Duration, 0, n)
	tick := time.NewTicker(period)
	defer tick.Stop()
	for i := 1; i <= n; i++ {
		<-tick.C
		f := frames[i%2]
		copy(f, fmt.Sprintf("frame %08d", i))
		t0 := time.Now()
		h.Publish(f)
		took = append(took, time.Since(t0))
	}
	return took
}

// timings sums up durations: total, median, 99th percentile, longest.
func timings(d []time.Duration) string {
	s := slices.Clone(d)
	slices.Sort(s)
	var total time.Duration
	for _, x := range s {
		total += x
	}
	return fmt.Sprintf("%v in all, p50 %v, p99 %v, max %v", total, s[len(s)/2], s[len(s)*99/100], s[len(s)-1])
}

// TestHubSlowClients: 50 clients that read slowly or not at all do not hold
// the producer up, a fast client keeps getting the newest frames, and every
// goroutine of theirs ends once they leave. The Publish times are logged,
// not asserted (benchmarks measure speed).
func TestHubSlowClients(t *testing.T) {
	const (
		frames = 150
		period = 10 * time.Millisecond
		size   = 30 << 10
		slow   = 50
	)
	hub := NewHub(Limits{MaxStreams: slow + 1, StreamFPS: 30, WriteTimeout: 2 * time.Second})
	s, _ := serve(t, Limits{MaxConns: slow + 10}, hub)
	baseline := runtime.NumGoroutine()

	run := func(name string, clients func()) {
		done := make(chan []time.Duration, 1)
		go func() { done <- producer(hub, frames, period, size) }()
		clients()
		select {
		case took := <-done:
			if len(took) != frames {
				t.Fatalf("%s: %d frames published, want %d", name, len(took), frames)
			}
			t.Logf("%s: %d Publish calls of %d KiB: %s", name, len(took), size>>10, timings(took))
		case <-time.After(60 * time.Second):
			t.Fatalf("%s: the producer has not published %d frames after 60 s", name, frames)
		}
	}

	// One fast client alone, for comparison.
	fastConn, fastResp := rawStream(t, s.Addr(), "/")
	fastRead := make(chan int, 1)
	go func() {
		n, _ := readFrames(multipart.NewReader(fastResp.Body, "frame"), 0)
		fastRead <- n
	}()
	waitWatchers(t, hub, 1)
	run("1 fast client", func() {})

	// The same with 25 clients that never read and 25 that read 1 KiB every 50 ms.
	var conns []net.Conn
	var slowReaders sync.WaitGroup
	var slowBytes atomic.Int64
	for i := range slow {
		if i%2 == 0 {
			conns = append(conns, stalledClient(t, s.Addr(), "/"))
			continue
		}
		c, resp := rawStream(t, s.Addr(), "/")
		conns = append(conns, c)
		slowReaders.Add(1)
		go func() {
			defer slowReaders.Done()
			buf := make([]byte, 1<<10)
			for {
				n, err := resp.Body.Read(buf)
				slowBytes.Add(int64(n))
				if err != nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
	}
	waitWatchers(t, hub, slow+1)
	run(fmt.Sprintf("1 fast and %d slow clients", slow), func() {})
	t.Logf("the slow readers read %d KiB; watchers at the end: %d (stalled ones are dropped at their write deadline)",
		slowBytes.Load()>>10, hub.Watchers())

	fastConn.Close()
	if n := <-fastRead; n < 2 {
		t.Errorf("the fast client read %d frames", n)
	} else {
		t.Logf("the fast client read %d frames", n)
	}
	for _, c := range conns {
		c.Close()
	}
	slowReaders.Wait()
	waitWatchers(t, hub, 0)
	waitGoroutines(t, baseline)
}

// TestHubStalledClientDropped: a client that stops reading is dropped at
// its write deadline, while its connection stays open.
func TestHubStalledClientDropped(t *testing.T) {
	hub := NewHub(Limits{StreamFPS: 100, WriteTimeout: 200 * time.Millisecond})
	s, _ := serve(t, Limits{}, hub)
	baseline := runtime.NumGoroutine()
	c := stalledClient(t, s.Addr(), "/")
	defer c.Close()
	waitWatchers(t, hub, 1)
	stop := make(chan struct{})
	published := publishUntil(hub, 2*time.Millisecond, 256<<10, stop)
	waitWatchers(t, hub, 0)
	close(stop)
	t.Logf("dropped after %d frames of 256 KiB", <-published)
	waitGoroutines(t, baseline+1) // the connection's, closed with it
}

func TestHubMaxStreams(t *testing.T) {
	hub := NewHub(Limits{MaxStreams: 2})
	s, _ := serve(t, Limits{}, hub)
	a, _ := rawStream(t, s.Addr(), "/")
	b, _ := rawStream(t, s.Addr(), "/")
	defer b.Close()
	waitWatchers(t, hub, 2)
	c, resp := rawStream(t, s.Addr(), "/")
	body, _ := io.ReadAll(resp.Body)
	c.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !bytes.Contains(body, []byte(`"error"`)) {
		t.Fatalf("third stream: %s, Retry-After %q, %s; want 503 with Retry-After and an error", resp.Status, resp.Header.Get("Retry-After"), body)
	}
	a.Close()
	waitWatchers(t, hub, 1)
	d, resp := rawStream(t, s.Addr(), "/")
	defer d.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream after one left: %s", resp.Status)
	}
}

// TestHubClose ends every stream and refuses new ones. A reading client
// gets the closing boundary (small frames: no write is left waiting); a
// stalled one is cut, not left to its write deadline (a minute here).
func TestHubClose(t *testing.T) {
	hub := NewHub(Limits{StreamFPS: 100, WriteTimeout: time.Minute})
	s, _ := serve(t, Limits{}, hub)
	baseline := runtime.NumGoroutine()
	reader, resp := rawStream(t, s.Addr(), "/")
	defer reader.Close()
	waitWatchers(t, hub, 1)
	stop := make(chan struct{})
	published := publishUntil(hub, 2*time.Millisecond, 1<<10, stop)
	mr := multipart.NewReader(resp.Body, "frame")
	if _, err := mr.NextPart(); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() {
		_, err := readFrames(mr, 0)
		ended <- err
	}()
	hub.Close()
	close(stop)
	<-published
	select {
	case err := <-ended:
		if err != io.EOF {
			t.Errorf("the reading client's stream ended with %v, want the end of the multipart body", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("stream still open 10 s after Close")
	}
	waitWatchers(t, hub, 0)
	c, resp := rawStream(t, s.Addr(), "/")
	c.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("stream after Close: %s, want 503", resp.Status)
	}
	hub.Publish(testJPEG(10, 1)) // does nothing, does not block

	stalledHub := NewHub(Limits{StreamFPS: 100, WriteTimeout: time.Minute})
	_, url := serve(t, Limits{}, stalledHub)
	stalled := stalledClient(t, strings.TrimPrefix(url, "http://"), "/")
	defer stalled.Close()
	waitWatchers(t, stalledHub, 1)
	stop = make(chan struct{})
	published = publishUntil(stalledHub, 2*time.Millisecond, 256<<10, stop)
	time.Sleep(300 * time.Millisecond) // the client's buffers fill; the write blocks
	stalledHub.Close()
	waitWatchers(t, stalledHub, 0)
	close(stop)
	<-published
	reader.Close()
	stalled.Close()
	waitGoroutines(t, baseline+1) // + the second server's accept loop
}

// TestShutdownWithStreams: Shutdown ends open streams, stalled ones too, at
// once rather than at their write deadline (a minute here), so it needs no
// forced close: it returns nil before its context ends.
func TestShutdownWithStreams(t *testing.T) {
	hub := NewHub(Limits{StreamFPS: 100, WriteTimeout: time.Minute})
	s, err := Listen("127.0.0.1:0", Limits{WriteTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(hub) }()
	var conns []net.Conn
	for range 3 {
		c, resp := rawStream(t, s.Addr(), "/")
		conns = append(conns, c)
		go io.Copy(io.Discard, resp.Body)
	}
	for range 3 {
		conns = append(conns, stalledClient(t, s.Addr(), "/"))
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	waitWatchers(t, hub, 6)
	stop := make(chan struct{})
	published := publishUntil(hub, 2*time.Millisecond, 256<<10, stop)
	time.Sleep(300 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	t0 := time.Now()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with 6 streams open: %v", err)
	}
	t.Logf("Shutdown with 6 streams open (3 stalled) took %v", time.Since(t0))
	close(stop)
	<-published
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if hub.Watchers() != 0 {
		t.Errorf("Watchers() = %d after Shutdown", hub.Watchers())
	}
}

// TestPublishAllocs: in steady state Publish allocates nothing, while
// clients hold frames across publishes (one slow to give its frame back).
func TestPublishAllocs(t *testing.T) {
	hub := NewHub(Limits{MaxStreams: 4})
	clients := make([]*client, 3)
	for i := range clients {
		clients[i] = &client{wake: make(chan struct{}, 1), end: func() {}}
		if code, msg := hub.join(clients[i]); code != 0 {
			t.Fatal(msg)
		}
	}
	jpeg := testJPEG(30<<10, 1)
	var held *frame // the slow client's
	var sent [3]uint64
	step := 0
	publish := func() {
		step++
		hub.Publish(jpeg)
		for i, c := range clients {
			<-c.wake
			if i == 0 && step%5 != 0 {
				continue // slow: keeps its frame for five publishes
			}
			f := hub.take(sent[i])
			if f == nil {
				t.Fatalf("client %d: no new frame", i)
			}
			sent[i] = f.seq
			if i == 0 {
				if held != nil {
					hub.release(held)
				}
				held = f
				continue
			}
			hub.release(f)
		}
	}
	for range 20 { // the buffers settle
		publish()
	}
	if n := testing.AllocsPerRun(1000, publish); n != 0 {
		t.Errorf("%v allocations per Publish in steady state, want 0", n)
	}
	if n := len(hub.free); n > 4 {
		t.Errorf("%d free buffers with 3 clients: buffers are not reused", n)
	}
}

// BenchmarkHubPublish publishes 30 KiB frames to N clients streaming from a
// real server (reading as fast as they can, at most 1000 frames a second).
// allocs/op include the clients' goroutines (net/http's).
func BenchmarkHubPublish(b *testing.B) {
	for _, n := range []int{1, 8, 50} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			hub := NewHub(Limits{MaxStreams: n, StreamFPS: 1000})
			s, _ := serve(b, Limits{MaxConns: n + 4}, hub)
			var conns []net.Conn
			for range n {
				c, resp := rawStream(b, s.Addr(), "/")
				conns = append(conns, c)
				go io.Copy(io.Discard, resp.Body)
			}
			defer func() {
				for _, c := range conns {
					c.Close()
				}
			}()
			waitWatchers(b, hub, n)
			jpeg := testJPEG(30<<10, 1)
			b.SetBytes(int64(len(jpeg)))
			b.ReportAllocs()
			for b.Loop() {
				hub.Publish(jpeg)
			}
		})
	}
}

// TestHubStreamFPS: however fast frames come, a client gets at most
// StreamFPS a second (frames are sent at least 1/StreamFPS apart; the
// bound allows one frame of slack for the arrival times).
func TestHubStreamFPS(t *testing.T) {
	const fps = 20
	hub := NewHub(Limits{StreamFPS: fps})
	s, _ := serve(t, Limits{}, hub)
	c, resp := rawStream(t, s.Addr(), "/")
	defer c.Close()
	waitWatchers(t, hub, 1)
	stop := make(chan struct{})
	published := publishUntil(hub, time.Millisecond, 1000, stop)
	mr := multipart.NewReader(resp.Body, "frame")
	var first time.Time
	n := 0
	for end := time.Now().Add(time.Second); time.Now().Before(end); n++ {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, p)
		if n == 0 {
			first = time.Now()
		}
	}
	elapsed := time.Since(first)
	close(stop)
	pub := <-published
	t.Logf("%d frames in %v, %d published", n, elapsed, pub)
	if limit := int(elapsed.Seconds()*fps) + 2; n > limit {
		t.Errorf("%d frames in %v at StreamFPS %d: more than %d", n, elapsed, fps, limit)
	}
	if pub <= n {
		t.Errorf("%d published, %d sent: the producer was not faster than the stream", pub, n)
	}
}

func TestHubMethods(t *testing.T) {
	hub := NewHub(Limits{})
	_, url := serve(t, Limits{}, hub)
	resp, err := http.Head(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "multipart/x-mixed-replace; boundary=frame" {
		t.Errorf("HEAD: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	resp, err = http.Post(url, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %s, want 405", resp.Status)
	}
	waitWatchers(t, hub, 0)
}
