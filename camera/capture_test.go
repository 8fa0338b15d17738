//go:build !nogocv

package camera

import (
	"context"
	"errors"
	"image"
	"io"
	"math"
	"path/filepath"
	"testing"
	"time"

	"gocv.io/x/gocv"
)

func TestSourceKind(t *testing.T) {
	for spec, want := range map[string]string{
		"0":                          "device",
		"/dev/video2":                "device",
		"demo.avi":                   "file",
		"/srv/v/a.mp4":               "file",
		"https://cam.lan/mjpg":       "stream",
		"rtsp://10.0.0.5:554/stream": "stream",
		"libcamerasrc ! video/x-raw,width=640 ! appsink drop=1": "gstreamer",
	} {
		if got := SourceKind(spec); got != want {
			t.Errorf("%q: %s, want %s", spec, got, want)
		}
	}
}

// writeVideo makes an MJPEG .avi of the sample pictures at 10 fps, each
// scaled to 64x64, and returns its path and the pictures.
func writeVideo(t *testing.T) (string, []gocv.Mat) {
	t.Helper()
	return writeVideoAt(t, 10)
}

// writeVideoAt is writeVideo at fps frames a second.
func writeVideoAt(t *testing.T, fps float64) (string, []gocv.Mat) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(samples, "*.png"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample pictures: %v", err)
	}
	path := filepath.Join(t.TempDir(), "samples.avi")
	w, err := gocv.VideoWriterFile(path, "MJPG", fps, 64, 64, true)
	if err != nil {
		t.Fatal(err)
	}
	var frames []gocv.Mat
	for _, f := range files {
		src := gocv.IMRead(f, gocv.IMReadColor)
		dst := gocv.NewMat()
		gocv.Resize(src, &dst, image.Pt(64, 64), 0, 0, gocv.InterpolationNearestNeighbor)
		src.Close()
		if err := w.Write(dst); err != nil {
			t.Fatal(err)
		}
		frames = append(frames, dst)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path, frames
}

// TestCaptureVideoFile reads back a video written with OpenCV: every
// frame, in order, close to the picture written (MJPEG is lossy), then
// io.EOF; with loop, the first frame again.
func TestCaptureVideoFile(t *testing.T) {
	path, frames := writeVideo(t)
	defer func() {
		for _, m := range frames {
			m.Close()
		}
	}()
	// As fast as it decodes: this test is about the pixels.
	c, err := OpenCapture(path, math.Inf(1), false)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	for i, want := range frames {
		f, err := c.Next(ctx)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if f.Index != int64(i) || f.Width != 64 || f.Height != 64 || f.Image != nil {
			t.Fatalf("frame %d: index %d, %dx%d", i, f.Index, f.Width, f.Height)
		}
		pix, err := want.DataPtrUint8()
		if err != nil {
			t.Fatal(err)
		}
		var diff int
		for y := range 64 {
			for x := range 3 * 64 {
				diff += abs(int(f.BGR[y*f.Stride+x]) - int(pix[y*3*64+x]))
			}
		}
		f.Release()
		if mean := float64(diff) / (64 * 64 * 3); mean > 8 {
			t.Errorf("frame %d: mean difference %.1f levels from the picture written", i, mean)
		}
	}
	if _, err := c.Next(ctx); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
	loop, err := OpenCapture(path, math.Inf(1), true)
	if err != nil {
		t.Fatal(err)
	}
	defer loop.Close()
	for i := range len(frames) + 3 {
		f, err := loop.Next(ctx)
		if err != nil {
			t.Fatalf("looping, frame %d: %v", i, err)
		}
		f.Release()
	}
}

func abs(v int) int { return max(v, -v) }

func TestCaptureOpenErrors(t *testing.T) {
	for _, spec := range []string{
		filepath.Join(t.TempDir(), "missing.avi"), // no such file
		"/dev/video99", // no such device
	} {
		if c, err := OpenCapture(spec, 0, false); err == nil {
			c.Close()
			t.Errorf("%q opened", spec)
		}
	}
}

