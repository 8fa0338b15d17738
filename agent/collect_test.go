package agent

import (
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coatnet-edge/coatnet-edge/camera"
	"github.com/coatnet-edge/coatnet-edge/dataset"
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
