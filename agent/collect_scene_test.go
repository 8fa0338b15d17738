//go:build !nogocv

package agent

import (
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coatnet-edge/coatnet-edge/dataset"
	"github.com/coatnet-edge/coatnet-edge/demo"
	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
)

// TestPlacesCollect runs a scene video (FFV1: lossless) through the agent
// and a real mosquitto with collect: on three regions. bin keeps the
// crop of each confirmed change, exactly the region's pixels of a frame
// rendered after the change, in the folder of its state; door keeps one
// sample a second; step keeps every crop scoring below 1 (all of them),
// bounded to its newest 5 files. The stats count what was kept.
func TestPlacesCollect(t *testing.T) {
	set := fashionSet(t)
	dir := t.TempDir()
	bin, door, step := image.Rect(4, 12, 44, 52), image.Rect(44, 12, 84, 52), image.Rect(84, 12, 124, 52)
	yard, yardR := writeScene(t, dir, "yard.mkv", demo.Scene{Width: 128, Height: 64, Frames: 60, Background: 100,
		Noise: 4, Jitter: 1, Seed: 11, Regions: []demo.SceneRegion{
			{Name: "bin", Rect: bin, Items: []demo.Item{{From: 0, Index: 1}, {From: 30, Index: 2}}},
			{Name: "door", Rect: door, Items: []demo.Item{{From: 0, Index: 8}}},
			{Name: "step", Rect: step, Items: []demo.Item{{From: 0, Index: 0}}},
		}}, set)
	b := mqtttest.Start(t, mqtttest.Options{})
	cam := cameraSpec(yard.Path, false, false)
	binSpec, doorSpec, stepSpec := regionSpec(bin, false, "off"), regionSpec(door, false, "off"), regionSpec(step, false, "off")
	binSpec.Collect.Changes = true
	doorSpec.Collect.Every = time.Second
	stepSpec.Collect.Below, stepSpec.Collect.MaxFiles = 1, 5
	cam.Regions = map[string]RegionSpec{"bin": binSpec, "door": doorSpec, "step": stepSpec}
	cfg := placesConfig(t, b.URL, map[string]CameraSpec{"yard": cam})
	base := cfg.MQTT.Prefix + "/" + cfg.Device
	sub := subscribeRaw(t, b.URL, base+"/#")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := Run(ctx, cfg, Options{}, quietLog()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "offline", func() bool {
		ms := sub.on(base + "/status")
		return len(ms) > 0 && string(ms[len(ms)-1].payload) == "offline"
	})
	root := filepath.Join(cfg.StateDir, "collect", "yard")
	names := dataset.FashionMNISTLabels
	st := sub.lastStats(t, base+"/stats").Cameras["yard"].Regions
	t.Logf("stats: %+v", st)

	// bin: one file per state, in the state's folder, the crop that
	// confirmed it: exactly a rendered frame's region from the change on.
	states := sub.states(t, RegionTopicsFor(&cfg, "yard", "bin").State)
	wantStates(t, states, yard.Regions[0], names, "yard")
	files := collectFiles(t, filepath.Join(root, "bin"))
	if len(files) != len(states) || st["bin"].Collected != int64(len(states)) || st["bin"].CollectDropped != 0 {
		t.Fatalf("bin: files %v, stats %+v; want one per state %+v", files, st["bin"], states)
	}
	changes := yard.Regions[0].Changes
	for i, f := range files {
		if label := filepath.Dir(f); label != states[i].Label {
			t.Errorf("bin file %s is not in its state's folder %s", f, states[i].Label)
		}
		img := decodePNG(t, filepath.Join(root, "bin", f))
		if img.Bounds().Dx() != bin.Dx() || img.Bounds().Dy() != bin.Dy() {
			t.Fatalf("%s is %v, want the region's %v (its own pixels, not resized)", f, img.Bounds(), bin)
		}
		from, to := changes[i].Frame, yard.Frames
		if i+1 < len(changes) {
			to = changes[i+1].Frame
		}
		best := 255.0
		for k := from; k < to; k++ {
			best = min(best, meanDiff(img, yardR.Render(k), 128, bin))
		}
		if best != 0 {
			t.Errorf("%s differs from every rendered region of frames %d to %d by %.2f at least; FFV1 and PNG are lossless",
				f, from, to-1, best)
		}
	}

	// door: one sample a second of wall time (the video plays at 10 fps,
	// 6 s), each in the folder of the label the model gave it.
	files = collectFiles(t, filepath.Join(root, "door"))
	if len(files) < 2 || int64(len(files)) != st["door"].Collected {
		t.Errorf("door: %d periodic samples %v, stats %+v", len(files), files, st["door"])
	}
	var times []time.Time
	for _, f := range files {
		tm, err := time.Parse(snapshotTime, strings.TrimSuffix(filepath.Base(f), ".png"))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !slices.Contains(names, filepath.Dir(f)) {
			t.Errorf("door sample %s is not under a label's folder", f)
		}
		times = append(times, tm)
	}
	slices.SortFunc(times, time.Time.Compare)
	for i := 1; i < len(times); i++ {
		if d := times[i].Sub(times[i-1]); d < time.Second {
			t.Errorf("door samples %v apart, want every 1s at most", d)
		}
	}

	// step: every crop is below a threshold of 1; the newest 5 stay.
	files = collectFiles(t, filepath.Join(root, "step"))
	if len(files) != 5 || st["step"].Collected+st["step"].CollectDropped < 6 || st["step"].Collected < 5 {
		t.Errorf("step: %d files %v, stats %+v; want 5 kept of more", len(files), files, st["step"])
	}
	for _, f := range files {
		if img := decodePNG(t, filepath.Join(root, "step", f)); img.Bounds().Dx() != step.Dx() {
			t.Errorf("%s is %v", f, img.Bounds())
		}
		if !slices.Contains(names, filepath.Dir(f)) { // "Ankle boot": the label as it is
			t.Errorf("step sample %s is not under a label's folder", f)
		}
	}
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}
