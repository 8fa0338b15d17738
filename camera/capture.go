//go:build !nogocv

package camera

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"gocv.io/x/gocv"
)

// Capture is a source read through OpenCV (GoCV): a V4L2 device (an index
// or /dev/videoN), a GStreamer pipeline (anything with '!', ending in
// appsink), an rtsp:// or http(s):// stream, or a video file.
//
// Frames carry OpenCV's own BGR buffer, with no copy: Capture keeps a few
// buffers, and a frame's Release hands its buffer back for the next read.
type Capture struct {
	spec  string
	kind  string // device, gstreamer, stream or file
	loop  bool
	pace  pacer // video files only: devices and streams pace themselves
	rate  Rate
	cap   *gocv.VideoCapture
	index int64 // the next frame's position in the file
	loops int64

	mu     sync.Mutex
	free   []*frameBuffer // buffers ready for a read
	closed bool
}

// frameBuffer is a read buffer and, for sources that deliver grey or BGRA,
// the BGR conversion of it.
type frameBuffer struct {
	raw, bgr gocv.Mat
	release  func() // made once, so a frame costs no allocation
}

func (b *frameBuffer) close() error { return errors.Join(b.raw.Close(), b.bgr.Close()) }

// keptBuffers bounds the spare buffers: one being read, one waiting in
// Latest, one being classified, and one spare.
const keptBuffers = 4

// OpenCapture opens spec. A video file plays at fps frames a second: 0
// is its own rate (CAP_PROP_FPS, or DefaultFPS where it states none
// usable), +Inf as fast as it decodes; with loop it starts again when it
// ends (other kinds never end). A V4L2 device is asked for fps (0: the
// driver's choice); GStreamer pipelines and streams deliver at their own
// rate whatever fps is.
func OpenCapture(spec string, fps float64, loop bool) (*Capture, error) {
	if err := checkFPS(fps); err != nil {
		return nil, err
	}
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
		if fps > 0 && !math.IsInf(fps, 1) {
			vc.Set(gocv.VideoCaptureFPS, fps)
		}
	}
	c.cap = vc
	c.rate = captureRate(c.kind, fps, vc.Get(gocv.VideoCaptureFPS))
	if c.kind == "file" {
		c.pace.fps = c.rate.FPS
	}
	return c, nil
}

// captureRate is the rate a capture of kind delivers at, asked for fps,
// where OpenCV reports reported.
func captureRate(kind string, fps, reported float64) Rate {
	switch {
	case kind != "file":
		r := Rate{FPS: reported, From: "source", Reported: reported}
		if kind == "device" && fps > 0 && !math.IsInf(fps, 1) {
			r.From = "asked" // the driver may choose another: FPS is what it says
		}
		if !(r.FPS > 0 && r.FPS <= maxFileFPS) {
			r.FPS = 0
		}
		return r
	case fps > 0:
		return Rate{FPS: fps, From: "asked", Reported: reported}
	case reported > 0 && reported <= maxFileFPS:
		return Rate{FPS: reported, From: "file", Reported: reported}
	}
	return Rate{FPS: DefaultFPS, From: "default", Reported: reported}
}

// Rate is the frame rate the capture delivers at.
func (c *Capture) Rate() Rate { return c.rate }

// Name says what the source reads.
func (c *Capture) Name() string { return c.kind + " " + c.spec }

// Next reads the next frame. The end of a video file is io.EOF, or the
// first frame again with loop; a device or stream that stops giving
// frames is an error.
func (c *Capture) Next(ctx context.Context) (Frame, error) {
	if err := c.pace.wait(ctx); err != nil {
		return Frame{}, err
	}
	buf := c.buffer()
	rewound, err := c.read(buf)
	if err != nil {
		c.put(buf)
		return Frame{}, err
	}
	if rewound {
		c.index = 0
		c.loops++
		c.pace.rewind()
	}
	m := buf.raw
	switch m.Channels() {
	case 3:
	case 1:
		gocv.CvtColor(buf.raw, &buf.bgr, gocv.ColorGrayToBGR)
		m = buf.bgr
	case 4:
		gocv.CvtColor(buf.raw, &buf.bgr, gocv.ColorBGRAToBGR)
		m = buf.bgr
	default:
		c.put(buf)
		return Frame{}, fmt.Errorf("camera: %s gave frames with %d channels", c.Name(), m.Channels())
	}
	if m.Type()&7 != 0 { // depth CV_8U
		c.put(buf)
		return Frame{}, fmt.Errorf("camera: %s gave frames of OpenCV type %v, not 8-bit", c.Name(), m.Type())
	}
	pix, err := m.DataPtrUint8()
	if err != nil {
		c.put(buf)
		return Frame{}, fmt.Errorf("camera: %s: %w", c.Name(), err)
	}
	f := Frame{BGR: pix, Width: m.Cols(), Height: m.Rows(), Stride: m.Step(), Time: time.Now(), Index: c.index,
		Loop: c.loops, release: buf.release}
	c.index++
	return f, nil
}

// read fills buf.raw with the next frame, rewinding a looping file; it
// says whether it rewound.
func (c *Capture) read(buf *frameBuffer) (bool, error) {
	if c.cap.Read(&buf.raw) && !buf.raw.Empty() {
		return false, nil
	}
	if c.kind != "file" {
		return false, fmt.Errorf("camera: %s gave no frame", c.Name())
	}
	if !c.loop {
		return false, io.EOF
	}
	c.cap.Set(gocv.VideoCapturePosFrames, 0)
	if !c.cap.Read(&buf.raw) || buf.raw.Empty() {
		return false, fmt.Errorf("camera: %s: no frame after rewinding", c.Name())
	}
	return true, nil
}

// buffer returns a free buffer, or a new one.
func (c *Capture) buffer() *frameBuffer {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := len(c.free); n > 0 {
		b := c.free[n-1]
		c.free = c.free[:n-1]
		return b
	}
	b := &frameBuffer{raw: gocv.NewMat(), bgr: gocv.NewMat()}
	b.release = func() { c.put(b) }
	return b
}

// put takes a buffer back: kept for reuse, or closed when the capture is
// closed or enough are kept.
func (c *Capture) put(b *frameBuffer) {
	c.mu.Lock()
	keep := !c.closed && len(c.free) < keptBuffers
	if keep {
		c.free = append(c.free, b)
	}
	c.mu.Unlock()
	if !keep {
		b.close()
	}
}

// Close releases the capture and its spare buffers; buffers of frames not
// yet released are freed by their Release.
func (c *Capture) Close() error {
	c.mu.Lock()
	c.closed = true
	free := c.free
	c.free = nil
	c.mu.Unlock()
	err := c.cap.Close()
	for _, b := range free {
		err = errors.Join(err, b.close())
	}
	return err
}
