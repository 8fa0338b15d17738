//go:build !nogocv

package camera

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"gocv.io/x/gocv"
)

// Capture is a source read through OpenCV (GoCV): a V4L2 device (an index
// or /dev/videoN), a GStreamer pipeline (anything with '!', ending in
// appsink), an rtsp:// or http(s):// stream, or a video file.
type Capture struct {
	spec  string
	kind  string // device, gstreamer, stream or file
	loop  bool
	cap   *gocv.VideoCapture
	mat   gocv.Mat
	index int64
}

// SourceKind says how spec is opened: "device", "gstreamer", "stream" or
// "file".
func SourceKind(spec string) string {
	s := strings.TrimSpace(spec)
	if _, err := strconv.Atoi(s); err == nil || strings.HasPrefix(s, "/dev/video") {
		return "device"
	}
	if strings.Contains(s, "!") {
		return "gstreamer"
	}
	if u, err := url.Parse(s); err == nil {
		switch u.Scheme {
		case "rtsp", "rtsps", "http", "https":
			return "stream"
		}
	}
	return "file"
}

// OpenCapture opens spec; loop replays a video file from the start when it
// ends (other kinds never end).
func OpenCapture(spec string, loop bool) (*Capture, error) {
	c := &Capture{spec: spec, kind: SourceKind(spec), loop: loop}
	var (
		vc  *gocv.VideoCapture
		err error
	)
	switch c.kind {
	case "device":
		dev := strings.TrimSpace(spec)
		if n, aerr := strconv.Atoi(dev); aerr == nil {
			vc, err = gocv.OpenVideoCaptureWithAPI(n, gocv.VideoCaptureV4L2)
		} else {
			vc, err = gocv.OpenVideoCaptureWithAPI(dev, gocv.VideoCaptureV4L2)
		}
	case "gstreamer":
		vc, err = gocv.OpenVideoCaptureWithAPI(spec, gocv.VideoCaptureGstreamer)
	case "stream":
		vc, err = gocv.OpenVideoCaptureWithAPI(spec, gocv.VideoCaptureFFmpeg)
	default:
		if _, serr := os.Stat(spec); serr != nil {
			return nil, fmt.Errorf("camera: %w", serr)
		}
		vc, err = gocv.OpenVideoCaptureWithAPI(spec, gocv.VideoCaptureAny)
	}
	if err != nil {
		return nil, fmt.Errorf("camera: opening %s %q: %w", c.kind, spec, err)
	}
	if !vc.IsOpened() {
		vc.Close()
		return nil, fmt.Errorf("camera: OpenCV could not open %s %q", c.kind, spec)
	}
	if c.kind == "device" {
		// Only V4L2 honours it: no queue of old frames in the driver.
		vc.Set(gocv.VideoCaptureBufferSize, 1)
	}
	c.cap, c.mat = vc, gocv.NewMat()
	return c, nil
}

// Name says what the source reads.
func (c *Capture) Name() string { return c.kind + " " + c.spec }

// Next reads the next frame. The end of a video file is io.EOF, or the
// first frame again with loop; a device or stream that stops giving
// frames is an error.
func (c *Capture) Next(ctx context.Context) (Frame, error) {
	if err := ctx.Err(); err != nil {
		return Frame{}, err
	}
	if !c.cap.Read(&c.mat) || c.mat.Empty() {
		if c.kind != "file" {
			return Frame{}, fmt.Errorf("camera: %s gave no frame", c.Name())
		}
		if !c.loop {
			return Frame{}, io.EOF
		}
		c.cap.Set(gocv.VideoCapturePosFrames, 0)
		if !c.cap.Read(&c.mat) || c.mat.Empty() {
			return Frame{}, fmt.Errorf("camera: %s: no frame after rewinding", c.Name())
		}
	}
	img, err := c.mat.ToImage()
	if err != nil {
		return Frame{}, fmt.Errorf("camera: %s: %w", c.Name(), err)
	}
	f := Frame{Image: img, Time: time.Now(), Index: c.index}
	c.index++
	return f, nil
}

// Close releases the capture and its frame buffer.
func (c *Capture) Close() error {
	err := c.cap.Close()
	return errors.Join(err, c.mat.Close())
}
