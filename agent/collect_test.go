package agent

import (
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coatnet-edge/coatnet-edge/camera"
	"github.com/coatnet-edge/coatnet-edge/dataset"
	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
	"github.com/coatnet-edge/coatnet-edge/model"
)

// collectFiles lists the PNGs under dir, relative to it, sorted.
func collectFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			out = append(out, rel)
		}
		return nil
	})
	slices.Sort(out)
	return out
}

// noisyPix is w*h BGR pixels that PNG cannot shrink much.
func noisyPix(w, h int, seed byte) []byte {
	pix := make([]byte, 3*w*h)
	x := uint32(seed) + 1
	for i := range pix {
		x = x*1664525 + 1013904223
		pix[i] = byte(x >> 24)
	}
	return pix
}

// readPNG decodes a collected file back into BGR pixels.
func readPNG(t *testing.T, path string) ([]byte, image.Rectangle) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	var out []byte
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			out = append(out, byte(bl>>8), byte(g>>8), byte(r>>8))
		}
	}
	return out, b
}

// The collector keeps each crop losslessly under its label's folder,
// the newest max_files of a region, then within max_bytes, oldest first.
func TestCollectorKeepsCropsWithinBounds(t *testing.T) {
	dir := t.TempDir()
	c := OpenCollector(dir, quietLog())
	defer c.Close()
	var n collectCounters
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	lim := CollectConfig{MaxFiles: 4, MaxBytes: 1 << 30}
	pixes := map[string][]byte{}
	for i := range 6 {
		label := []string{"open", "closed"}[i%2]
		pix := noisyPix(20, 10, byte(i))
		at := t0.Add(time.Duration(i) * time.Minute)
		if !c.Save(collectItem{camera: "yard", region: "gate", label: label, t: at, pix: pix, w: 20, h: 10,
			limits: lim, counters: &n}) {
			t.Fatalf("sample %d not queued", i)
		}
		pixes[filepath.Join("yard", "gate", label, at.Format(snapshotTime)+".png")] = pix
		c.Flush()
	}
	got := collectFiles(t, dir)
	if len(got) != 4 || n.collected.Load() != 6 || n.dropped.Load() != 0 {
		t.Fatalf("files %v, counters %d collected %d dropped; want the newest 4 of 6", got, n.collected.Load(),
			n.dropped.Load())
	}
	for _, f := range got {
		want, ok := pixes[f]
		if !ok || strings.Contains(f, "T100000") || strings.Contains(f, "T100100") {
			t.Errorf("%s should not be kept (the oldest two go)", f)
			continue
		}
		pix, b := readPNG(t, filepath.Join(dir, f))
		if b.Dx() != 20 || b.Dy() != 10 || !slices.Equal(pix, want) {
			t.Errorf("%s: %v, not the crop's pixels", f, b)
		}
	}
	// By bytes: room for two of these pictures.
	info, err := os.Stat(filepath.Join(dir, got[0]))
	if err != nil {
		t.Fatal(err)
	}
	lim = CollectConfig{MaxFiles: 100, MaxBytes: 2*info.Size() + info.Size()/2}
	c.Save(collectItem{camera: "yard", region: "gate", label: "open", t: t0.Add(time.Hour), pix: noisyPix(20, 10, 9),
		w: 20, h: 10, limits: lim, counters: &n})
	c.Flush()
	if got := collectFiles(t, dir); len(got) != 2 || !strings.Contains(got[0], "T110000") && !strings.Contains(got[1], "T110000") {
		t.Errorf("within %d bytes: %v", lim.MaxBytes, got)
	}
}

