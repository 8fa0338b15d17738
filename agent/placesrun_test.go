//go:build !nogocv

package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/jpeg"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/coatnet-edge/coatnet-edge/dataset"
	"github.com/coatnet-edge/coatnet-edge/demo"
	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
)

// rawMessage is one message as it arrived.
type rawMessage struct {
	topic    string
	payload  []byte
	retained bool
}

// rawSubscriber keeps every message under a filter, in arrival order.
type rawSubscriber struct {
	mu   sync.Mutex
	msgs []rawMessage
}

func subscribeRaw(t *testing.T, url, filter string) *rawSubscriber {
	t.Helper()
	s := &rawSubscriber{}
	opts := mqtt.NewClientOptions().AddBroker(pahoURL(url)).SetClientID("places-subscriber").
		SetOrderMatters(true).SetCleanSession(true)
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	tok := c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.msgs = append(s.msgs, rawMessage{m.Topic(), bytes.Clone(m.Payload()), m.Retained()})
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return s
}

// on is the messages of topic.
func (s *rawSubscriber) on(topic string) []rawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []rawMessage
	for _, m := range s.msgs {
		if m.topic == topic {
			out = append(out, m)
		}
	}
	return out
}

// states decodes the state messages of topic.
func (s *rawSubscriber) states(t *testing.T, topic string) []RegionState {
	t.Helper()
	var out []RegionState
	for _, m := range s.on(topic) {
		var st RegionState
		if err := json.Unmarshal(m.payload, &st); err != nil {
			t.Fatalf("%s: %q: %v", topic, m.payload, err)
		}
		out = append(out, st)
	}
	return out
}

