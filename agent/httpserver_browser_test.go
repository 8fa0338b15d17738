package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/browser"
	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
)

// TestWebPageInBrowser drives the status page in headless chromium against
// a running agent on the web scene and a real mosquitto: the page loads
// without errors, the live view changes, the states it shows are the
// state topics', and a region drawn with the mouse over the third item
// lands in the configuration file (its comments kept) and, after the
// reload, gets a state on MQTT, which the page then shows. Screenshots are
// kept as artefacts.
func TestWebPageInBrowser(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	rec := record(t, b.URL, "web-recorder", "coatnet/#")
	w := startWebAgent(t, b, "", nil)
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
		if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			t.Fatalf("waiting for %s (%s): %v\nerror shown: %q", what, expr, err,
				eval(`document.getElementById("error").textContent`))
		}
	}
	shot := func(name string) {
		t.Helper()
		b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		browser.Save(t, art, name, b)
	}
	errs := browser.Errors(t, ctx)
	defer func() {
		if e := errs(); len(e) > 0 {
			t.Errorf("the page reported errors:\n%s", strings.Join(e, "\n"))
		}
	}()
	// The login a person types at the browser's prompt: any user, the token.
	run("load", browser.BasicAuth("admin", w.token), chromedp.Navigate(w.base+"/"))

	mqttLabel := func(region string) string {
		var st RegionState
		if p := rec.last(RegionTopicsFor(&w.cfg, "yard", region).State); len(p) > 0 && json.Unmarshal(p, &st) == nil {
			return st.Label
		}
		return ""
	}
	waitFor(t, "both states on MQTT", func() bool { return mqttLabel("left") != "" && mqttLabel("right") != "" })
	for _, r := range []string{"left", "right"} {
		wait("region "+r+"'s state as MQTT has it", fmt.Sprintf(`document.querySelector('tr[data-region=%q]')?.dataset.label === %q`,
			r, mqttLabel(r)))
	}
	if got := eval(`document.getElementById("device").textContent`); got != "web-cam" {
		t.Errorf("the page's device is %q", got)
	}

	first, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS("img.stream")))
	if err != nil {
		t.Fatal(err)
	}
	changed := false
	for range 40 {
		time.Sleep(150 * time.Millisecond)
		next, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS("img.stream")))
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
		t.Fatal("the live view shows the same picture for 6 s")
	}
	shot("page.png")

	// Draw a region over the trouser, the third item: x from 2/3 to the
	// right edge, y from the top to 28 of 36 rows.
	run("edit mode", chromedp.Click(chromedp.ID("edit")))
	img, err := chromedp.Run(ctx, browser.Box("img.stream"))
	if err != nil {
		t.Fatal(err)
	}
	x0, y0 := img.At(0.68, 0.01)
	x1, y1 := img.At(0.99, 0.76)
	run("draw", browser.Drag(x0, y0, x1, y1), chromedp.KeyEvent("extra"))
	shot("drawn.png")
	run("save", chromedp.Click(chromedp.CSS(".editor .save")))
	wait("the saved region", `document.getElementById("notice").textContent.includes("Saved region extra")`)
	edited, err := os.ReadFile(w.path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# the web tests' agent", "# any free port", "# the coat", "# the pullover", "      extra:"} {
		if !bytes.Contains(edited, []byte(want)) {
			t.Errorf("the file after the page's edit has no %q:\n%s", want, edited)
		}
	}
	cfg, err := ParseConfig(edited)
	if err != nil {
		t.Fatal(err)
	}
	if r := cfg.Cameras["yard"].Regions["extra"].Rect; len(r) != 4 || r[0] < 0.64 || r[0] > 0.72 || r[0]+r[2] < 0.95 {
		t.Errorf("the region drawn is %v in the file", r)
	}
	waitFor(t, "the drawn region's state on MQTT", func() bool { return mqttLabel("extra") != "" })
	wait("the drawn region's state in the page", fmt.Sprintf(`document.querySelector('tr[data-region="extra"]')?.dataset.label === %q`,
		mqttLabel("extra")))
	shot("saved.png")
	t.Logf("states: left %s, right %s, extra (drawn) %s", mqttLabel("left"), mqttLabel("right"), mqttLabel("extra"))
}