// A collector opened on what a crash and the user left: the unfinished
// write is removed, files the user moved to another label folder (or
// renamed) still count against the region's bounds.
func TestCollectorRescansAfterRestart(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for i, f := range []string{"open/" + t0.Format(snapshotTime) + ".png", "closed/" + t0.Add(time.Minute).Format(snapshotTime) + ".png",
		"closed/mine.png", "open/." + t0.Add(2*time.Minute).Format(snapshotTime) + ".png.tmp"} {
		path := filepath.Join(dir, "yard", "gate", f)
		os.MkdirAll(filepath.Dir(path), 0o700)
		if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		old := t0.Add(time.Duration(i) * time.Second)
		os.Chtimes(path, old, old)
	}
	c := OpenCollector(dir, quietLog())
	defer c.Close()
	var n collectCounters
	c.Save(collectItem{camera: "yard", region: "gate", label: "open", t: t0.Add(time.Hour), pix: noisyPix(4, 4, 1),
		w: 4, h: 4, limits: CollectConfig{MaxFiles: 3, MaxBytes: 1 << 30}, counters: &n})
	c.Flush()
	got := collectFiles(t, filepath.Join(dir, "yard", "gate"))
	want := []string{"closed/" + t0.Add(time.Minute).Format(snapshotTime) + ".png", "closed/mine.png",
		"open/" + t0.Add(time.Hour).Format(snapshotTime) + ".png"}
	// mine.png has no time in its name: its modification time (10:00:02)
	// ranks it after 10:00:00, so the 10:00:00 sample is the one removed.
	if !slices.Equal(got, want) {
		t.Errorf("files %v, want %v", got, want)
	}
}

// A full disk (less free than the message store's reserve) or a failing
// write costs the sample, counted as dropped; nothing is left behind.
func TestCollectorFullDisk(t *testing.T) {
	dir := t.TempDir()
	c := OpenCollector(dir, quietLog())
	defer c.Close()
	c.free = func(string) int64 { return DefaultSnapshotKeepFree + 100 }
	var n collectCounters
	item := collectItem{camera: "yard", region: "gate", label: "open", t: time.Unix(1, 0), pix: noisyPix(8, 8, 1),
		w: 8, h: 8, limits: defaultCollect(), counters: &n}
	c.Save(item)
	c.Flush()
	c.free = freeBytes
	c.write = func(string, []byte) error { return errors.New("no space left on device") }
	c.Save(item)
	c.Flush()
	if files := collectFiles(t, dir); len(files) != 0 || n.dropped.Load() != 2 || n.collected.Load() != 0 {
		t.Errorf("files %v, %d dropped, %d collected", files, n.dropped.Load(), n.collected.Load())
	}
}

// A full queue drops the sample at once instead of waiting for the disk.
func TestCollectorQueueFullDrops(t *testing.T) {
	dir := t.TempDir()
	c := OpenCollector(dir, quietLog())
	block := make(chan struct{})
	c.write = func(path string, data []byte) error { <-block; return atomicWrite(path, data) }
	var n collectCounters
	for i := range collectQueue + 5 {
		c.Save(collectItem{camera: "yard", region: "gate", label: "open", t: time.Unix(int64(i), 0),
			pix: noisyPix(4, 4, 1), w: 4, h: 4, limits: defaultCollect(), counters: &n})
	}
	if n.dropped.Load() < 4 {
		t.Errorf("%d dropped of %d with the writer stuck on the first", n.dropped.Load(), collectQueue+5)
	}
	close(block)
	c.Close()
	if got := n.collected.Load() + n.dropped.Load(); got != collectQueue+5 {
		t.Errorf("%d collected + dropped, want %d", got, collectQueue+5)
	}
}

// A label is its folder's name as it is, unless it cannot be one; the
// folder reader (dataset.OpenFolder) takes it as the label's folder.
func TestCollectLabelFolder(t *testing.T) {
	for label, want := range map[string]string{"Ankle boot": "Ankle boot", "open": "open", "a/b": "a_b",
		"..": "_.", ".hidden": "_hidden", "": "unlabelled", "T-shirt/top": "T-shirt_top", "line\nfeed": "line_feed",
		"a\\b": "a_b", "\xff": "%FF", strings.Repeat("x", 200): strings.Repeat("x", maxLabelInName)} {
		got := labelFolder(label)
		if got != want {
			t.Errorf("labelFolder(%q) = %q, want %q", label, got, want)
		}
		if label != "" && utf8.ValidString(label) && len(label) <= maxLabelInName &&
			dataset.ClassKey(got) != dataset.ClassKey(label) {
			t.Errorf("the folder %q of %q is another class to the folder reader", got, label)
		}
	}
	// Every label of the demo model is a folder of its own.
	seen := map[string]bool{}
	for _, l := range dataset.FashionMNISTLabels {
		seen[labelFolder(l)] = true
	}
	if len(seen) != len(dataset.FashionMNISTLabels) {
		t.Errorf("the %d labels have %d folders", len(dataset.FashionMNISTLabels), len(seen))
	}
}

