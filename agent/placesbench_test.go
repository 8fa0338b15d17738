package agent

import (
	"image"
	"io"
	"log/slog"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/coatnet-edge/coatnet-edge/camera"
	"github.com/coatnet-edge/coatnet-edge/dataset"
	"github.com/coatnet-edge/coatnet-edge/demo"
)

// BenchmarkPlaces is two cameras at 10 fps with two regions each (four in
// all), on scenes that are still 90% of the time (each region's item is
// replaced once in a loop of 800 frames, 80 s; the motion detector sees
// each change for about 37 frames, until the background takes it), with
// and without motion gating: one op is one frame of each camera, motion,
// crops and every classification it made due, with the shipped model. It
// reports the classifications a second and the CPU seconds an hour that
// the work takes at 10 fps (the process's CPU time, getrusage, per op
// times 36,000 frames an hour: the engine's threads included).
func BenchmarkPlaces(b *testing.B) {
	if _, err := os.Stat(dataset.FashionMNISTDir); err != nil {
		b.Skip("dataset-fashion-mnist is not installed")
	}
	set, err := dataset.FashionMNIST(dataset.FashionMNISTDir, "test")
	if err != nil {
		b.Fatal(err)
	}
	const frames, w, h = 800, 160, 120
	left, right := image.Rect(10, 30, 70, 90), image.Rect(90, 30, 150, 90)
	scene := func(seed uint64, at int) *demo.SceneRenderer {
		r, err := demo.NewSceneRenderer(demo.Scene{Width: w, Height: h, Frames: frames, Background: 100, Noise: 4,
			Jitter: 1, Seed: seed, Regions: []demo.SceneRegion{
				{Name: "left", Rect: left, Items: []demo.Item{{From: 0, Index: 1}, {From: at, Index: 2}}},
				{Name: "right", Rect: right, Items: []demo.Item{{From: 0, Index: 8}, {From: at + 400, Index: 0}}},
			}}, set)
		if err != nil {
			b.Fatal(err)
		}
		return r
	}
	// The rendered frames, made once: the renderer reuses its buffer.
	render := func(r *demo.SceneRenderer) [][]byte {
		out := make([][]byte, frames)
		for i := range out {
			out[i] = append([]byte(nil), r.Render(i)...)
		}
		return out
	}
	videos := [2][][]byte{render(scene(1, 50)), render(scene(2, 150))}
	for _, gated := range []bool{false, true} {
		name := "motion=off"
		if gated {
			name = "motion=on"
		}
		b.Run(name, func(b *testing.B) {
			cfg := testConfig(b, "mqtt://127.0.0.1:1")
			cfg.Camera = defaultCamera()
			cfg.Cameras = map[string]CameraSpec{}
			for _, cn := range []string{"a", "b"} {
				var c CameraSpec
				c.setDefaults()
				c.Source, c.Motion.Enabled = "../testdata/fashion", gated
				c.Regions = map[string]RegionSpec{}
				for rn, r := range map[string]image.Rectangle{"left": left, "right": right} {
					var s RegionSpec
					s.setDefaults()
					s.RectPx, s.OnMotion = []int{r.Min.X, r.Min.Y, r.Dx(), r.Dy()}, gated
					c.Regions[rn] = s
				}
				cfg.Cameras[cn] = c
			}
			if err := cfg.Validate(); err != nil {
				b.Fatal(err)
			}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			p, err := newPlaces(cfg, NewControl(cfg.Pipeline), &Stats{}, log)
			if err != nil {
				b.Fatal(err)
			}
			defer p.close()
			p.pub, p.ring = discardSink{}, OpenSnapshotRing(b.TempDir(), SnapshotLimits{}, log)
			var cams []*placeCamera
			var regions []*placeRegion
			for _, plan := range cfg.Plan() {
				c := &placeCamera{name: plan.Name, plan: plan}
				if err := c.setMotion(plan.Motion); err != nil {
					b.Fatal(err)
				}
				c.regions = p.newRegions(c, nil)
				cams = append(cams, c)
				regions = append(regions, c.regions...)
			}
			p.sched.set(regions)
			start := time.Unix(0, 0)
			step := func(i int) {
				for k, c := range cams {
					f := camera.Frame{BGR: videos[k][i%frames], Width: w, Height: h, Stride: 3 * w, Index: int64(i),
						Time: start.Add(time.Duration(i) * 100 * time.Millisecond)}
					p.frame(c, f)
				}
				for r := p.sched.take(); r != nil; r = p.sched.take() {
					p.classify(r)
				}
			}
			// Past the motion detector's warm-up and the first states.
			for i := range 20 {
				step(i)
			}
			before := p.stats.Snapshot().Classified
			cpu0 := processCPU(b)
			b.ResetTimer()
			for i := range b.N {
				step(20 + i)
			}
			b.StopTimer()
			classified := float64(p.stats.Snapshot().Classified - before)
			// One op is 0.1 s of both cameras.
			b.ReportMetric(classified/float64(b.N)*10, "classifications/s")
			b.ReportMetric((processCPU(b)-cpu0).Seconds()/float64(b.N)*36000, "cpu-s/h")
		})
	}
}

// processCPU is the user and system time the process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
