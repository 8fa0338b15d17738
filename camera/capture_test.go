//go:build !nogocv

package camera

import (
	"context"
	"errors"
	"image"
	"io"
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

// writeVideo makes an MJPEG .avi of the sample pictures, each scaled to
// 64x64, and returns its path and the pictures.
func writeVideo(t *testing.T) (string, []gocv.Mat) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(samples, "*.png"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample pictures: %v", err)
	}
	path := filepath.Join(t.TempDir(), "samples.avi")
	w, err := gocv.VideoWriterFile(path, "MJPG", 10, 64, 64, true)
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
	c, err := OpenCapture(path, 0, false)
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
	loop, err := OpenCapture(path, 0, true)
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
}
