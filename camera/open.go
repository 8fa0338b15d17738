package camera

import (
	"context"
	"fmt"
	"hash/maphash"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Open opens the source a configuration names: a folder of pictures
// (played at fps, see OpenFolder), or a video file or what else OpenCV
// opens (see OpenCapture for what fps does to each), where this build has
// GoCV.
func Open(spec string, fps float64, loop bool) (Source, error) {
	if IsFolder(spec) {
		return OpenFolder(spec, fps, loop)
	}
	return openCapture(spec, fps, loop)
}

// IsFolder reports whether spec names a folder, played as pictures.
func IsFolder(spec string) bool {
	st, err := os.Stat(spec)
	return err == nil && st.IsDir()
}

// SourceKind says how OpenCV opens spec: "device", "gstreamer", "stream"
// or "file".
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

// Live reports whether spec is a camera or stream rather than a recording:
// its frames come in real time and never repeat exactly.
func Live(spec string) bool {
	return !IsFolder(spec) && SourceKind(spec) != "file"
}

// DetectFrozen fails src once it has delivered the same pixels for timeout:
// a live camera's frames always differ a little (sensor noise), but a
// Jetson's Argus can repeat its last frame forever when the sensor stops.
// The error lets Reopening reopen the camera as for any failure. Frames
// without BGR pixels pass unchecked.
func DetectFrozen(src Source, timeout time.Duration) Source {
	return &frozenGuard{Source: src, timeout: timeout, seed: maphash.MakeSeed()}
}

type frozenGuard struct {
	Source
	timeout time.Duration
	seed    maphash.Seed
	last    uint64
	since   time.Time // when the pixels last changed; zero before the first frame
}

func (g *frozenGuard) Next(ctx context.Context) (Frame, error) {
	f, err := g.Source.Next(ctx)
	if err != nil || f.BGR == nil {
		return f, err
	}
	h := maphash.Bytes(g.seed, f.BGR)
	if g.since.IsZero() || h != g.last {
		g.last, g.since = h, f.Time
		return f, nil
	}
	if f.Time.Sub(g.since) >= g.timeout {
		f.Release()
		g.since = time.Time{}
		return Frame{}, fmt.Errorf("camera: %s: the same frame for %v: frozen", g.Name(), g.timeout)
	}
	return f, nil
}
