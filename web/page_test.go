package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/coatnet-edge/coatnet-edge/internal/testing/browser"
)

// TestPageFiles: the page's files are served with their content types, a
// strict CSP, revalidation by ETag; other paths and methods are refused;
// nothing in them points off the device.
func TestPageFiles(t *testing.T) {
	srv := httptest.NewServer(Page())
	defer srv.Close()
	for path, ct := range map[string]string{
		"/":          "text/html; charset=utf-8",
		"/app.js":    "text/javascript; charset=utf-8",
		"/style.css": "text/css; charset=utf-8",
	} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		h := res.Header
		if res.StatusCode != 200 || h.Get("Content-Type") != ct || len(body) == 0 {
			t.Errorf("%s: %s, %q, %d bytes", path, res.Status, h.Get("Content-Type"), len(body))
		}
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self';") ||
			!strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe") ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Cache-Control") != "no-cache" {
			t.Errorf("%s: headers %v", path, h)
		}
		if bytes.Contains(body, []byte("://")) {
			t.Errorf("%s names another origin:\n%s", path, body)
		}
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("If-None-Match", h.Get("ETag"))
		res, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if h.Get("ETag") == "" || res.StatusCode != http.StatusNotModified {
			t.Errorf("%s: ETag %q revalidates to %s", path, h.Get("ETag"), res.Status)
		}
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/index.html"}, {"GET", "/nothing.js"}, {"GET", "/static/app.js"}, {"POST", "/"}, {"PUT", "/app.js"},
	} {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		want := http.StatusNotFound
		if c.method != "GET" {
			want = http.StatusMethodNotAllowed
		}
		if res.StatusCode != want {
			t.Errorf("%s %s: %s, want %d", c.method, c.path, res.Status, want)
		}
	}
}

// The fake agent's status, as the contract's /api/status has it.
type (
	fakeStatus struct {
		Device       string       `json:"device"`
		Version      string       `json:"version"`
		UptimeS      float64      `json:"uptime_s"`
		CSRF         string       `json:"csrf"`
		Editable     bool         `json:"editable"`
		Model        fakeModel    `json:"model"`
		MQTT         fakeMQTT     `json:"mqtt"`
		TemperatureC *float64     `json:"temperature_c"`
		ClassifyPerS float64      `json:"classify_per_s"`
		InferenceP50 float64      `json:"inference_p50_ms"`
		InferenceP99 float64      `json:"inference_p99_ms"`
		Models       []string     `json:"models"`
		Cameras      []fakeCamera `json:"cameras"`
		Throttled    bool         `json:"throttled"`
		Paused       bool         `json:"paused"`
	}
	fakeModel struct {
		Name    string `json:"name"`
		SHA256  string `json:"sha256"`
		Kernels string `json:"kernels"`
	}
	fakeMQTT struct {
		Broker    string `json:"broker"`
		Connected bool   `json:"connected"`
	}
	fakeCamera struct {
		Name      string       `json:"name"`
		Width     int          `json:"width"`
		Height    int          `json:"height"`
		Available bool         `json:"available"`
		Motion    bool         `json:"motion"`
		Stream    string       `json:"stream"`
		Snapshot  string       `json:"snapshot"`
		Regions   []fakeRegion `json:"regions"`
		Labels    []fakeLabel  `json:"labels,omitempty"`
	}
	fakeLabel struct {
		Label string  `json:"label"`
		Score float64 `json:"score"`
	}
	fakeRegion struct {
		Name     string     `json:"name"`
		Rect     [4]float64 `json:"rect"`
		Model    string     `json:"model"`
		State    *fakeState `json:"state"`
		Snapshot string     `json:"snapshot"`
	}
	fakeState struct {
		Label string  `json:"label"`
		Score float64 `json:"score"`
		Since string  `json:"since"`
	}
)

// fakeWrite is a write the fake agent was sent.
type fakeWrite struct {
	Method, Region, CSRF string
	Body                 struct {
		Rect  [4]float64 `json:"rect"`
		Model *string    `json:"model"`
	}
}

// fakeAgent serves Page and the contract's API from a canned status,
// applying the page's writes to it: what the page does can be checked
// without an agent, a camera or GoCV.
type fakeAgent struct {
	mu     sync.Mutex
	status fakeStatus
	writes []fakeWrite
}

