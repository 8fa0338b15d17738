package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"math"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
	"github.com/coatnet-edge/coatnet-edge/kernels"
	"github.com/coatnet-edge/coatnet-edge/picture"
	"github.com/coatnet-edge/coatnet-edge/web"
)

// The web scene: frames of webW x webH, three of the sample pictures side
// by side (each scaled 4 times, to a cell of webCell pixels: "left" a
// coat, "right" a pullover, and a trouser where a test adds a region), and
// under them a strip that changes from frame to frame, outside every
// region, so that the live view's frames differ while the regions' states
// hold still.
const (
	webCell    = 112
	webW, webH = 3 * webCell, webCell + 32
	webFrames  = 30 // each unlike the others
)

// writeWebScene writes the scene's frames as PNGs into a new folder.
func writeWebScene(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var items []image.Image
	for _, name := range []string{"00006-coat.png", "00001-pullover.png", "00002-trouser.png"} {
		f, err := os.Open(filepath.Join("..", "testdata", "fashion", name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, img)
	}
	for i := range webFrames {
		frame := image.NewNRGBA(image.Rect(0, 0, webW, webH))
		for k, it := range items {
			const scale = webCell / 28
			for y := range webCell {
				for x := range webCell {
					frame.Set(webCell*k+x, y, it.At(it.Bounds().Min.X+x/scale, it.Bounds().Min.Y+y/scale))
				}
			}
		}
		for x := range webW {
			for y := webCell; y < webH; y++ {
				v := uint8(40 * ((x/24 + i) % 6))
				if x/11 == i { // the frame's number, as a white mark
					v = 255
				}
				frame.Set(x, y, color.NRGBA{v, 255 - v, v / 2, 255})
			}
		}
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%03d.png", i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, frame); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	return dir
}

// webConfigYAML is a configuration file of the web scene, with comments
// for the editor to keep.
func webConfigYAML(broker, stateDir, scene, extra string) string {
	return `# the web tests' agent
device: web-cam
model: {path: ../models/fmnist-pre-int8.coatnet}
mqtt:
  broker: ` + broker + `
  stats_interval: 500ms
state_dir: ` + stateDir + `
http:
  listen: 127.0.0.1:0 # any free port
` + extra + `
cameras:
  yard:
    source: ` + scene + `
    fps: 10
    loop: true
    motion: {enabled: false}
    regions:
      # the coat
      left: {rect_px: [0, 0, 112, 112], confirm: 2}
      # the pullover
      right: {rect_px: [112, 0, 112, 112], confirm: 2}
`
}

// webAgent is an agent running a configuration file with the web server,
// and what a test needs to talk to it.
type webAgent struct {
	cfg   Config
	path  string // the configuration file
	base  string // http://127.0.0.1:PORT
	token string
	log   *syncLog
	stop  func() error
}

// startWebAgent writes the configuration (webConfigYAML with extra under
// http:, then changed by mod when not nil), runs the agent on it with
// reloads from the file, and waits for the server to listen.
func startWebAgent(t *testing.T, b *mqtttest.Broker, extra string, mod func(string) string) *webAgent {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.yaml")
	text := webConfigYAML(b.URL, filepath.Join(dir, "state"), writeWebScene(t), extra)
	if mod != nil {
		text = mod(text)
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	log, stop := startAgent(t, cfg, Options{LoadConfig: func() (Config, error) { return LoadConfig(path) }, ConfigPath: path})
	w := &webAgent{cfg: cfg, path: path, log: log, stop: stop}
	addr := regexp.MustCompile(`http: status page" url=http://([0-9.:]+)/`)
	waitFor(t, "the web server", func() bool {
		m := addr.FindStringSubmatch(log.String())
		if m != nil {
			w.base = "http://" + m[1]
		}
		return m != nil
	})
	tok, err := os.ReadFile(authPath(&cfg))
	if err != nil {
		t.Fatal(err)
	}
	w.token = strings.TrimSpace(string(tok))
	return w
}

// get is a GET of path: its status, content type and body.
func (w *webAgent) get(t *testing.T, path string) (int, string, []byte) {
	t.Helper()
	resp, err := http.Get(w.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

func (w *webAgent) status(t *testing.T) Status {
	t.Helper()
	code, _, body := w.get(t, "/api/status")
	if code != http.StatusOK {
		t.Fatalf("/api/status: %d %s", code, body)
	}
	var st Status
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("/api/status %s: %v", body, err)
	}
	return st
}

// write sends a write as the page does (token, CSRF header, same origin)
// with what mod changes of the request; it returns the status and body.
func (w *webAgent) write(t *testing.T, method, path, body string, mod func(*http.Request)) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, w.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+w.token)
	req.Header.Set("X-CSRF-Token", web.CSRFToken())
	req.Header.Set("Origin", w.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Content-Type", "application/json")
	if mod != nil {
		mod(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func region(c StatusCamera, name string) *StatusRegion {
	i := slices.IndexFunc(c.Regions, func(r StatusRegion) bool { return r.Name == name })
	if i < 0 {
		return nil
	}
	return &c.Regions[i]
}

// decodeJPEG decodes b and checks that it is webW x webH.
func decodeJPEG(t *testing.T, what string, b []byte) image.Image {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: not a JPEG (%d bytes): %v", what, len(b), err)
	}
	if s := img.Bounds().Size(); s != image.Pt(webW, webH) {
		t.Errorf("%s is %v, the frame %dx%d", what, s, webW, webH)
	}
	return img
}

// TestWebStatusMatchesMQTT runs an agent on the web scene with a real
// mosquitto and checks what the server says against the broker: every
// region's state in /api/status is its state topic's last message, and
// the rest of the document names the model, kernels, broker and camera
// as they are; snapshot.jpg is the frame, regions drawn; stream.mjpg
// sends frames that differ; a region's snapshot is the ring's; /metrics
// has the stats per camera and region; /healthz is ok, then 503 saying
// MQTT is down once the broker is killed.
func TestWebStatusMatchesMQTT(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	rec := record(t, b.URL, "web-recorder", "coatnet/#")
	w := startWebAgent(t, b, "", nil)
	topic := func(r string) string { return RegionTopicsFor(&w.cfg, "yard", r).State }
	var st Status
	waitFor(t, "both regions' states on MQTT and in /api/status", func() bool {
		st = w.status(t)
		if len(st.Cameras) != 1 {
			return false
		}
		for _, r := range []string{"left", "right"} {
			if rec.last(topic(r)) == nil || region(st.Cameras[0], r) == nil || region(st.Cameras[0], r).State == nil {
				return false
			}
		}
		return true
	})
	for _, r := range []string{"left", "right"} {
		var mq RegionState
		if err := json.Unmarshal(rec.last(topic(r)), &mq); err != nil {
			t.Fatal(err)
		}
		got := region(st.Cameras[0], r).State
		if got.Label != mq.Label || got.Score != mq.Score || !got.Since.Equal(mq.Since) {
			t.Errorf("region %s: /api/status says %+v, its state topic %+v", r, *got, mq)
		}
	}
	c := st.Cameras[0]
	if st.Device != "web-cam" || st.Model.Name != "fmnist-pre" || len(st.Model.SHA256) != 64 ||
		st.Model.Kernels != kernels.Implementation()[kernels.NameGemmRequant] || st.Model.Kernels == "" ||
		!st.MQTT.Connected || st.MQTT.Broker != b.URL || st.CSRF != web.CSRFToken() || !st.Editable || st.Paused {
		t.Errorf("status %+v", st)
	}
	if c.Name != "yard" || c.Width != webW || c.Height != webH || !c.Available || c.Stream != "/cameras/yard/stream.mjpg" ||
		c.Snapshot != "/cameras/yard/snapshot.jpg" || len(c.Regions) != 2 {
		t.Errorf("camera %+v", c)
	}
	if r := region(c, "right"); r.Rect == nil || *r.Rect != [4]float64{webCell / float64(webW), 0, 2 * webCell / float64(webW), webCell / float64(webH)} ||
		r.Snapshot != "/cameras/yard/regions/right/snapshot.jpg" || !strings.HasSuffix(r.Model, "fmnist-pre-int8.coatnet") {
		t.Errorf("region right %+v (rect %v)", r, r.Rect)
	}
	if !slices.Contains(st.Models, region(c, "left").Model) || !slices.Contains(st.Models, filepath.Join("..", "models", "fmnist-post-int8.coatnet")) {
		t.Errorf("models %v", st.Models)
	}

	code, ct, body := w.get(t, "/cameras/yard/snapshot.jpg")
	if code != http.StatusOK || ct != "image/jpeg" {
		t.Fatalf("snapshot.jpg: %d %s %.100s", code, ct, body)
	}
	decodeJPEG(t, "snapshot.jpg", body)
	if code, _, _ := w.get(t, "/cameras/nowhere/snapshot.jpg"); code != http.StatusNotFound {
		t.Errorf("an unknown camera's snapshot: %d", code)
	}

	frames := readStream(t, w.base+"/cameras/yard/stream.mjpg", 4)
	distinct := map[string]bool{}
	for i, f := range frames {
		decodeJPEG(t, fmt.Sprintf("stream frame %d", i), f)
		distinct[string(f)] = true
	}
	if len(distinct) < 3 {
		t.Errorf("%d distinct frames of %d from the stream", len(distinct), len(frames))
	}

	code, ct, body = w.get(t, "/cameras/yard/regions/left/snapshot.jpg")
	if code != http.StatusOK || ct != "image/jpeg" {
		t.Errorf("left's snapshot: %d %s", code, ct)
	} else if img, err := jpeg.Decode(bytes.NewReader(body)); err != nil || img.Bounds().Dx() != webCell {
		t.Errorf("left's snapshot is not the region's picture: %v", err)
	}
	if code, _, _ := w.get(t, "/cameras/yard/regions/nowhere/snapshot.jpg"); code != http.StatusNotFound {
		t.Errorf("an unknown region's snapshot: %d", code)
	}

	code, _, body = w.get(t, "/metrics")
	if !regexp.MustCompile(`(?m)^coatnet_classified_per_s [1-9]`).Match(body) {
		t.Errorf("/metrics has no classification rate:\n%s", grepLines(body, "coatnet_classified"))
	}
	for _, want := range []string{`coatnet_classified_total `, `coatnet_camera_frames_read_total{camera="yard"}`,
		`coatnet_region_state_changes_total{camera="yard",region="left"} 1`} {
		if code != http.StatusOK || !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics (%d) has no %s:\n%s", code, want, grepLines(body, "coatnet_"))
		}
	}

	if code, _, body := w.get(t, "/healthz"); code != http.StatusOK || string(body) != "ok\n" {
		t.Errorf("/healthz while running: %d %q", code, body)
	}
	b.Kill()
	waitFor(t, "/healthz 503", func() bool {
		code, _, body := w.get(t, "/healthz")
		return code == http.StatusServiceUnavailable && strings.Contains(string(body), "MQTT not connected to "+b.URL)
	})
}

// grepLines is the lines of b that start with prefix.
func grepLines(b []byte, prefix string) string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// readStream reads n parts of an MJPEG stream.
func readStream(t *testing.T, url string, n int) [][]byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusOK || err != nil || mt != "multipart/x-mixed-replace" {
		t.Fatalf("stream: %d %q %v", resp.StatusCode, resp.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(resp.Body, params["boundary"])
	var out [][]byte
	for len(out) < n {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("stream part %d: %v", len(out), err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatalf("stream part %d: %v", len(out), err)
		}
		if p.Header.Get("Content-Type") != "image/jpeg" {
			t.Errorf("stream part %d: %q", len(out), p.Header.Get("Content-Type"))
		}
		out = append(out, b)
	}
	return out
}

// TestWebEditRegion: a region PUT as the page does lands in the file,
// comments and all, and is classified after the reload (its state on
// MQTT); a DELETE removes it again, its retained state cleared; a region
// the parser refuses or the frame cannot hold is a 400 that leaves the
// file alone; writes without the token, the CSRF header, or from another
// origin are refused and change nothing.
func TestWebEditRegion(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	rec := record(t, b.URL, "web-recorder", "coatnet/#")
	w := startWebAgent(t, b, "", nil)
	waitFor(t, "the frame size", func() bool { st := w.status(t); return len(st.Cameras) == 1 && st.Cameras[0].Width > 0 })
	orig, err := os.ReadFile(w.path)
	if err != nil {
		t.Fatal(err)
	}
	same := func(what string) {
		t.Helper()
		if now, _ := os.ReadFile(w.path); !bytes.Equal(now, orig) {
			t.Errorf("%s changed the file:\n%s", what, now)
		}
	}
	const put = "/api/cameras/yard/regions/extra"
	body := `{"rect": [0.66667, 0, 1, 0.77778]}`
	for name, mod := range map[string]func(*http.Request){
		"no token":      func(r *http.Request) { r.Header.Del("Authorization") },
		"a wrong token": func(r *http.Request) { r.Header.Set("Authorization", "Bearer nope") },
		"no CSRF":       func(r *http.Request) { r.Header.Del("X-CSRF-Token") },
		"cross-origin": func(r *http.Request) {
			r.Header.Set("Origin", "http://evil.example")
			r.Header.Set("Sec-Fetch-Site", "cross-site")
		},
	} {
		code, msg := w.write(t, http.MethodPut, put, body, mod)
		if code != http.StatusUnauthorized && code != http.StatusForbidden {
			t.Errorf("%s: %d %s", name, code, msg)
		}
		same(name)
	}
	for name, bad := range map[string]string{
		"corners reversed": `{"rect": [0.9, 0, 0.1, 1]}`,
		"three numbers":    `{"rect": [0, 0, 1]}`,
		"an unknown key":   `{"rect": [0, 0, 1, 1], "colour": "red"}`,
		"a stray model":    `{"rect": [0, 0, 1, 1], "model": "/etc/passwd"}`,
		"under a pixel":    `{"rect": [0.5, 0.5, 0.5001, 0.5001]}`,
	} {
		if code, msg := w.write(t, http.MethodPut, put, bad, nil); code != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, code, msg)
		}
		same(name)
	}
	if code, msg := w.write(t, http.MethodPut, "/api/cameras/nowhere/regions/extra", body, nil); code != http.StatusNotFound {
		t.Errorf("an unknown camera: %d %s", code, msg)
	}
	same("an unknown camera")

	code, msg := w.write(t, http.MethodPut, put, body, nil)
	if code != http.StatusOK || msg != `{"saved":"`+w.path+`"}`+"\n" {
		t.Fatalf("PUT: %d %s", code, msg)
	}
	edited, err := os.ReadFile(w.path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# the web tests' agent", "# any free port", "# the coat", "# the pullover", "extra:",
		"[0.6667, 0, 0.3333, 0.7778]"} {
		if !bytes.Contains(edited, []byte(want)) {
			t.Errorf("the edited file has no %q:\n%s", want, edited)
		}
	}
	state := RegionTopicsFor(&w.cfg, "yard", "extra").State
	waitFor(t, "the new region's state on MQTT", func() bool { return rec.last(state) != nil })
	var mq RegionState
	if err := json.Unmarshal(rec.last(state), &mq); err != nil || mq.Region != "extra" {
		t.Errorf("extra's state %s: %v", rec.last(state), err)
	}
	if r := region(w.status(t).Cameras[0], "extra"); r == nil || r.Rect == nil || !near(*r.Rect, [4]float64{0.6667, 0, 1, 0.7778}) {
		t.Errorf("/api/status after the edit: %+v", r)
	}

	code, msg = w.write(t, http.MethodDelete, put, "", nil)
	if code != http.StatusOK {
		t.Fatalf("DELETE: %d %s", code, msg)
	}
	if now, _ := os.ReadFile(w.path); bytes.Contains(now, []byte("extra")) || !bytes.Contains(now, []byte("# the coat")) {
		t.Errorf("after the DELETE:\n%s", now)
	}
	waitFor(t, "extra's retained state cleared", func() bool { return len(rec.last(state)) == 0 })
	if code, msg := w.write(t, http.MethodDelete, put, "", nil); code != http.StatusNotFound {
		t.Errorf("DELETE of a region that is gone: %d %s", code, msg)
	}
	if strings.Contains(w.log.String(), "reload failed") {
		t.Errorf("a reload failed:\n%s", w.log.String())
	}
}

func near(a, b [4]float64) bool {
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-9 {
			return false
		}
	}
	return true
}

// TestWebSlowStreams: 50 MJPEG clients that never read do not lower the
// classification count measurably. The region is classified at a fixed
// pipeline.max_rate, so the count over a window is the rate times the
// window unless something stalls the pipeline or the machine is slower:
// the first window lasts until 20 labels came, the second as long. Both
// windows have one client that reads, so the live view's encoding (CPU
// the classifications share, a third of them under qemu on a busy
// machine) costs the same in both; the guard band (80% of the first
// window's count) is generous for a busy machine and far from what a
// stall costs. After the clients leave the goroutines come back to what
// they were (a margin of 3 for the runtime's and MQTT's own). The agent
// then stops cleanly on context cancel (SIGTERM's path) with streams
// still open.
func TestWebSlowStreams(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	rec := record(t, b.URL, "web-recorder", "coatnet/#")
	// Labels on every classification of left, 5 a second.
	w := startWebAgent(t, b, "  max_streams: 50\n  max_connections: 64\n  stream_fps: 10\n", func(s string) string {
		s = strings.Replace(s, "left: {rect_px: [0, 0, 112, 112], confirm: 2}",
			"left: {rect_px: [0, 0, 112, 112], confirm: 2, labels: every}", 1)
		return strings.Replace(s, "state_dir:", "pipeline: {max_rate: 5}\nstate_dir:", 1)
	})
	labels := RegionTopicsFor(&w.cfg, "yard", "left").Labels
	waitFor(t, "labels", func() bool { return rec.count(labels) > 3 })
	// The live view's goroutine, once used, is part of the baseline only
	// while it lives: wait until it retired.
	time.Sleep(liveIdle + time.Second)
	baseline := runtime.NumGoroutine()
	reader, err := http.Get(w.base + "/cameras/yard/stream.mjpg")
	if err != nil || reader.StatusCode != http.StatusOK {
		t.Fatalf("stream: %v", err)
	}
	read := make(chan int64)
	go func() {
		n, _ := io.Copy(io.Discard, reader.Body)
		read <- n
	}()
	time.Sleep(time.Second) // the live view started
	const alone = 20        // the first window's labels: 4 s at the rate
	n := rec.count(labels)
	began := time.Now()
	waitFor(t, "20 labels", func() bool { return rec.count(labels)-n >= alone })
	window := time.Since(began)

	var conns []net.Conn
	for i := range 50 {
		c, err := net.Dial("tcp", strings.TrimPrefix(w.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		c.(*net.TCPConn).SetReadBuffer(1024)
		conns = append(conns, c)
		fmt.Fprintf(c, "GET /cameras/yard/stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		if i == 0 {
			// The first answers: it streams (read its header only).
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil || !strings.Contains(line, "200") {
				t.Fatalf("stream: %q %v", line, err)
			}
		}
	}
	time.Sleep(time.Second) // all 50 joined and stopped reading
	n = rec.count(labels)
	time.Sleep(window)
	crowded := rec.count(labels) - n
	window = window.Round(time.Millisecond)
	t.Logf("labels in %v: %d with one client that reads, %d with 50 more that do not", window, alone, crowded)
	if float64(crowded) < 0.8*alone {
		t.Errorf("labels in %v: %d with one client that reads, %d with 50 slow ones more", window, alone, crowded)
	}
	if st := w.status(t); st.ClassifyPerS <= 0 {
		t.Errorf("classify_per_s %v", st.ClassifyPerS)
	}
	for _, c := range conns {
		c.Close()
	}
	reader.Body.Close()
	if n := <-read; n == 0 {
		t.Error("the reading client got nothing")
	}
	var now int
	deadline := time.Now().Add(30 * time.Second)
	for now = runtime.NumGoroutine(); now > baseline+3 && time.Now().Before(deadline); now = runtime.NumGoroutine() {
		time.Sleep(100 * time.Millisecond)
	}
	if now > baseline+3 {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after the clients left, %d before:\n%s", now, baseline, buf[:runtime.Stack(buf, true)])
	}

	// Streams open at the stop: they end, and Run returns nil.
	var ended sync.WaitGroup
	for range 3 {
		resp, err := http.Get(w.base + "/cameras/yard/stream.mjpg")
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("stream: %v", err)
		}
		ended.Add(1)
		go func() {
			defer ended.Done()
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
	}
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	if err := w.stop(); err != nil {
		t.Fatalf("stop with streams open: %v", err)
	}
	ended.Wait()
	t.Logf("stopped in %v with 3 streams open", time.Since(start).Round(time.Millisecond))
	if _, err := http.Get(w.base + "/healthz"); err == nil {
		t.Error("the server still answers after the agent stopped")
	}
	if !strings.Contains(w.log.String(), "agent stopped") {
		t.Errorf("no clean stop in the log:\n%s", w.log.String())
	}
}

// TestWebLegacy: a file without cameras: shows its one camera, named
// "camera", with its last labels and no regions; it is not editable, and
// an edit is a 409.
func TestWebLegacy(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	cfg.Camera.Loop = true
	cfg.HTTP.Listen = "127.0.0.1:0"
	log, _ := startAgent(t, cfg, Options{})
	addr := regexp.MustCompile(`http: status page" url=(http://[0-9.:]+)/`)
	w := &webAgent{cfg: cfg, log: log}
	waitFor(t, "the web server", func() bool {
		m := addr.FindStringSubmatch(log.String())
		if m != nil {
			w.base = m[1]
		}
		return m != nil
	})
	var st Status
	waitFor(t, "labels in /api/status", func() bool {
		st = w.status(t)
		return len(st.Cameras) == 1 && len(st.Cameras[0].Labels) > 0
	})
	c := st.Cameras[0]
	if st.Editable || c.Name != LegacyCamera || len(c.Regions) != 0 || c.Width != 28 || c.Height != 28 {
		t.Errorf("status %+v", st)
	}
	code, ct, body := w.get(t, "/cameras/camera/snapshot.jpg")
	if code != http.StatusOK || ct != "image/jpeg" {
		t.Fatalf("snapshot: %d %s", code, body)
	}
	if img, err := jpeg.Decode(bytes.NewReader(body)); err != nil || img.Bounds().Dx() != 28 {
		t.Errorf("snapshot: %v", err)
	}
	tok, err := os.ReadFile(authPath(&cfg))
	if err != nil {
		t.Fatal(err)
	}
	w.token = strings.TrimSpace(string(tok))
	if code, msg := w.write(t, http.MethodPut, "/api/cameras/camera/regions/a", `{"rect": [0, 0, 1, 1]}`, nil); code != http.StatusConflict {
		t.Errorf("an edit without cameras: %d %s", code, msg)
	}
}

// TestWebOff: listen "" runs no server: nothing is listened on and the
// agent runs as before.
func TestWebOff(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	rec := record(t, b.URL, "web-recorder", "coatnet/#")
	log, _ := startAgent(t, cfg, Options{})
	waitFor(t, "labels", func() bool { return rec.count(TopicsFor(&cfg).Labels) > 0 })
	if strings.Contains(log.String(), "http:") {
		t.Errorf("the log mentions http:\n%s", log.String())
	}
}

// TestFrameTapNoAllocations: a frame costs no allocation with a live view
// watching (copied into the tap's buffers at every frame here) nor
// without, on top of TestPlacesNoAllocationsPerFrame's pipeline.
func TestFrameTapNoAllocations(t *testing.T) {
	_, c, step := collectPlaces(t, defaultCollect())
	c.tap = newFrameTap()
	for range 20 {
		step()
	}
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	if n := testing.AllocsPerRun(50, step); n != 0 {
		t.Errorf("%.1f allocations per frame, nobody watching", n)
	}
	c.tap.wanted.Store(true)
	step()
	if n := testing.AllocsPerRun(50, func() {
		step()
		if !c.tap.slot.take() {
			t.Fatal("no frame handed over")
		}
		<-c.tap.ready
	}); n != 0 {
		t.Errorf("%.1f allocations per frame, watched", n)
	}
	if w, h := c.tap.frameSize(); w != 128 || h != 64 || c.tap.last.Load() == 0 {
		t.Errorf("tap saw %dx%d at %d", w, h, c.tap.last.Load())
	}
}

// TestFrameTapRate: a tap copies at most one frame per interval.
func TestFrameTapRate(t *testing.T) {
	tap := newFrameTap()
	tap.wanted.Store(true)
	tap.interval.Store(int64(time.Hour))
	f := bgrFrame(8, 4, 0, 1)
	for range 10 {
		tap.see(f)
	}
	if !tap.slot.take() || tap.slot.take() || len(tap.ready) != 1 {
		t.Error("not exactly one frame copied in an interval")
	}
	if tap.slot.dropped.Load() != 0 {
		t.Errorf("%d copies replaced", tap.slot.dropped.Load())
	}
}

// TestPageURL: Home Assistant's link to the page is public_url, else the
// listen address when others can reach it; none for loopback or off.
func TestPageURL(t *testing.T) {
	host, _ := os.Hostname()
	for _, c := range []struct{ listen, public, want string }{
		{"127.0.0.1:8080", "", ""},
		{"[::1]:8080", "", ""},
		{"localhost:8080", "", ""},
		{"", "", ""},
		{"", "https://cam.example/", "https://cam.example/"},
		{"127.0.0.1:8080", "https://proxy.lan/porch/", "https://proxy.lan/porch/"},
		{"192.168.1.20:8080", "", "http://192.168.1.20:8080/"},
		{"[fd00::2]:80", "", "http://[fd00::2]:80/"},
		{"0.0.0.0:8080", "", "http://" + net.JoinHostPort(host, "8080") + "/"},
		{":8080", "", "http://" + net.JoinHostPort(host, "8080") + "/"},
	} {
		if got := PageURL(&HTTPConfig{Listen: c.listen, PublicURL: c.public}); got != c.want {
			t.Errorf("listen %q, public_url %q: %q, want %q", c.listen, c.public, got, c.want)
		}
	}
	cfg := testConfig(t, "mqtt://127.0.0.1:1")
	for listen, want := range map[string]any{"127.0.0.1:8080": nil, "10.0.0.7:8080": "http://10.0.0.7:8080/"} {
		cfg.HTTP.Listen = listen
		d, err := DiscoveryPayload(&cfg, "fmnist-pre", "test")
		if err != nil {
			t.Fatal(err)
		}
		var msg struct {
			Dev map[string]any `json:"dev"`
		}
		if err := json.Unmarshal(d, &msg); err != nil {
			t.Fatal(err)
		}
		if got := msg.Dev["cu"]; got != want {
			t.Errorf("listen %s: configuration_url %v, want %v", listen, got, want)
		}
	}
}

// TestWebAuthFileErrors: a credential file others can read is an error
// naming http.auth_file, at the start and from run --check.
func TestWebAuthFileErrors(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.HTTP.AuthFile = filepath.Join(t.TempDir(), "auth")
	if err := os.WriteFile(cfg.HTTP.AuthFile, []byte("admin:secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := Run(ctx, cfg, Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "http.auth_file") {
		t.Errorf("Run: %v", err)
	}
	path := filepath.Join(t.TempDir(), "agent.yaml")
	if err := os.WriteFile(path, []byte("http: {auth_file: "+cfg.HTTP.AuthFile+"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CheckConfig(path); err == nil || !strings.Contains(err.Error(), "line 1: http.auth_file: ") {
		t.Errorf("run --check: %v", err)
	}
}

// TestWritableFile: the editor is off for a file the agent cannot
// replace, and says which part is not writable.
func TestWritableFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes through permissions")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(path, []byte("device: a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writableFile(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o700)
	if err := writableFile(path); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("a read-only folder: %v", err)
	}
	os.Chmod(dir, 0o700)
	os.Chmod(path, 0o400)
	if err := writableFile(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("a read-only file: %v", err)
	}
}

// BenchmarkFrameTap is what a camera frame costs the camera's goroutine
// for the live view: nobody watching, and watched with every frame copied
// (a 640 x 480 BGR frame; the real rate is at most http.stream_fps).
func BenchmarkFrameTap(b *testing.B) {
	f := bgrFrame(640, 480, 0, 90)
	for _, watched := range []bool{false, true} {
		b.Run(fmt.Sprintf("watched=%v", watched), func(b *testing.B) {
			tap := newFrameTap()
			tap.wanted.Store(watched)
			b.ReportAllocs()
			for b.Loop() {
				tap.see(f)
				tap.slot.take()
				select {
				case <-tap.ready:
				default:
				}
			}
		})
	}
}

// BenchmarkLiveViewEncode is one live-view picture of a 640 x 480 frame
// with two regions and their states drawn: the work a watched camera's
// view goroutine does at most http.stream_fps times a second, whatever the
// number of clients.
func BenchmarkLiveViewEncode(b *testing.B) {
	f := bgrFrame(640, 480, 0, 90)
	for i := range f.BGR {
		f.BGR[i] = byte(i * 7 % 251) // not flat: JPEG's work depends on it
	}
	var enc picture.Encoder
	boxes := []picture.Box{{Rect: image.Rect(40, 60, 300, 400), Label: "gate: open"},
		{Rect: image.Rect(340, 60, 600, 400), Label: "step: parcel"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := enc.EncodeFrame(f, picture.Options{MaxSide: liveMaxSide, Boxes: boxes}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestWebReload: a reload that leaves http: alone keeps the server (its
// port, its streams); one that changes http: replaces it.
func TestWebReload(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	w := startWebAgent(t, b, "", nil)
	pages := func() int { return strings.Count(w.log.String(), `http: status page"`) }
	waitFor(t, "the frame size", func() bool { st := w.status(t); return len(st.Cameras) == 1 && st.Cameras[0].Width > 0 })
	resp, err := http.Get(w.base + "/cameras/yard/stream.mjpg")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if code, msg := w.write(t, http.MethodPut, "/api/cameras/yard/regions/extra", `{"rect": [0.66667, 0, 1, 0.77778]}`, nil); code != http.StatusOK {
		t.Fatalf("PUT: %d %s", code, msg)
	}
	if pages() != 1 {
		t.Errorf("a reload without http: changes started the server again:\n%s", w.log.String())
	}
	// The stream opened before the reload goes on.
	mt, params, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	mr := multipart.NewReader(resp.Body, params["boundary"])
	for i := range 3 {
		if _, err := mr.NextPart(); err != nil || mt != "multipart/x-mixed-replace" {
			t.Fatalf("stream part %d after the reload: %v", i, err)
		}
	}

	text, err := os.ReadFile(w.path)
	if err != nil {
		t.Fatal(err)
	}
	text = bytes.Replace(text, []byte("# any free port\n"), []byte("# any free port\n  stream_fps: 2\n"), 1)
	if err := os.WriteFile(w.path, text, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, msg := w.write(t, http.MethodPut, "/api/cameras/yard/regions/extra", `{"rect": [0.7, 0, 1, 0.77778]}`, nil); code != http.StatusOK {
		t.Fatalf("PUT: %d %s", code, msg)
	}
	waitFor(t, "the server started again", func() bool { return pages() == 2 })
	old := w.base
	m := regexp.MustCompile(`http: status page" url=http://([0-9.:]+)/`).FindAllStringSubmatch(w.log.String(), -1)
	w.base = "http://" + m[1][1]
	if w.base == old {
		t.Fatalf("the new server listens where the old one did: %s", w.base)
	}
	if st := w.status(t); region(st.Cameras[0], "extra") == nil {
		t.Errorf("the new server's status: %+v", st)
	}
	if _, err := http.Get(old + "/healthz"); err == nil {
		t.Error("the old server still answers")
	}
	ended := make(chan struct{})
	go func() { io.Copy(io.Discard, resp.Body); close(ended) }()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Error("the stream of the old server did not end")
	}
}

// TestWebHealthzCamera: a camera whose frames stopped (a folder played
// once, beside a camera that goes on) makes /healthz 503, naming it.
func TestWebHealthzCamera(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	once := t.TempDir()
	pic, err := os.ReadFile(filepath.Join("..", "testdata", "fashion", "00000-ankle-boot.png"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(once, "0.png"), pic, 0o600); err != nil {
		t.Fatal(err)
	}
	w := startWebAgent(t, b, "", func(s string) string {
		return s + "  gone:\n    source: " + once + "\n    loop: false\n    fps: 5\n    stall_timeout: 1s\n    motion: {enabled: false}\n" +
			"    regions: {all: {}}\n"
	})
	var body []byte
	waitFor(t, "/healthz naming the camera that stopped", func() bool {
		var code int
		code, _, body = w.get(t, "/healthz")
		return code == http.StatusServiceUnavailable && strings.Contains(string(body), "camera gone: ") &&
			!strings.Contains(string(body), "yard") && !strings.Contains(string(body), "MQTT")
	})
	t.Logf("/healthz: 503 %q", body)
}