// lastStats is the last stats message.
func (s *rawSubscriber) lastStats(t *testing.T, topic string) AgentStats {
	t.Helper()
	ms := s.on(topic)
	if len(ms) == 0 {
		t.Fatal("no stats arrived")
	}
	var st AgentStats
	if err := json.Unmarshal(ms[len(ms)-1].payload, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func fashionSet(t *testing.T) *dataset.Set {
	t.Helper()
	if _, err := os.Stat(dataset.FashionMNISTDir); err != nil {
		t.Skip("dataset-fashion-mnist is not installed")
	}
	s, err := dataset.FashionMNIST(dataset.FashionMNISTDir, "test")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writeScene renders sc to an FFV1 video in dir.
func writeScene(t *testing.T, dir, name string, sc demo.Scene, set *dataset.Set) (demo.SceneVideo, *demo.SceneRenderer) {
	t.Helper()
	r, err := demo.NewSceneRenderer(sc, set)
	if err != nil {
		t.Fatal(err)
	}
	v, err := r.Write(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return v, r
}

func cameraSpec(source string, loop, motion bool) CameraSpec {
	var c CameraSpec
	c.setDefaults()
	c.Source, c.Loop, c.Motion.Enabled = source, loop, motion
	return c
}

func regionSpec(rect image.Rectangle, onMotion bool, labels string) RegionSpec {
	var r RegionSpec
	r.setDefaults()
	r.RectPx = []int{rect.Min.X, rect.Min.Y, rect.Dx(), rect.Dy()}
	r.OnMotion, r.Labels = onMotion, labels
	confirm, threshold := 3, 0.3
	r.Confirm, r.Threshold = &confirm, &threshold
	return r
}

// placesConfig is testConfig with cameras: instead of camera:.
func placesConfig(t *testing.T, url string, cams map[string]CameraSpec) Config {
	t.Helper()
	cfg := testConfig(t, url)
	cfg.Camera = defaultCamera()
	cfg.Pipeline.MaxRate = 0
	cfg.Cameras = cams
	cfg.MQTT.StatsInterval = 500 * time.Millisecond
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// wantStates checks that the states of a region are its truth's changes,
// each once, in order, numbered from 1, each naming the one before.
func wantStates(t *testing.T, got []RegionState, truth demo.RegionTruth, names []string, camera string) {
	t.Helper()
	var want []string
	for _, c := range truth.Changes {
		if l := names[c.Label]; len(want) == 0 || want[len(want)-1] != l {
			want = append(want, l)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s/%s: %d states %+v, want %d: %v", camera, truth.Name, len(got), got, len(want), want)
		return
	}
	for i, st := range got {
		prev := ""
		if i > 0 {
			prev = want[i-1]
		}
		if st.Label != want[i] || st.Previous != prev || st.Seq != uint64(i+1) || st.Camera != camera ||
			st.Region != truth.Name || st.Model != "fmnist-pre" || st.Since.IsZero() || st.Score < 0.3 {
			t.Errorf("%s/%s: state %d is %+v, want %s after %q", camera, truth.Name, i, st, want[i], prev)
		}
	}
}

// TestPlacesTwoCameras runs two cameras of scene videos (noise, a camera
// shaking by a pixel) through the agent and a real mosquitto: each change
// of each region arrives once on its state topic with the right label,
// the still region says its state once and nothing more, motion gating
// skips the on_motion region's still frames (counted in stats), and the
// snapshot on MQTT is a JPEG of the region as it was rendered.
func TestPlacesTwoCameras(t *testing.T) {
	set := fashionSet(t)
	dir := t.TempDir()
	bin, door := image.Rect(8, 12, 48, 52), image.Rect(76, 12, 116, 52)
	// Test items: 1 Pullover, 2 Trouser, 8 Sandal, 0 Ankle boot, 9 Sneaker, 3 Trouser.
	yard, yardR := writeScene(t, dir, "yard.mkv", demo.Scene{Width: 128, Height: 64, Frames: 70, Background: 100,
		Noise: 4, Jitter: 1, Seed: 7, Regions: []demo.SceneRegion{
			{Name: "bin", Rect: bin, Items: []demo.Item{{From: 0, Index: 1}, {From: 35, Index: 2}}},
			{Name: "door", Rect: door, Items: []demo.Item{{From: 0, Index: 8}, {From: 20, Index: 0}, {From: 50, Index: 9}}},
		}}, set)
	step := image.Rect(12, 12, 52, 52)
	porch, _ := writeScene(t, dir, "porch.mkv", demo.Scene{Width: 64, Height: 64, Frames: 40, Background: 90,
		Noise: 4, Jitter: 1, Seed: 8, Regions: []demo.SceneRegion{
			{Name: "step", Rect: step, Items: []demo.Item{{From: 0, Index: 3}}},
		}}, set)

	b := mqtttest.Start(t, mqtttest.Options{})
	yardCam := cameraSpec(yard.Path, false, true)
	doorSpec := regionSpec(door, false, "every")
	doorSpec.Snapshot.Frame = true
	yardCam.Regions = map[string]RegionSpec{"bin": regionSpec(bin, true, "off"), "door": doorSpec}
	porchCam := cameraSpec(porch.Path, false, false)
	porchCam.Regions = map[string]RegionSpec{"step": regionSpec(step, false, "off")}
	cfg := placesConfig(t, b.URL, map[string]CameraSpec{"yard": yardCam, "porch": porchCam})
	base := cfg.MQTT.Prefix + "/" + cfg.Device
	sub := subscribeRaw(t, b.URL, base+"/#")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := Run(ctx, cfg, Options{}, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "offline", func() bool {
		ms := sub.on(base + "/status")
		return len(ms) > 0 && string(ms[len(ms)-1].payload) == "offline"
	})
	names := dataset.FashionMNISTLabels
	wantStates(t, sub.states(t, RegionTopicsFor(&cfg, "yard", "bin").State), yard.Regions[0], names, "yard")
	wantStates(t, sub.states(t, RegionTopicsFor(&cfg, "yard", "door").State), yard.Regions[1], names, "yard")
	wantStates(t, sub.states(t, RegionTopicsFor(&cfg, "porch", "step").State), porch.Regions[0], names, "porch")

	// Labels only where asked for: door's, one per classification.
	if n := len(sub.on(RegionTopicsFor(&cfg, "yard", "bin").Labels)); n != 0 {
		t.Errorf("%d label messages for bin, whose labels are off", n)
	}
	doorLabels := sub.on(RegionTopicsFor(&cfg, "yard", "door").Labels)
	within(t, sub, RegionTopicsFor(&cfg, "yard", "door"), yard.Regions[1], 3)

	st := sub.lastStats(t, base+"/stats")
	ys, ps := st.Cameras["yard"], st.Cameras["porch"]
	bs, ds, ss := ys.Regions["bin"], ys.Regions["door"], ps.Regions["step"]
	t.Logf("stats: yard %+v porch %+v; top %d classified, %d frames read", ys, ps, st.Classified, st.FramesRead)
	// Before its change at frame 35 bin is still: classified on the first
	// frame and the confirm-1 after it that settle its first state, the
	// other frames up to 34 skipped (2 frames' slack for a result that
	// breaks the first run). Every frame is classified, skipped, or
	// dropped (by the scheduler, or by the camera's newest-frame reader).
	if bs.SkippedMotion < 35-3-2 || bs.Classified < 3+3 || bs.Classified+bs.SkippedMotion+bs.DroppedCPU+ys.FramesDropped != ys.FramesRead {
		t.Errorf("bin (on_motion): %+v, yard read %d frames", bs, ys.FramesRead)
	}
	if bs.Classified >= ds.Classified {
		t.Errorf("bin classified %d times, door %d: motion gating let everything through", bs.Classified, ds.Classified)
	}
	if ds.SkippedMotion != 0 || ss.SkippedMotion != 0 || int64(len(doorLabels)) != ds.Classified {
		t.Errorf("door %+v (%d label messages), step %+v", ds, len(doorLabels), ss)
	}
	if bs.StateChanges != 2 || ds.StateChanges != 3 || ss.StateChanges != 1 {
		t.Errorf("state changes: bin %d door %d step %d", bs.StateChanges, ds.StateChanges, ss.StateChanges)
	}
	if st.Classified != bs.Classified+ds.Classified+ss.Classified || st.FramesRead != ys.FramesRead+ps.FramesRead {
		t.Errorf("top-level counters do not add up the cameras': %+v", st.StatsSnapshot)
	}
	if ms := sub.on(MotionTopic(&cfg, "yard")); len(ms) == 0 || string(ms[0].payload) != MotionOn {
		t.Errorf("yard motion messages: %v", ms)
	}
	if n := len(sub.on(MotionTopic(&cfg, "porch"))); n != 0 {
		t.Errorf("%d motion messages from porch, whose motion is off", n)
	}

	// The ring on disk has every change's region, and door's frames too.
	for region, want := range map[string][2]int{"bin": {2, 0}, "door": {3, 3}, "step": {1, 0}} {
		cam := "yard"
		if region == "step" {
			cam = "porch"
		}
		all, _ := filepath.Glob(filepath.Join(cfg.StateDir, "snapshots", cam, region, "*.jpg"))
		frames, _ := filepath.Glob(filepath.Join(cfg.StateDir, "snapshots", cam, region, "*.frame.jpg"))
		if len(all)-len(frames) != want[0] || len(frames) != want[1] {
			t.Errorf("%s: %d snapshots on disk, %d of them frames; want %v", region, len(all), len(frames), want)
		}
	}
	if st.Snapshots == nil || st.Snapshots.Saved != 6 {
		t.Errorf("snapshot stats %+v", st.Snapshots)
	}
	// door's whole frames go to MQTT too, one per change, the frame's size;
	// bin, which does not ask for them, has none.
	frames := sub.on(RegionTopicsFor(&cfg, "yard", "door").Frame)
	if len(frames) != 3 {
		t.Errorf("%d door frame snapshots, want 3", len(frames))
	}
	for _, m := range frames {
		img, err := jpeg.Decode(bytes.NewReader(m.payload))
		if err != nil || img.Bounds().Dx() != 128 || img.Bounds().Dy() != 64 {
			t.Errorf("door frame snapshot: %v, err %v; want the 128x64 frame", img.Bounds(), err)
			break
		}
	}
	if n := len(sub.on(RegionTopicsFor(&cfg, "yard", "bin").Frame)); n != 0 {
		t.Errorf("%d bin frame snapshots, want none", n)
	}

	// The last snapshot of bin is its second state, the trouser: nearer
	// the rendered region at the end than at the start (the pullover).
	snaps := sub.on(RegionTopicsFor(&cfg, "yard", "bin").Snapshot)
	if len(snaps) != 2 {
		t.Fatalf("%d bin snapshots, want 2", len(snaps))
	}
	img, err := jpeg.Decode(bytes.NewReader(snaps[1].payload))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != bin.Dx() || img.Bounds().Dy() != bin.Dy() {
		t.Fatalf("snapshot is %v, want the %v region", img.Bounds(), bin)
	}
	// The frame it was taken from is one of 35 to 69, each shaken
	// differently: the nearest of them.
	after, before := 255.0, meanDiff(img, yardR.Render(0), 128, bin)
	for i := 35; i < 70; i++ {
		after = min(after, meanDiff(img, yardR.Render(i), 128, bin))
	}
	t.Logf("snapshot vs the region: %.1f (trouser), %.1f (pullover)", after, before)
	if after > 12 || after*3 >= before {
		t.Errorf("snapshot differs from the rendered region by %.1f (from the earlier item by %.1f)", after, before)
	}
}

// meanDiff is the mean absolute difference per channel between img and
// the region r of a rendered BGR frame of width w.
func meanDiff(img image.Image, bgr []byte, w int, r image.Rectangle) float64 {
	sum, n := 0.0, 0
	for y := range r.Dy() {
		for x := range r.Dx() {
			cr, cg, cb, _ := img.At(img.Bounds().Min.X+x, img.Bounds().Min.Y+y).RGBA()
			i := 3 * ((r.Min.Y+y)*w + r.Min.X + x)
			for c, v := range [3]uint32{cb, cg, cr} {
				d := float64(v>>8) - float64(bgr[i+c])
				if d < 0 {
					d = -d
				}
				sum += d
				n++
			}
		}
	}
	return sum / float64(n)
}

// TestPlacesReload: a reload that adds a region and removes another keeps
// the unchanged region's state (no second state message) and its camera.
func TestPlacesReload(t *testing.T) {
	set := fashionSet(t)
	dir := t.TempDir()
	a, bb, c := image.Rect(4, 12, 44, 52), image.Rect(44, 12, 84, 52), image.Rect(84, 12, 124, 52)
	yard, _ := writeScene(t, dir, "yard.mkv", demo.Scene{Width: 128, Height: 64, Frames: 30, Background: 100,
		Noise: 4, Jitter: 1, Seed: 9, Regions: []demo.SceneRegion{
			{Name: "a", Rect: a, Items: []demo.Item{{From: 0, Index: 2}}},
			{Name: "b", Rect: bb, Items: []demo.Item{{From: 0, Index: 8}}},
			{Name: "c", Rect: c, Items: []demo.Item{{From: 0, Index: 0}}},
		}}, set)
	broker := mqtttest.Start(t, mqtttest.Options{})
	cam := cameraSpec(yard.Path, true, false)
	cam.Regions = map[string]RegionSpec{"a": regionSpec(a, false, "off"), "b": regionSpec(bb, false, "off")}
	cfg := placesConfig(t, broker.URL, map[string]CameraSpec{"yard": cam})
	next := cfg
	cam2 := cameraSpec(yard.Path, true, false)
	cam2.Regions = map[string]RegionSpec{"a": regionSpec(a, false, "off"), "c": regionSpec(c, false, "off")}
	next.Cameras = map[string]CameraSpec{"yard": cam2}
	base := cfg.MQTT.Prefix + "/" + cfg.Device
	sub := subscribeRaw(t, broker.URL, base+"/#")
	topic := func(region string) string { return RegionTopicsFor(&cfg, "yard", region).State }

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	reload := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, cfg, Options{Reload: reload, LoadConfig: func() (Config, error) { return next, nil }},
			slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	waitFor(t, "the first states", func() bool { return len(sub.on(topic("a"))) > 0 && len(sub.on(topic("b"))) > 0 })
	reload <- struct{}{}
	waitFor(t, "the added region's state", func() bool { return len(sub.on(topic("c"))) > 0 })
	waitFor(t, "a reload in stats", func() bool {
		ms := sub.on(base + "/stats")
		if len(ms) == 0 {
			return false
		}
		var st AgentStats
		return json.Unmarshal(ms[len(ms)-1].payload, &st) == nil && st.Reloads == 1 &&
			st.Cameras["yard"].Regions["a"].Classified > 0 && st.Cameras["yard"].Regions["c"].Classified > 3
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st := sub.lastStats(t, base+"/stats")
	regions := st.Cameras["yard"].Regions
	if _, ok := regions["b"]; ok || len(regions) != 2 {
		t.Errorf("regions after the reload: %+v", regions)
	}
	if st.CameraReopens != 0 || st.Reloads != 1 {
		t.Errorf("the unchanged camera was reopened: %+v", st.cameraCounters)
	}
	names := dataset.FashionMNISTLabels
	for region, want := range map[string]string{"a": names[set.Labels[2]], "c": names[set.Labels[0]]} {
		got := sub.states(t, topic(region))
		if len(got) != 1 || got[0].Label != want || got[0].Seq != 1 {
			t.Errorf("%s: states %+v, want one %s", region, got, want)
		}
	}
	// The removed region's retained state and snapshot are cleared.
	for _, tp := range []string{topic("b"), RegionTopicsFor(&cfg, "yard", "b").Snapshot} {
		if ms := sub.on(tp); len(ms) < 2 || len(ms[len(ms)-1].payload) != 0 {
			t.Errorf("%s: %d messages, the last not empty", tp, len(ms))
		}
	}
	if regions["a"].StateChanges != 1 {
		t.Errorf("a: %+v", regions["a"])
	}
}

// within checks the documented latency of each change of a region whose
// labels are "every": its state message comes right after the confirm-th
// label message of the new label following the last result that was not
// it, among the messages of frames from the change on.
func within(t *testing.T, sub *rawSubscriber, topics RegionTopics, truth demo.RegionTruth, confirm int) {
	t.Helper()
	sub.mu.Lock()
	msgs := slices.Clone(sub.msgs)
	sub.mu.Unlock()
	names := dataset.FashionMNISTLabels
	for i, c := range truth.Changes[1:] {
		want := names[c.Label]
		run, found := 0, false
		for _, m := range msgs {
			switch m.topic {
			case topics.Labels:
				var l LabelsMessage
				if err := json.Unmarshal(m.payload, &l); err != nil {
					t.Fatal(err)
				}
				if l.Frame < int64(c.Frame) {
					continue
				}
				if len(l.Labels) > 0 && l.Labels[0].Label == want && l.Labels[0].Score >= 0.3 {
					run++
				} else {
					run = 0
				}
			case topics.State:
				var st RegionState
				if err := json.Unmarshal(m.payload, &st); err != nil {
					t.Fatal(err)
				}
				if st.Seq != uint64(i+2) {
					continue
				}
				found = true
				if run != confirm {
					t.Errorf("%s: state %s came after %d agreeing classifications of frames from %d, want %d",
						truth.Name, st.Label, run, c.Frame, confirm)
				}
			}
			if found {
				break
			}
		}
		if !found {
			t.Errorf("%s: no state for the change at frame %d", truth.Name, c.Frame)
		}
	}
}