func TestCollectConfigValidation(t *testing.T) {
	cfg := testConfig(t, "mqtt://127.0.0.1:1")
	cfg.Camera = defaultCamera()
	var cam CameraSpec
	cam.setDefaults()
	cam.Source = "../testdata/fashion"
	var r RegionSpec
	r.setDefaults()
	r.Collect = CollectConfig{Below: 1.5, Every: time.Millisecond, MaxFiles: 0, MaxBytes: 10}
	cam.Regions = map[string]RegionSpec{"gate": r}
	cfg.Cameras = map[string]CameraSpec{"yard": cam}
	err := cfg.Validate()
	for _, key := range []string{"below", "every", "max_files", "max_bytes"} {
		if err == nil || !strings.Contains(err.Error(), "cameras.yard.regions.gate.collect."+key) {
			t.Errorf("no problem for collect.%s: %v", key, err)
		}
	}
	r.setDefaults()
	r.Collect.Changes, r.Collect.Below, r.Collect.Every = true, 0.6, 10*time.Minute
	cam.Regions = map[string]RegionSpec{"gate": r}
	cfg.Cameras = map[string]CameraSpec{"yard": cam}
	if err := cfg.Validate(); err != nil {
		t.Errorf("a valid collect: %v", err)
	}
}

// collectPlaces is TestPlacesNoAllocationsPerFrame's setup with collect
// set on door.
func collectPlaces(t *testing.T, collect CollectConfig) (*places, *placeCamera, func()) {
	t.Helper()
	cfg := testConfig(t, "mqtt://127.0.0.1:1")
	cfg.Camera = defaultCamera()
	var cam CameraSpec
	cam.setDefaults()
	cam.Source = "../testdata/fashion"
	var door RegionSpec
	door.setDefaults()
	door.RectPx = []int{60, 4, 40, 40}
	door.Collect = collect
	cam.Regions = map[string]RegionSpec{"door": door}
	cfg.Cameras = map[string]CameraSpec{"yard": cam}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	log := quietLog()
	p, err := newPlaces(cfg, NewControl(cfg.Pipeline), &Stats{}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.close)
	p.pub = discardSink{}
	p.ring = OpenSnapshotRing(t.TempDir(), SnapshotLimits{}, log)
	p.collect = OpenCollector(t.TempDir(), log)
	c := &placeCamera{name: "yard", plan: cfg.Plan()[0]}
	c.regions = p.newRegions(c, nil)
	p.sched.set(c.regions)
	frames := [2]camera.Frame{bgrFrame(128, 64, 0, 90), bgrFrame(128, 64, 1, 90)}
	i := 0
	step := func() {
		f := frames[i%2]
		f.Index, f.Time = int64(i), time.Unix(0, 0).Add(time.Duration(i)*100*time.Millisecond)
		i++
		p.frame(c, f)
		for r := p.sched.take(); r != nil; r = p.sched.take() {
			p.classify(r)
		}
	}
	return p, c, step
}

// With collect on and nothing due (the state confirmed, the periodic
// sample taken, no threshold) a frame allocates nothing; the one
// periodic sample and the one change are kept.
func TestCollectNoAllocationsWhenNothingDue(t *testing.T) {
	p, c, step := collectPlaces(t, CollectConfig{Changes: true, Every: time.Hour, MaxFiles: 10, MaxBytes: 1 << 20})
	for range 20 {
		step()
	}
	p.collect.Flush() // the writer's own allocations are not the frame's
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	if n := testing.AllocsPerRun(50, step); n != 0 {
		t.Errorf("%.1f allocations per frame", n)
	}
	p.collect.Flush()
	r := c.regions[0]
	// The first classification is the periodic sample; the change is
	// confirmed on the third (confirm 3): two files.
	if got := r.collected.collected.Load(); got != 2 || r.collected.dropped.Load() != 0 {
		t.Errorf("%d collected, %d dropped; want the first sample and the change", got, r.collected.dropped.Load())
	}
}

