//go:build linux

package agent

import (
	"image"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/coatnet-edge/coatnet-edge/camera"
	"github.com/coatnet-edge/coatnet-edge/dataset"
	"github.com/coatnet-edge/coatnet-edge/demo"
	"github.com/coatnet-edge/coatnet-edge/model"
	"github.com/coatnet-edge/coatnet-edge/models"
	"github.com/coatnet-edge/coatnet-edge/motion"
)

// Places benchmark: two cameras at 10 fps, two regions each, on a scene
// that is still 90% of the time. Per camera a minute of video in which one
// region's item is replaced every 0.3 s for 6 s (someone rummaging) and
// nothing else moves but sensor noise.
const (
	benchFPS       = 10
	benchFrames    = 60 * benchFPS
	benchMoveLen   = 6 * benchFPS
	benchMoveEvery = 3 // frames
	benchStillVars = 8 // noise variants of each still stretch, cycled
)

// benchCamera is one camera's frames, rendered before the clock starts,
// and its regions.
type benchCamera struct {
	frames  [][]byte
	w, h    int
	regions []image.Rectangle
}

// benchScene renders a camera whose region mover moves from frame from.
func benchScene(b *testing.B, set *dataset.Set, mover, from int, seed uint64) benchCamera {
	b.Helper()
	rects := []image.Rectangle{image.Rect(24, 56, 152, 184), image.Rect(168, 56, 296, 184)}
	items := [][]demo.Item{{{From: 0, Index: 1}}, {{From: 0, Index: 9}}}
	for k := 0; k < benchMoveLen; k += benchMoveEvery {
		items[mover] = append(items[mover], demo.Item{From: from + k, Index: 10 + k})
	}
	sc := demo.Scene{Width: 320, Height: 240, Frames: benchFrames, FPS: benchFPS, Background: 110, Noise: 2, Seed: seed,
		Regions: []demo.SceneRegion{{Name: "left", Rect: rects[0], Items: items[0]},
			{Name: "right", Rect: rects[1], Items: items[1]}}}
	r, err := demo.NewSceneRenderer(sc, set)
	if err != nil {
		b.Fatal(err)
	}
	cam := benchCamera{w: sc.Width, h: sc.Height, regions: rects}
	rendered := map[int][]byte{}
	moveEnd := from + benchMoveLen
	for i := range benchFrames {
		src := i // a still frame shows its stretch's content: a few noise variants do
		switch {
		case i < from:
			src = i % benchStillVars
		case i >= moveEnd:
			src = moveEnd + (i-moveEnd)%benchStillVars
		}
		if rendered[src] == nil {
			rendered[src] = append([]byte(nil), r.Render(src)...)
		}
		cam.frames = append(cam.frames, rendered[src])
	}
	return cam
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPlacesMotionGating classifies the four regions as the places
// runtime does (agent/placesrun.go: a region is due when its every has
// passed, while its state is not settled, or on_motion when a motion box
// touches it) over motion.Detector and the shipped int8 model on one
// thread, in the frames' own time, as fast as it goes. gating=off is every
// region every frame (every: 0); gating=on is on_motion with every: 30s,
// confirm 3; detector is the motion detectors alone. It reports the
// classifications per second of video and the CPU seconds (getrusage,
// the whole process) per hour of video: what a board would spend.
//
//	go test -tags nogocv -run '^$' -bench PlacesMotionGating -benchtime 1x ./agent
func BenchmarkPlacesMotionGating(b *testing.B) {
	if _, err := os.Stat(dataset.FashionMNISTDir); err != nil {
		b.Skip("dataset-fashion-mnist is not installed")
	}
	set, err := dataset.FashionMNIST(dataset.FashionMNISTDir, "test")
	if err != nil {
		b.Fatal(err)
	}
	cams := []benchCamera{benchScene(b, set, 0, 100, 1), benchScene(b, set, 1, 400, 2)}
	m, err := model.Open("../models/" + models.DemoName)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	c, err := model.NewClassifier(m, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	labels := m.Describe().Labels
	for _, mode := range []string{"off", "on", "detector"} {
		b.Run("gating="+mode, func(b *testing.B) {
			var classified, motionFrames int
			start := cpuTime(b)
			for range b.N {
				n, mf := runBenchPlaces(b, cams, c, labels, mode)
				classified += n
				motionFrames += mf
			}
			cpu := cpuTime(b) - start
			video := float64(b.N) * benchFrames / benchFPS // seconds, per camera
			b.ReportMetric(float64(classified)/video, "classif/s")
			b.ReportMetric(cpu.Seconds()/video*3600, "cpu-s/h")
			b.ReportMetric(100*float64(motionFrames)/float64(b.N*benchFrames*len(cams)), "%motion")
			b.ReportMetric(0, "ns/op") // a pass is a minute of video; the rates above are the measure
		})
	}
}

// runBenchPlaces plays every camera's minute once, the cameras' frames
// interleaved as they would arrive, and returns the classifications made
// and the frames with motion on.
func runBenchPlaces(b *testing.B, cams []benchCamera, c *model.Classifier, labels []string, mode string) (int, int) {
	const every = 30 * time.Second
	type region struct {
		last    time.Time
		settled bool
		deb     *Debouncer
	}
	dets := make([]*motion.Detector, len(cams))
	regions := make([][]region, len(cams))
	for k := range cams {
		var err error
		if dets[k], err = motion.New(motion.Defaults()); err != nil {
			b.Fatal(err)
		}
		for range cams[k].regions {
			d, err := NewDebouncer(3, 0)
			if err != nil {
				b.Fatal(err)
			}
			regions[k] = append(regions[k], region{deb: d})
		}
	}
	t0 := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	classified, motionFrames := 0, 0
	for i := range benchFrames {
		t := t0.Add(time.Duration(i) * time.Second / benchFPS)
		for k, cam := range cams {
			f := camera.Frame{BGR: cam.frames[i], Width: cam.w, Height: cam.h, Stride: 3 * cam.w, Time: t, Index: int64(i)}
			var boxes []image.Rectangle
			seen := false
			if mode != "off" {
				res, err := dets[k].Detect(f)
				if err != nil {
					b.Fatal(err)
				}
				boxes, seen = res.Boxes, !res.Warming
				if res.Motion {
					motionFrames++
				}
			}
			if mode == "detector" {
				continue
			}
			for j, rect := range cam.regions {
				r := &regions[k][j]
				due := mode == "off" || r.last.IsZero() || t.Sub(r.last) >= every || !r.settled ||
					seen && motion.Touches(boxes, rect)
				if !due {
					continue
				}
				r.last = t
				logits, err := c.LogitsBGR(f.BGR[rect.Min.Y*f.Stride+3*rect.Min.X:], rect.Dx(), rect.Dy(), f.Stride)
				if err != nil {
					b.Fatal(err)
				}
				classified++
				top := TopK(logits, labels, 1, 0)[0]
				r.deb.Observe(top.Label, top.Score, t)
				st, ok := r.deb.State()
				r.settled = ok && st.Label == top.Label
			}
		}
	}
	return classified, motionFrames
}
