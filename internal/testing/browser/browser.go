// Package browser runs Debian's chromium headless for tests, driven through
// chromedp, and keeps what a test wants a person to look at (screenshots)
// as artefacts.
package browser

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Find is the path of chromium: `chromium` on PATH, else Debian's
// /usr/bin/chromium (PATH may lack /usr/bin under a service manager).
func Find() (string, error) {
	if p, err := exec.LookPath("chromium"); err == nil {
		return p, nil
	}
	if st, err := os.Stat("/usr/bin/chromium"); err == nil && !st.IsDir() {
		return "/usr/bin/chromium", nil
	}
	return "", fmt.Errorf("no chromium on PATH or at /usr/bin/chromium (apt-get install chromium)")
}

// Start runs a headless chromium for the test and returns a chromedp
// context of one tab, 1280x900, ended with the test. Without chromium the
// test is skipped, saying how to install it; under -short too (make
// test-arm64 runs the tests under qemu with -short, and the page is the
// same on every architecture). As root (containers) the sandbox is off:
// chromium refuses to start as root with it.
func Start(t testing.TB) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	path, err := Find()
	if err != nil {
		t.Skip("browser test skipped: ", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.WindowSize(1280, 900), chromedp.UserDataDir(t.TempDir()))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first action starts the browser, under no timeout of its own.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// BasicAuth makes every request of the tab carry user:password as basic
// auth, the login a person types into the browser's prompt.
func BasicAuth(user, password string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
		_, err := cdp.Call(ctx, t, network.SetExtraHTTPHeaders,
			network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": auth}})
		return err
	})
}

// Artifacts is the folder for the test's artefacts: $COATNET_ARTIFACTS/<test>
// when set (CI keeps it), else a temporary folder; logged either way.
func Artifacts(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if root := os.Getenv("COATNET_ARTIFACTS"); root != "" {
		dir = filepath.Join(root, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("artefacts in %s", dir)
	return dir
}

// Save writes b as name in the test's artefacts folder dir.
func Save(t testing.TB, dir, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Rect is an element's box in the viewport's CSS pixels, where mouse
// events are aimed.
type Rect struct{ X, Y, Width, Height float64 }

// At is the point at fractions fx, fy of the box.
func (r Rect) At(fx, fy float64) (x, y float64) { return r.X + fx*r.Width, r.Y + fy*r.Height }

// Box is the box of the first element matching the CSS selector sel.
func Box(sel string) chromedp.Action[Rect] {
	return chromedp.Evaluate[Rect](fmt.Sprintf(`(() => { const b = document.querySelector(%q).getBoundingClientRect();
		return {X: b.left, Y: b.top, Width: b.width, Height: b.height}; })()`, sel))
}

// Drag presses the left mouse button at x0, y0, moves it there to x1, y1
// in steps, as a hand does, and releases it.
func Drag(x0, y0, x1, y1 float64) chromedp.Action[chromedp.Void] {
	held := func(p *input.DispatchMouseEventParams) { p.Button, p.Buttons = input.MouseButtonLeft, 1 }
	steps := []chromedp.Action[chromedp.Void]{chromedp.MouseEvent(chromedp.MousePressed, x0, y0, held, chromedp.ClickCount(1))}
	const n = 8
	for i := 1; i <= n; i++ {
		f := float64(i) / n
		steps = append(steps, chromedp.MouseEvent(chromedp.MouseMoved, x0+f*(x1-x0), y0+f*(y1-y0), held))
	}
	return chromedp.Steps(append(steps, chromedp.MouseEvent(chromedp.MouseReleased, x1, y1, held, chromedp.ClickCount(1)))...)
}

// Errors gathers what the page reports as wrong from now until the test
// ends: uncaught exceptions, console errors, and the browser's own errors
// (a Content-Security-Policy violation is one). Failed responses, which a
// test provokes on purpose, are left out. The returned func lists them.
func Errors(t testing.TB, ctx context.Context) func() []string {
	var mu sync.Mutex
	var got []string
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if (m.Type == chromedp.ConsoleError || m.IsException()) && m.Source != "network" {
				mu.Lock()
				got = append(got, m.String()+" at "+m.URL)
				mu.Unlock()
			}
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// Hidden runs a with the elements matching the CSS selector hide made
// invisible, e.g. to take a screenshot of a picture without what is drawn
// over it.
func Hidden[T any](hide string, a chromedp.Action[T]) chromedp.Action[T] {
	return func(ctx context.Context, t *chromedp.Target) (T, error) {
		set := func(v string) error {
			_, err := chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
				`document.querySelectorAll(%q).forEach((e) => { e.style.visibility = %q; })`, hide, v))(ctx, t)
			return err
		}
		var zero T
		if err := set("hidden"); err != nil {
			return zero, err
		}
		v, err := a(ctx, t)
		if rerr := set(""); err == nil && rerr != nil {
			return zero, rerr
		}
		return v, err
	}
}