// collect: decodes from the file with its defaults for what is left out,
// and a mistyped key is an error naming it.
func TestCollectConfigParse(t *testing.T) {
	base := "cameras:\n  yard:\n    source: ../testdata/fashion\n    regions:\n      gate:\n        collect: "
	cfg, err := ParseConfig([]byte(base + "{changes: true, below: 0.6, every: 10m}\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Plan()[0].Regions[0].Collect
	want := CollectConfig{Changes: true, Below: 0.6, Every: 10 * time.Minute, MaxFiles: DefaultCollectFiles,
		MaxBytes: DefaultCollectBytes}
	if got != want {
		t.Errorf("collect %+v, want %+v", got, want)
	}
	if _, err := ParseConfig([]byte(base + "{belwo: 0.6}\n")); err == nil ||
		!strings.Contains(err.Error(), "cameras.yard.regions.gate.collect.belwo") {
		t.Errorf("a mistyped key: %v", err)
	}
}

// The queue holds at most collectQueueBytes of pixels: a sample beyond
// them is dropped, but one alone is always taken, however large.
func TestCollectorQueueBytesBound(t *testing.T) {
	c := OpenCollector(t.TempDir(), quietLog())
	block := make(chan struct{})
	c.write = func(path string, data []byte) error { <-block; return nil }
	var n collectCounters
	w, h := 2048, 2048 // 12 MiB of BGR
	pix := make([]byte, 3*w*h)
	for range 5 {
		c.Save(collectItem{camera: "yard", region: "gate", label: "open", t: time.Unix(1, 0), pix: pix, w: w, h: h,
			limits: CollectConfig{MaxFiles: 10, MaxBytes: 1 << 30}, counters: &n})
	}
	// Two fit in 32 MiB (the first counted until the writer is done).
	if got := n.dropped.Load(); got != 3 {
		t.Errorf("%d of 5 12 MiB samples dropped, want 3 beyond %d bytes", got, collectQueueBytes)
	}
	close(block)
	c.Close()
	if q := c.queued.Load(); q != 0 {
		t.Errorf("%d bytes still counted as queued after Close", q)
	}
}

// pipeline.collect is a region's collect: for the whole frame of a file
// without cameras:, decoded and checked with the same keys and defaults;
// with cameras: it is refused, the regions having their own.
func TestCollectPipelineConfig(t *testing.T) {
	cfg, err := ParseConfig([]byte("camera:\n  source: ../testdata/fashion\npipeline:\n  collect: {changes: true, below: 0.6, every: 10m}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := CollectConfig{Changes: true, Below: 0.6, Every: 10 * time.Minute, MaxFiles: DefaultCollectFiles,
		MaxBytes: DefaultCollectBytes}
	if cfg.Pipeline.Collect != want {
		t.Errorf("pipeline.collect %+v, want %+v", cfg.Pipeline.Collect, want)
	}
	if d := Defaults().Pipeline.Collect; d != defaultCollect() || d.on() {
		t.Errorf("the default pipeline.collect %+v is not a region's default, off", d)
	}
	_, err = ParseConfig([]byte("pipeline:\n  collect: {below: 1.5, every: 1ms, max_files: 0, max_bytes: 10, evry: 1m}\n"))
	for _, key := range []string{"below", "every", "max_files", "max_bytes", "evry"} {
		if err == nil || !strings.Contains(err.Error(), "pipeline.collect."+key) {
			t.Errorf("no problem for pipeline.collect.%s: %v", key, err)
		}
	}
	for _, set := range []string{"{below: 0.5}", "{max_files: 10}"} {
		_, err = ParseConfig([]byte("pipeline:\n  collect: " + set + "\ncameras:\n  yard:\n    source: ../testdata/fashion\n" +
			"    regions:\n      gate: {}\n"))
		if err == nil || !strings.Contains(err.Error(), "line 2: pipeline.collect: is for a file without cameras") {
			t.Errorf("pipeline.collect %s with cameras: %v", set, err)
		}
	}
}

// samplePictures is each sample picture as the folder camera plays it,
// by frame index.
func samplePictures(t *testing.T) []image.Image {
	t.Helper()
	src, err := camera.OpenFolder("../testdata/fashion", 0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var out []image.Image
	for range src.Len() {
		f, err := src.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f.Image)
	}
	return out
}

// samePixels reports whether a and b hold the same colours at the same
// size.
func samePixels(a, b image.Image) bool {
	ab, bb := a.Bounds(), b.Bounds()
	if ab.Dx() != bb.Dx() || ab.Dy() != bb.Dy() {
		return false
	}
	for y := range ab.Dy() {
		for x := range ab.Dx() {
			r1, g1, b1, a1 := a.At(ab.Min.X+x, ab.Min.Y+y).RGBA()
			r2, g2, b2, a2 := b.At(bb.Min.X+x, bb.Min.Y+y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				return false
			}
		}
	}
	return true
}

// TestCollectWholeFrames runs the agent on the looping sample pictures
// with a file without cameras:, pipeline.collect keeping changes, and a
// real mosquitto. Each label message that publish: change sends (a new
// top label, hysteresis 1) is one file, in its top label's folder under
// state_dir/collect/camera/frame/, named by the frame's time: the
// picture the model classified, its own 28x28 pixels. The folder is a
// folder dataset that the model, read as coatnet eval --dataset reads it,
// scores 100% on, every label folder known; stats count what was kept.
func TestCollectWholeFrames(t *testing.T) {
	pictures := samplePictures(t)
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	cfg.Camera.Loop = true
	cfg.Pipeline.MaxRate = 20
	cfg.Pipeline.Publish, cfg.Pipeline.Hysteresis = "change", 1
	cfg.Pipeline.Collect.Changes = true
	cfg.MQTT.StatsInterval = 100 * time.Millisecond
	topics := TopicsFor(&cfg)
	rec := record(t, b.URL, "test-recorder", topics.Labels, topics.Stats, topics.Status)
	_, stop := startAgent(t, cfg, Options{})
	waitFor(t, "collected in stats", func() bool {
		n, _ := statsField(rec.last(topics.Stats), "collected").(float64)
		return n >= 40
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "offline", func() bool { return string(rec.last(topics.Status)) == "offline" })

	root := filepath.Join(cfg.StateDir, "collect", LegacyCamera, LegacyRegion)
	files := collectFiles(t, root)
	msgs := rec.labels(t, topics.Labels)
	if len(files) != len(msgs) {
		t.Fatalf("%d files for %d changes published: %v", len(files), len(msgs), files)
	}
	for _, m := range msgs {
		f := filepath.Join(labelFolder(m.Labels[0].Label), m.Time.UTC().Format(snapshotTime)+collectExt)
		if !slices.Contains(files, f) {
			t.Errorf("no file %s for frame %d (%s)", f, m.Frame, m.Labels[0].Label)
			continue
		}
		if img := decodeFile(t, filepath.Join(root, f)); !samePixels(img, pictures[m.Frame]) {
			t.Errorf("%s is %v, not the pixels of picture %d", f, img.Bounds(), m.Frame)
		}
	}
	var st AgentStats
	if err := json.Unmarshal(rec.last(topics.Stats), &st); err != nil || st.Collected < 40 ||
		st.Collected > int64(len(files)) || st.CollectDropped != 0 {
		t.Errorf("last stats: collected %d, dropped %d for %d files (%v)", st.Collected, st.CollectDropped,
			len(files), err)
	}

	m, _ := demoClassifier(t)
	set, err := dataset.OpenFolder(root, m.Describe().Labels)
	if err != nil {
		t.Fatal(err)
	}
	r, err := set.Evaluate(context.Background(), 2, func() (dataset.Scorer, error) { return model.NewClassifier(m, 1) },
		func() {})
	if err != nil {
		t.Fatal(err)
	}
	if r.Images != len(files) || r.Top1 != r.Images || r.Skipped != 0 || len(r.Unknown) != 0 {
		t.Errorf("eval of the collected folder: %d of %d pictures right, %d unreadable, unknown folders %v; want all",
			r.Top1, r.Images, r.Skipped, r.Unknown)
	}
	t.Logf("%d changes collected in %d classes; stats %d collected", len(files), len(r.PerClass), st.Collected)
}

// decodeFile decodes a picture file.
func decodeFile(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// offer, the pipeline's hook: nothing allocated with collect off (a nil
// collector) nor on with nothing due; the frame is copied only when one
// is, a BGR frame with a padded stride as its width*height pixels. A
// change is kept once its top label led hysteresis frames.
func TestCollectFrameNoAllocations(t *testing.T) {
	labels := []string{"open", "closed"}
	sure, doubt, closed := []float32{4, 0}, []float32{0.1, 0}, []float32{0, 4}
	frame := bgrFrame(96, 48, 0, 90)
	var off *frameCollector
	if n := testing.AllocsPerRun(100, func() { off.offer(frame, sure) }); n != 0 && !raceEnabled {
		t.Errorf("collect off: %.1f allocations per frame", n)
	}
	cfg := testConfig(t, "mqtt://127.0.0.1:1")
	cfg.Pipeline.Collect = CollectConfig{Changes: true, Below: 0.6, Every: time.Hour, MaxFiles: 10, MaxBytes: 1 << 20}
	var fc frameCollector
	if fc.use(&cfg, labels, NewControl(cfg.Pipeline), quietLog()) != &fc {
		t.Fatal("collect on, but use gives no collector")
	}
	defer fc.close()
	i := 0
	step := func(logits []float32) {
		frame.Index, frame.Time = int64(i), time.Unix(0, 0).Add(time.Duration(i)*100*time.Millisecond)
		i++
		fc.offer(frame, logits)
	}
	step(sure) // the first periodic sample, and the first label (a change)
	fc.w.Flush()
	if !raceEnabled {
		if n := testing.AllocsPerRun(100, func() { step(sure) }); n != 0 {
			t.Errorf("collect on, nothing due: %.1f allocations per frame", n)
		}
	}
	// Doubtful (below 0.6), in a frame whose rows are padded.
	padded := camera.Frame{BGR: make([]byte, 48*(3*96+8)), Width: 96, Height: 48, Stride: 3*96 + 8}
	want := noisyPix(96, 48, 7)
	for y := range 48 {
		copy(padded.BGR[y*padded.Stride:], want[3*96*y:3*96*(y+1)])
	}
	frame, padded = padded, frame
	doubtful := filepath.Join("open", time.Unix(0, 0).Add(time.Duration(i)*100*time.Millisecond).UTC().Format(snapshotTime)+
		collectExt)
	step(doubt)
	frame = padded
	for range 2 {
		step(closed) // hysteresis 3: not confirmed yet
	}
	fc.w.Flush()
	if got := fc.counters.collected.Load(); got != 2 {
		t.Errorf("%d collected; want the first frame and the doubtful one so far", got)
	}
	step(closed)
	fc.w.Flush()
	dir := filepath.Join(cfg.StateDir, "collect", LegacyCamera, LegacyRegion)
	files := collectFiles(t, dir)
	if len(files) != 3 || fc.counters.dropped.Load() != 0 || filepath.Dir(files[0]) != "closed" {
		t.Fatalf("files %v, %d dropped; want the first, the doubtful and the change to closed", files,
			fc.counters.dropped.Load())
	}
	if !slices.Contains(files, doubtful) {
		t.Fatalf("no %s in %v", doubtful, files)
	}
	if pix, b := readPNG(t, filepath.Join(dir, doubtful)); b.Dx() != 96 || b.Dy() != 48 || !slices.Equal(pix, want) {
		t.Errorf("%s is %v, not the padded frame's pixels", doubtful, b)
	}
	// Off again (a reload): use gives nil, which the pipeline calls.
	cfg.Pipeline.Collect = defaultCollect()
	if fc.use(&cfg, labels, NewControl(cfg.Pipeline), quietLog()) != nil {
		t.Error("collect off, but use gives a collector")
	}
}

// A failing write (a full disk) costs the samples only: the pipeline
// classifies and publishes every frame, each sample is counted as
// dropped, and no file is left.
func TestCollectWholeFramesWriteFails(t *testing.T) {
	m, c := demoClassifier(t)
	src, err := camera.OpenFolder("../testdata/fashion", 200, false)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, "mqtt://127.0.0.1:1")
	cfg.Pipeline.MaxRate = 0
	cfg.Pipeline.Collect.Below = 1 // every frame
	var fc frameCollector
	fc.w = OpenCollector(filepath.Join(cfg.StateDir, "collect"), quietLog())
	fc.w.write = func(string, []byte) error { return errors.New("no space left on device") }
	labels := m.Describe().Labels
	out := &sink{}
	p := Pipeline{Source: camera.NewLatest(context.Background(), src), Classifier: c, Labels: labels, Sink: out,
		Config: cfg.Pipeline, Control: NewControl(cfg.Pipeline), Stats: &Stats{}}
	defer p.Source.Close()
	p.collect = fc.use(&cfg, labels, p.Control, quietLog())
	if err := p.Run(context.Background()); err == nil || err.Error() != "EOF" {
		t.Fatalf("run ended with %v, want EOF", err)
	}
	fc.close()
	collected, dropped := fc.count()
	if n := int64(len(out.msgs)); n == 0 || p.Stats.Snapshot().Classified != n || dropped != n || collected != 0 {
		t.Errorf("%d published, %+v; %d collected, %d dropped: want every frame published, every sample dropped",
			n, p.Stats.Snapshot(), collected, dropped)
	}
	if files := collectFiles(t, cfg.StateDir); len(files) != 0 {
		t.Errorf("files left: %v", files)
	}
}

// A reload applies a changed pipeline.collect: off, then every frame
// (below: 1) within 3 files, then one frame a second within the same
// 3 files, then off again.
func TestCollectWholeFramesReload(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	cfg.Camera.Loop = true
	cfg.Pipeline.MaxRate = 20
	cfg.MQTT.StatsInterval = 100 * time.Millisecond
	topics := TopicsFor(&cfg)
	rec := record(t, b.URL, "test-recorder", topics.Labels, topics.Stats)
	reload := make(chan struct{})
	var mu sync.Mutex
	next := cfg
	log, stop := startAgent(t, cfg, Options{Reload: reload, LoadConfig: func() (Config, error) {
		mu.Lock()
		defer mu.Unlock()
		return next, nil
	}})
	stats := func() AgentStats {
		var st AgentStats
		json.Unmarshal(rec.last(topics.Stats), &st)
		return st
	}
	reloads := 0
	apply := func(c CollectConfig) {
		t.Helper()
		mu.Lock()
		next.Pipeline.Collect = c
		mu.Unlock()
		reloads++
		reload <- struct{}{}
		waitFor(t, "the reload", func() bool { return strings.Count(log.String(), "configuration reloaded") == reloads })
	}
	dir := filepath.Join(cfg.StateDir, "collect")
	frames := filepath.Join(dir, LegacyCamera, LegacyRegion)
	// The sample times, oldest first (not those being written).
	times := func() []time.Time {
		var out []time.Time
		for _, f := range collectFiles(t, frames) {
			if strings.HasPrefix(filepath.Base(f), ".") {
				continue
			}
			tm, err := time.Parse(snapshotTime, strings.TrimSuffix(filepath.Base(f), collectExt))
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			out = append(out, tm)
		}
		slices.SortFunc(out, time.Time.Compare)
		return out
	}
	waitFor(t, "labels", func() bool { return rec.count(topics.Labels) > 10 })
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) || stats().Collected != 0 {
		t.Fatalf("collect off, but %s: %v, stats %+v", dir, err, stats())
	}

	apply(CollectConfig{Below: 1, MaxFiles: 3, MaxBytes: DefaultCollectBytes})
	waitFor(t, "frames collected", func() bool { return stats().Collected >= 10 })
	waitFor(t, "every frame, 20 a second, within 3 files", func() bool {
		tm := times()
		return len(tm) == 3 && tm[2].Sub(tm[0]) < time.Second
	})

	apply(CollectConfig{Every: time.Second, MaxFiles: 3, MaxBytes: DefaultCollectBytes})
	waitFor(t, "3 periodic samples", func() bool {
		tm := times()
		return len(tm) == 3 && tm[1].Sub(tm[0]) >= time.Second && tm[2].Sub(tm[1]) >= time.Second
	})

	apply(defaultCollect())
	offAt := time.Now()
	labels := rec.count(topics.Labels)
	waitFor(t, "labels", func() bool { return rec.count(topics.Labels) > labels+20 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if tm := times(); len(tm) != 3 || tm[2].After(offAt) {
		t.Errorf("samples %v, collect off from %v", tm, offAt)
	}
	if st := stats(); st.Collected < 13 || st.CollectDropped != 0 {
		t.Errorf("stats: %d collected, %d dropped", st.Collected, st.CollectDropped)
	}
}