func newFakeAgent() *fakeAgent {
	temp := 51.2
	return &fakeAgent{status: fakeStatus{
		Device: "porch", Version: "test", UptimeS: 125, CSRF: "csrf-7f3a", Editable: true,
		Model:        fakeModel{Name: "fmnist-pre-int8", SHA256: "0123456789abcdef0123", Kernels: "avx512vnni"},
		MQTT:         fakeMQTT{Broker: "mqtt://127.0.0.1:1883", Connected: true},
		TemperatureC: &temp, ClassifyPerS: 4.1, InferenceP50: 8.1, InferenceP99: 12,
		Models: []string{"/var/lib/coatnet/models/a.coatnet", "/var/lib/coatnet/models/b.coatnet"},
		Cameras: []fakeCamera{{Name: "demo", Width: 320, Height: 240, Available: true, Motion: true,
			Stream: "/cameras/demo/stream.mjpg", Snapshot: "/cameras/demo/snapshot.jpg",
			Regions: []fakeRegion{
				{Name: "left", Rect: [4]float64{0.075, 0.2333, 0.475, 0.7667}, Model: "/var/lib/coatnet/models/a.coatnet",
					State:    &fakeState{Label: "Coat", Score: 0.91, Since: time.Now().Add(-42 * time.Second).UTC().Format(time.RFC3339)},
					Snapshot: "/cameras/demo/regions/left/snapshot.jpg"},
				{Name: "right", Rect: [4]float64{0.525, 0.2333, 0.925, 0.7667},
					Snapshot: "/cameras/demo/regions/right/snapshot.jpg"},
			}}},
	}}
}

func (f *fakeAgent) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /", Page())
	mux.HandleFunc("GET /api/status", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		writeJSON(w, 200, f.status)
	})
	mux.HandleFunc("GET /cameras/demo/stream.mjpg", func(w http.ResponseWriter, r *http.Request) {
		mw := multipart.NewWriter(w)
		mw.SetBoundary("frame")
		w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary=frame")
		for i := 0; r.Context().Err() == nil; i++ {
			part, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"image/jpeg"}})
			if err != nil {
				return
			}
			if err := jpeg.Encode(part, fakeFrame(i), nil); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			time.Sleep(100 * time.Millisecond)
		}
	})
	mux.HandleFunc("GET /cameras/demo/regions/left/snapshot.jpg", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		jpeg.Encode(w, fakeFrame(0), nil)
	})
	write := func(w http.ResponseWriter, r *http.Request) {
		wr := fakeWrite{Method: r.Method, Region: r.PathValue("region"), CSRF: r.Header.Get("X-CSRF-Token")}
		if r.Method == "PUT" {
			if err := json.NewDecoder(r.Body).Decode(&wr.Body); err != nil {
				writeJSON(w, 400, map[string]string{"error": err.Error()})
				return
			}
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.writes = append(f.writes, wr)
		cam := &f.status.Cameras[0]
		k := -1
		for i, reg := range cam.Regions {
			if reg.Name == wr.Region {
				k = i
			}
		}
		switch {
		case wr.CSRF != f.status.CSRF:
			writeJSON(w, 403, map[string]string{"error": "missing or wrong X-CSRF-Token"})
		case wr.Region == "bad":
			writeJSON(w, 400, map[string]string{"error": "cameras.demo.regions.bad: refused by the fake agent"})
		case r.Method == "PUT":
			reg := fakeRegion{Name: wr.Region, Rect: wr.Body.Rect}
			if wr.Body.Model != nil {
				reg.Model = *wr.Body.Model
			}
			if k < 0 {
				cam.Regions = append(cam.Regions, reg)
			} else {
				reg.State, reg.Snapshot = cam.Regions[k].State, cam.Regions[k].Snapshot
				cam.Regions[k] = reg
			}
			writeJSON(w, 200, map[string]string{"saved": "/etc/coatnet/agent.yaml"})
		case r.Method == "DELETE" && k >= 0:
			cam.Regions = append(cam.Regions[:k], cam.Regions[k+1:]...)
			writeJSON(w, 200, map[string]string{"saved": "/etc/coatnet/agent.yaml"})
		default:
			writeJSON(w, 404, map[string]string{"error": "no region " + wr.Region})
		}
	}
	mux.HandleFunc("PUT /api/cameras/demo/regions/{region}", write)
	mux.HandleFunc("DELETE /api/cameras/demo/regions/{region}", write)
	return mux
}

