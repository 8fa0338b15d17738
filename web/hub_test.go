package web

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
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
