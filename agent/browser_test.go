//go:build !nogocv

package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coatnet-edge/coatnet-edge/dataset"
	"github.com/coatnet-edge/coatnet-edge/demo"
	"github.com/coatnet-edge/coatnet-edge/internal/testing/browser"
	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
)

// browserConfigYAML is the browser test's configuration file: the demo
// scene (as `make run` plays it) with a region on its left place only,
// the right one left for the test to draw; comments for the editor to
// keep.
func browserConfigYAML(broker, stateDir, authFile string) string {
	left := demo.DemoScene().Regions[0]
	return fmt.Sprintf(`# the browser test's agent
device: porch
model: {path: demo}   # the built-in model
mqtt:
  broker: %s   # the test's mosquitto
state_dir: %s
http:
  listen: 127.0.0.1:0 # any free port
  auth_file: %s
cameras:
  # the demo scene, generated
  demo:
    source: demo
    regions:
      # the left place
      %s: {rect_px: [%d, %d, %d, %d], on_motion: true, every: 3s, confirm: 3}
`, broker, stateDir, authFile, left.Name, left.Rect.Min.X, left.Rect.Min.Y, left.Rect.Dx(), left.Rect.Dy())
}

// TestDemoBrowser runs the agent on the demo scene through GoCV with a
// real mosquitto, and its page in headless chromium logged in with basic
// auth: the page loads, the live view's frames change, the states shown
// are the retained state topics', and a region drawn with the mouse on
// the scene's right place and saved lands in the configuration file (its
// comments kept) and gets a state on MQTT once the agent has reloaded.
// The screenshots are kept as artefacts.
func TestDemoBrowser(t *testing.T) {
	if _, err := os.Stat(dataset.FashionMNISTDir); err != nil {
		t.Skip("dataset-fashion-mnist is not installed")
	}
	ctx := browser.Start(t)
	art := browser.Artifacts(t)
	b := mqtttest.Start(t, mqtttest.Options{})
	rec := record(t, b.URL, "browser-recorder", "coatnet/#")
	dir := t.TempDir()
	const user, password = "viewer", "s3cret-pass-for-the-test"
	auth := filepath.Join(dir, "http-auth")
	if err := os.WriteFile(auth, []byte(user+":"+password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "agent.yaml")
	original := browserConfigYAML(b.URL, filepath.Join(dir, "state"), auth)
	if err := os.WriteFile(path, []byte(original), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	log, _ := startAgent(t, cfg, Options{LoadConfig: func() (Config, error) { return LoadConfig(path) }, ConfigPath: path})
	addr := regexp.MustCompile(`http: status page" url=(http://[0-9.:]+/)`)
	var base string
	waitFor(t, "the web server", func() bool {
		m := addr.FindStringSubmatch(log.String())
		if m != nil {
			base = m[1]
		}
		return m != nil
	})

	eval := func(expr string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return s
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		browser.Save(t, art, name, png)
	}
	// until polls cond, a Go condition, every 200 ms for up to d.
	until := func(what string, d time.Duration, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(d); !cond(); time.Sleep(200 * time.Millisecond) {
			if time.Now().After(deadline) {
				shot("failed.png")
				t.Fatalf("timed out after %v waiting for %s; the page says %q", d, what,
					eval(`document.getElementById("error").textContent + " " + document.getElementById("offline").textContent`))
			}
		}
	}
	errs := browser.Errors(t, ctx)
	defer func() {
		if e := errs(); len(e) > 0 {
			t.Errorf("the page reported errors:\n%s", strings.Join(e, "\n"))
		}
	}()
	if err := chromedp.Do(ctx, browser.BasicAuth(user, password), chromedp.Navigate(base)); err != nil {
		t.Fatal(err)
	}
	// mqttState is the label of region's retained state topic, "" before one.
	mqttState := func(region string) string {
		var s RegionState
		if p := rec.last(RegionTopicsFor(&cfg, DemoCamera, region).State); p != nil {
			if err := json.Unmarshal(p, &s); err != nil {
				t.Fatalf("state of %s: %q: %v", region, p, err)
			}
		}
		return s.Label
	}
	// shown is the label the page shows for region, "" before one.
	shown := func(region string) string {
		return eval(fmt.Sprintf(`document.querySelector('tr[data-region=%q]')?.dataset.label ?? ""`, region))
	}
	until("the left region's state on MQTT and in the page", time.Minute, func() bool {
		l := mqttState("left")
		return l != "" && shown("left") == l
	})
	if got := eval(`document.getElementById("device").textContent`); got != "porch" {
		t.Errorf("the page names the device %q", got)
	}
	if got := eval(`document.getElementById("mqtt").textContent`); !strings.HasPrefix(got, "connected") {
		t.Errorf("the page says MQTT is %q", got)
	}
	shot("page.png")

	// The live view without the page's overlay (whose tags change with the
	// states): nothing moves in the scene between its changes, at most 10 s
	// apart.
	first, err := chromedp.Run(ctx, browser.Hidden(".overlay", chromedp.Screenshot(chromedp.CSS("img.stream"))))
	if err != nil {
		t.Fatal(err)
	}
	browser.Save(t, art, "stream-1.png", first)
	until("a new picture in the live view", 25*time.Second, func() bool {
		next, err := chromedp.Run(ctx, browser.Hidden(".overlay", chromedp.Screenshot(chromedp.CSS("img.stream"))))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(first, next) {
			return false
		}
		browser.Save(t, art, "stream-2.png", next)
		return true
	})

	// Draw "door" on the scene's right place, keeping the model inherited.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("edit"))); err != nil {
		t.Fatal(err)
	}
	sc := demo.DemoScene()
	right := sc.Regions[1].Rect
	want := [4]float64{float64(right.Min.X) / float64(sc.Width), float64(right.Min.Y) / float64(sc.Height),
		float64(right.Max.X) / float64(sc.Width), float64(right.Max.Y) / float64(sc.Height)}
	img, err := chromedp.Run(ctx, browser.Box("img.stream"))
	if err != nil {
		t.Fatal(err)
	}
	x0, y0 := img.At(want[0], want[1])
	x1, y1 := img.At(want[2], want[3])
	if err := chromedp.Do(ctx, browser.Drag(x0, y0, x1, y1), chromedp.KeyEvent("door")); err != nil {
		t.Fatal(err)
	}
	shot("drawn.png")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(".editor .save"))); err != nil {
		t.Fatal(err)
	}
	until("the page to say the region is saved", time.Minute, func() bool {
		return strings.Contains(eval(`document.getElementById("notice").textContent`), "Saved region door")
	})
	edited, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(original, "\n") {
		if c := strings.Index(line, "#"); c >= 0 && !bytes.Contains(edited, []byte(strings.TrimSpace(line[c:]))) {
			t.Errorf("the comment %q is gone:\n%s", line[c:], edited)
		}
	}
	after, err := ParseConfig(edited)
	if err != nil {
		t.Fatalf("%v\n%s", err, edited)
	}
	door, ok := after.Cameras[DemoCamera].Regions["door"]
	if !ok || len(door.Rect) != 4 {
		t.Fatalf("no region door with a rect in the file:\n%s", edited)
	}
	// The file's rect is x, y, width, height; the page drew it to within
	// a pixel of the picture shown.
	got := [4]float64{door.Rect[0], door.Rect[1], door.Rect[0] + door.Rect[2], door.Rect[1] + door.Rect[3]}
	for i := range got {
		if d := got[i] - want[i]; d > 0.01 || d < -0.01 {
			t.Fatalf("region door is %v in the file, drawn at %v:\n%s", door.Rect, want, edited)
		}
	}
	until("a state of door on MQTT and in the page", time.Minute, func() bool {
		l := mqttState("door")
		return l != "" && shown("door") == l
	})
	until("the page's states to be MQTT's", 30*time.Second, func() bool {
		return shown("left") == mqttState("left") && shown("door") == mqttState("door")
	})
	shot("saved.png")
}