// write is the page's nth write, waited for up to 10 s.
func (f *fakeAgent) write(t *testing.T, n int) fakeWrite {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		f.mu.Lock()
		if len(f.writes) >= n {
			w := f.writes[n-1]
			f.mu.Unlock()
			return w
		}
		f.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("the page sent %d writes, want %d", len(f.writes), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// fakeFrame is frame i of the fake stream: a square that moves across a grey picture.
func fakeFrame(i int) image.Image {
	img := image.NewGray(image.Rect(0, 0, 320, 240))
	for p := range img.Pix {
		img.Pix[p] = 110
	}
	x := (i * 16) % 280
	for y := 100; y < 140; y++ {
		for dx := range 40 {
			img.SetGray(x+dx, y, color.Gray{Y: 240})
		}
	}
	return img
}

// near reports whether a and b agree within tol at each place.
func near(a, b [4]float64, tol float64) bool {
	for i := range a {
		if math.Abs(a[i]-b[i]) > tol {
			return false
		}
	}
	return true
}

// TestPageInBrowser drives the page in headless chromium against the fake
// agent: the header and the states show what the status says, the stream
// plays, and regions are drawn, moved, resized (with the mouse and the
// keyboard), saved with the CSRF token and deleted, with the API's errors
// shown in the page.
func TestPageInBrowser(t *testing.T) {
	fake := newFakeAgent()
	srv := httptest.NewServer(fake.handler())
	// Closed after the browser (cleanups run last first), which ends its
	// stream.
	t.Cleanup(srv.Close)
	ctx := browser.Start(t)
	art := browser.Artifacts(t)
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(expr string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return s
	}
	wait := func(what, expr string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Fatalf("waiting for %s (%s): %v\nerror shown: %q", what, expr, err,
				eval(`document.getElementById("error").textContent`))
		}
	}
	errs := browser.Errors(t, ctx)
	defer func() {
		if e := errs(); len(e) > 0 {
			t.Errorf("the page reported errors:\n%s", strings.Join(e, "\n"))
		}
	}()
	run("load", chromedp.Navigate(srv.URL+"/"))
	wait("the states", `document.querySelector('tr[data-region="left"]')?.dataset.label === "Coat"`)
	for sel, want := range map[string]string{
		"#device": "porch", "#kernels": "avx512vnni", "#rate": "4.1 /s", "#latency": "8.1 ms / 12.0 ms",
		"#temperature": "51.2 °C", "#mqtt": "connected to mqtt://127.0.0.1:1883",
		`tr[data-region="left"] .score`: "0.91", `tr[data-region="right"] .label`: "no state yet",
		".motion": "motion",
	} {
		if got := eval(fmt.Sprintf(`document.querySelector(%q).textContent`, sel)); got != want {
			t.Errorf("%s shows %q, want %q", sel, got, want)
		}
	}
	wait("the thumbnail", `!document.querySelector('tr[data-region="left"] img.thumb').hidden`)

	first, err := chromedp.Run(ctx, browser.Hidden(".overlay", chromedp.Screenshot(chromedp.CSS("img.stream"))))
	if err != nil {
		t.Fatal(err)
	}
	changed := false
	for range 20 {
		time.Sleep(150 * time.Millisecond)
		next, err := chromedp.Run(ctx, browser.Hidden(".overlay", chromedp.Screenshot(chromedp.CSS("img.stream"))))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, next) {
			browser.Save(t, art, "stream-1.png", first)
			browser.Save(t, art, "stream-2.png", next)
			changed = true
			break
		}
	}
	if !changed {
		t.Fatal("the stream shows the same picture for 3 s")
	}
	page, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	browser.Save(t, art, "page.png", page)

	// Draw a new region from (0.6, 0.1) to (0.9, 0.4) of the picture, name
	// it, pick a model, save.
	run("edit mode", chromedp.Click(chromedp.ID("edit")))
	// picture is the live view's box now: a click may have scrolled.
	picture := func() browser.Rect {
		t.Helper()
		r, err := chromedp.Run(ctx, browser.Box("img.stream"))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	img := picture()
	x0, y0 := img.At(0.6, 0.1)
	x1, y1 := img.At(0.9, 0.4)
	run("draw", browser.Drag(x0, y0, x1, y1))
	run("name and model",
		chromedp.KeyEvent("door"),
		chromedp.SetValue(chromedp.CSS(`.editor select[name="model"]`), fake.status.Models[1]),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('.editor select').dispatchEvent(new Event("input", {bubbles: true}))`))
	drawn, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	browser.Save(t, art, "drawn.png", drawn)
	run("save", chromedp.Click(chromedp.CSS(".editor .save")))
	w := fake.write(t, 1)
	if w.Method != "PUT" || w.Region != "door" || w.CSRF != fake.status.CSRF || !near(w.Body.Rect, [4]float64{0.6, 0.1, 0.9, 0.4}, 0.01) ||
		w.Body.Model == nil || *w.Body.Model != fake.status.Models[1] {
		t.Fatalf("the page sent %+v", w)
	}
	wait("the saved region", `document.querySelector('tr[data-region="door"]') !== null &&
		document.getElementById("notice").textContent.includes("Saved region door")`)

	// Move it by (-0.1, +0.2) by dragging inside it, then resize it at its
	// bottom-right corner to (0.95, 0.7).
	run("select", chromedp.Click(chromedp.CSS(`tr[data-region="door"] button`)))
	img = picture()
	mx, my := img.At(0.75, 0.25)
	tx, ty := img.At(0.65, 0.45)
	run("move", browser.Drag(mx, my, tx, ty))
	corner, err := chromedp.Run(ctx, browser.Box(".draft .handle.se"))
	if err != nil {
		t.Fatal(err)
	}
	cx, cy := corner.At(0.5, 0.5)
	rx, ry := img.At(0.95, 0.7)
	run("resize", browser.Drag(cx, cy, rx, ry))
	// Then 5 steps left and 2 narrower with the keyboard (it has the focus).
	keys := []chromedp.Action[chromedp.Void]{}
	for range 5 {
		keys = append(keys, chromedp.KeyEvent(kb.ArrowLeft))
	}
	for range 2 {
		keys = append(keys, chromedp.KeyEvent(kb.ArrowLeft, chromedp.KeyModifiers(chromedp.ModifierShift)))
	}
	run("keys", keys...)
	run("save again", chromedp.Click(chromedp.CSS(".editor .save")))
	w = fake.write(t, 2)
	if w.Method != "PUT" || w.Region != "door" || !near(w.Body.Rect, [4]float64{0.45, 0.3, 0.88, 0.7}, 0.01) {
		t.Fatalf("after moving and resizing, the page sent %+v", w)
	}

	// A region the agent refuses: its error is shown.
	img = picture()
	bx0, by0 := img.At(0.1, 0.1)
	bx1, by1 := img.At(0.3, 0.3)
	run("draw bad", browser.Drag(bx0, by0, bx1, by1),
		chromedp.KeyEvent("bad"),
		chromedp.Click(chromedp.CSS(".editor .save")))
	wait("the error", `document.getElementById("error").textContent.includes("refused by the fake agent") &&
		!document.getElementById("error").hidden`)
	refused, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	browser.Save(t, art, "error.png", refused)

	// Delete the new region.
	run("delete", chromedp.Click(chromedp.CSS(".editor .cancel")),
		chromedp.Click(chromedp.CSS(`tr[data-region="door"] button`)),
		chromedp.Click(chromedp.CSS(".editor .delete")))
	if w = fake.write(t, 4); w.Method != "DELETE" || w.Region != "door" || w.CSRF != fake.status.CSRF {
		t.Fatalf("delete sent %+v", w)
	}
	wait("the region gone", `document.querySelector('tr[data-region="door"]') === null`)

	// The status's order, the rows kept: reversed by the agent, the rows
	// follow, the same nodes; once in order, two polls move none of them
	// (a moved row is re-inserted, which loses a click in it).
	run("mark", chromedp.Evaluate[chromedp.Void](`document.querySelectorAll(".regions tbody tr").forEach((tr) => { tr.mark = tr.dataset.region; });
		window.rowMoves = 0;
		new MutationObserver((ms) => { window.rowMoves += ms.length; }).observe(document.querySelector(".regions tbody"), {childList: true})`))
	fake.mu.Lock()
	slices.Reverse(fake.status.Cameras[0].Regions)
	fake.mu.Unlock()
	wait("the rows reversed", `[...document.querySelectorAll(".regions tbody tr")].map((tr) => tr.dataset.region + "=" + tr.mark).join() === "right=right,left=left"`)
	run("settle", chromedp.Evaluate[chromedp.Void](`window.rowMoves = 0`), chromedp.Sleep(3500*time.Millisecond))
	if moves := eval(`String(window.rowMoves)`); moves != "0" {
		t.Errorf("rows in order moved %s times in two polls", moves)
	}
}

// TestPageLegacyInBrowser: for a file without cameras: the page shows the
// camera's last labels, no regions table and no editor.
func TestPageLegacyInBrowser(t *testing.T) {
	fake := newFakeAgent()
	fake.status.Editable = false
	fake.status.Models = nil
	fake.status.Cameras[0].Name, fake.status.Cameras[0].Regions = "camera", nil
	fake.status.Cameras[0].Labels = []fakeLabel{{"Bag", 0.8}, {"Sandal", 0.1}}
	fake.status.Cameras[0].Stream = "/cameras/demo/stream.mjpg" // the fake's one stream
	srv := httptest.NewServer(fake.handler())
	t.Cleanup(srv.Close)
	ctx := browser.Start(t)
	errs := browser.Errors(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](`document.querySelector(".labels li") !== null`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[
		[...document.querySelectorAll(".labels li")].map((li) => li.textContent).join(", "),
		String(document.getElementById("edit").hidden), String(document.querySelector("table.regions").hidden),
		document.querySelector(".camera .name").textContent]`))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Bag 0.80, Sandal 0.10", "true", "true", "camera"}; !slices.Equal(got, want) {
		t.Errorf("labels, edit hidden, regions hidden, camera: %q, want %q", got, want)
	}
	if e := errs(); len(e) > 0 {
		t.Errorf("the page reported errors:\n%s", strings.Join(e, "\n"))
	}
}