// TestCaptureFileRate: a video file plays at the rate asked, like a camera.
func TestCaptureFileRate(t *testing.T) {
	path, frames := writeVideo(t)
	for _, m := range frames {
		m.Close()
	}
	c, err := OpenCapture(path, 100, true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	for range 6 {
		f, err := c.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		f.Release()
	}
	// Five intervals of 10 ms at least; no upper bound (noisy machines).
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("6 frames at 100 fps took %v", d)
	}
	if _, err := OpenCapture(path, -1, false); err == nil {
		t.Error("a negative rate was accepted")
	}
	if _, err := OpenCapture(path, math.NaN(), false); err == nil {
		t.Error("a rate of NaN was accepted")
	}
}

// TestCaptureFileOwnRate: with no rate asked for, a video file plays at
// its own frame rate, like the camera that recorded it; frame numbers are
// positions in the file, from 0 again when it loops.
func TestCaptureFileOwnRate(t *testing.T) {
	const fps = 50
	path, frames := writeVideoAt(t, fps)
	n := len(frames)
	for _, m := range frames {
		m.Close()
	}
	c, err := OpenCapture(path, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	for i := range n + 5 {
		f, err := c.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		f.Release()
		if want, pass := int64(i%n), int64(i/n); f.Index != want || f.Loop != pass {
			t.Fatalf("frame %d of the playback is at %d in the file in loop %d, want %d and %d", i, f.Index, f.Loop,
				want, pass)
		}
	}
	// n+4 intervals at the file's rate at least; no upper bound.
	if d, want := time.Since(start), time.Duration(n+4)*time.Second/fps; d < want {
		t.Errorf("%d frames of a %d fps file took %v, want at least %v", n+5, fps, d, want)
	}
	if r := c.Rate(); r != (Rate{FPS: fps, From: "file", Reported: fps}) {
		t.Errorf("rate %+v", r)
	}
}

// TestCaptureFileRateAsked: a rate given to OpenCapture overrides the
// file's own, here slower.
func TestCaptureFileRateAsked(t *testing.T) {
	path, frames := writeVideoAt(t, 50)
	for _, m := range frames {
		m.Close()
	}
	c, err := OpenCapture(path, 20, false)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	for range 11 {
		f, err := c.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		f.Release()
	}
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Errorf("11 frames at 20 fps (the file says 50) took %v", d)
	}
	if r := c.Rate(); r != (Rate{FPS: 20, From: "asked", Reported: 50}) {
		t.Errorf("rate %+v", r)
	}
}

// TestCaptureRate: what a capture plays at, for each kind and what OpenCV
// reports; a file without a usable rate plays at DefaultFPS.
func TestCaptureRate(t *testing.T) {
	inf := math.Inf(1)
	for _, c := range []struct {
		kind          string
		fps, reported float64
		want          Rate
	}{
		{"file", 0, 30, Rate{30, "file", 30}},
		{"file", 0, 29.97, Rate{29.97, "file", 29.97}},
		{"file", 12, 30, Rate{12, "asked", 30}},
		{"file", inf, 30, Rate{inf, "asked", 30}},
		{"file", 0, 0, Rate{DefaultFPS, "default", 0}},
		{"file", 0, math.NaN(), Rate{DefaultFPS, "default", math.NaN()}},
		{"file", 0, 90000, Rate{DefaultFPS, "default", 90000}},
		{"file", 0, -1, Rate{DefaultFPS, "default", -1}},
		{"device", 0, 30, Rate{30, "source", 30}},
		{"device", 15, 15, Rate{15, "asked", 15}},
		{"device", inf, 30, Rate{30, "source", 30}},
		{"stream", 10, 0, Rate{0, "source", 0}},
		{"gstreamer", 10, 25, Rate{25, "source", 25}},
	} {
		got := captureRate(c.kind, c.fps, c.reported)
		same := got.FPS == c.want.FPS && got.From == c.want.From &&
			(got.Reported == c.want.Reported || math.IsNaN(got.Reported) && math.IsNaN(c.want.Reported))
		if !same {
			t.Errorf("%s asked %v, OpenCV says %v: %+v, want %+v", c.kind, c.fps, c.reported, got, c.want)
		}
	}
}
