package agent

import (
	"image"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/coatnet-edge/coatnet-edge/camera"
)

// bgrFrame is a w x h BGR frame of level v, numbered i.
func bgrFrame(w, h, i int, v byte) camera.Frame {
	pix := make([]byte, 3*w*h)
	for k := range pix {
		pix[k] = v
	}
	return camera.Frame{BGR: pix, Width: w, Height: h, Stride: 3 * w, Index: int64(i),
		Time: time.Unix(0, 0).Add(time.Duration(i) * 100 * time.Millisecond)}
}

func testRegions(names ...string) []*placeRegion {
	var out []*placeRegion
	for _, n := range names {
		out = append(out, &placeRegion{name: n, plan: RegionPlan{Name: n}})
	}
	return out
}

// A region holds only its newest crop: those replaced before the
// scheduler took them count as dropped, and the one taken is the newest,
// copied (the frame may be released and reused at once).
func TestSchedulerKeepsTheNewestCrop(t *testing.T) {
	s := newScheduler()
	rs := testRegions("a")
	s.set(rs)
	if s.take() != nil {
		t.Fatal("a crop taken before any was offered")
	}
	rect := image.Rect(2, 1, 6, 4)
	for i := range 5 {
		f := bgrFrame(8, 6, i, byte(10*i))
		rs[0].slot.offer(f, rect, false)
		for k := range f.BGR {
			f.BGR[k] = 255 // the frame's buffer goes back to the camera
		}
	}
	if r := s.take(); r != rs[0] {
		t.Fatalf("took %v", r)
	}
	w := rs[0].slot.work
	if w.index != 4 || w.w != 4 || w.h != 3 || len(w.pix) != 3*4*3 || w.pix[0] != 40 || w.pix[len(w.pix)-1] != 40 {
		t.Fatalf("took frame %d, %dx%d, %d bytes, first %d", w.index, w.w, w.h, len(w.pix), w.pix[0])
	}
	if d := rs[0].slot.dropped.Load(); d != 4 {
		t.Errorf("dropped %d, want 4", d)
	}
	if s.take() != nil {
		t.Error("a second crop from one offer")
	}
}

// Round robin: a region offered a crop on every frame does not starve
// the others, whichever was offered first.
func TestSchedulerRoundRobin(t *testing.T) {
	s := newScheduler()
	rs := testRegions("a", "b", "c")
	s.set(rs)
	f := bgrFrame(4, 4, 0, 1)
	whole := image.Rect(0, 0, 4, 4)
	var got []string
	for range 3 {
		// All three wait; a takes one turn, then the others get theirs.
		for i := len(rs) - 1; i >= 0; i-- {
			rs[i].slot.offer(f, whole, false)
		}
		for range 2 {
			r := s.take()
			got = append(got, r.plan.Name)
			rs[0].slot.offer(f, whole, false) // a is busy: a crop every time
		}
		for r := s.take(); r != nil; r = s.take() {
			got = append(got, r.plan.Name)
		}
	}
	order := ""
	for _, g := range got {
		order += g
	}
	if want := "abcabcabca"; order != want {
		t.Errorf("order %s, want %s", order, want)
	}
}

// The camera goroutine's work per frame (motion, due regions, crops) and
// the scheduler's per classification (the engine, top-k, the debouncer,
// stats) allocate nothing once the first frames have set the buffers up
// and the state is confirmed.
func TestPlacesNoAllocationsPerFrame(t *testing.T) {
	cfg := testConfig(t, "mqtt://127.0.0.1:1")
	cfg.Camera = defaultCamera()
	var cam CameraSpec
	cam.setDefaults()
	cam.Source = "../testdata/fashion"
	var bin, door RegionSpec
	bin.setDefaults()
	door.setDefaults()
	bin.RectPx, bin.OnMotion = []int{4, 4, 40, 40}, true
	door.RectPx = []int{60, 4, 40, 40}
	cam.Regions = map[string]RegionSpec{"bin": bin, "door": door}
	cfg.Cameras = map[string]CameraSpec{"yard": cam}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p, err := newPlaces(cfg, NewControl(cfg.Pipeline), &Stats{}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	p.pub = discardSink{}
	p.ring = OpenSnapshotRing(t.TempDir(), SnapshotLimits{}, log)
	c := &placeCamera{name: "yard", plan: cfg.Plan()[0]}
	if err := c.setMotion(c.plan.Motion); err != nil {
		t.Fatal(err)
	}
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
	for range 20 {
		step()
	}
	for _, r := range c.regions {
		if _, ok := r.deb.State(); !ok {
			t.Fatalf("%s has no state after 20 frames", r.plan.Name)
		}
	}
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	if n := testing.AllocsPerRun(50, step); n != 0 {
		t.Errorf("%.1f allocations per frame", n)
	}
	if c.regions[0].skipped.Load() == 0 || c.regions[1].classified.Load() < 70 {
		t.Errorf("bin skipped %d, door classified %d", c.regions[0].skipped.Load(), c.regions[1].classified.Load())
	}
}

// discardSink publishes nothing.
type discardSink struct{}

func (discardSink) publishLabelsOn(string, LabelsMessage) (uint64, error) { return 0, nil }
func (discardSink) publishRaw(string, byte, bool, []byte)                 {}

// A reload reopens only the cameras whose keys changed, keeps the engine
// of a model file still named and closes one no longer named, and keeps
// the state of a region whose plan is unchanged.
func TestPlacesReloadKeepsWhatDidNotChange(t *testing.T) {
	cfg := testConfig(t, "mqtt://127.0.0.1:1")
	cfg.Camera = defaultCamera()
	spec := func(fps float64, regions ...string) CameraSpec {
		var c CameraSpec
		c.setDefaults()
		c.Source, c.FPS, c.Motion.Enabled = "../testdata/fashion", fps, false
		c.Regions = map[string]RegionSpec{}
		for _, n := range regions {
			var r RegionSpec
			r.setDefaults()
			c.Regions[n] = r
		}
		return c
	}
	cfg.Cameras = map[string]CameraSpec{"a": spec(5, "x", "y"), "b": spec(5, "z")}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := t.Context()
	p, err := newPlaces(cfg, NewControl(cfg.Pipeline), &Stats{}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	if err := p.start(ctx, discardSink{}); err != nil {
		t.Fatal(err)
	}
	a, b := p.cams[0], p.cams[1]
	feedA, feedB, x, eng := a.feed, b.feed, a.regions[0], p.engines[cfg.Model.Path]
	x.deb.Observe("Bag", 1, time.Now())
	x.deb.Observe("Bag", 1, time.Now())
	x.deb.Observe("Bag", 1, time.Now())
	if _, ok := x.deb.State(); !ok {
		t.Fatal("no state")
	}

	// a: region y removed, w added, x unchanged; b: another fps, and its
	// region another model file (a copy).
	next := cfg
	other := filepath.Join(t.TempDir(), "copy.coatnet")
	raw, err := os.ReadFile(cfg.Model.Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	nb := spec(7, "z")
	z := nb.Regions["z"]
	z.Model = &other
	nb.Regions["z"] = z
	next.Cameras = map[string]CameraSpec{"a": spec(5, "w", "x"), "b": nb}
	if err := next.Validate(); err != nil {
		t.Fatal(err)
	}
	engines, err := p.openEngines(next, p.engines)
	if err != nil {
		t.Fatal(err)
	}
	// The list health() and the stats read under p.mu must stay whole
	// until reload replaces it: slices.Delete on a shared array clears its
	// tail, which put a nil camera there (a stats tick panicked on it).
	before, listed := p.cams, slices.Clone(p.cams)
	p.reload(ctx, next, engines)
	if !slices.Equal(before, listed) {
		t.Errorf("reload changed the camera list it replaced: %v, was %v", before, listed)
	}
	if len(p.cams) != 2 || p.cams[0].feed != feedA || p.cams[1].feed == feedB {
		t.Errorf("feeds: a kept %v, b kept %v", p.cams[0].feed == feedA, p.cams[1].feed == feedB)
	}
	var names []string
	for _, r := range p.cams[0].regions {
		names = append(names, r.plan.Name)
	}
	if len(names) != 2 || names[0] != "w" || names[1] != "x" || p.cams[0].regions[1] != x {
		t.Fatalf("a's regions %v (x kept: %v)", names, p.cams[0].regions[1] == x)
	}
	if st, ok := x.deb.State(); !ok || st.Label != "Bag" || st.Seq != 1 {
		t.Errorf("x's state %+v, %v", st, ok)
	}
	if _, ok := p.cams[0].regions[0].deb.State(); ok {
		t.Error("the new region w has a state")
	}
	if p.engines[cfg.Model.Path] != eng || p.cams[1].regions[0].eng != p.engines[filepath.Clean(other)] ||
		len(p.engines) != 2 || x.eng != eng {
		t.Errorf("engines after the reload: %v", p.engines)
	}
}

// A picture frame (a folder camera) is copied into BGR like a camera's.
func TestCopyBGRPicture(t *testing.T) {
	img := image.NewRGBA(image.Rect(10, 20, 16, 24)) // bounds need not start at 0, 0
	for y := 20; y < 24; y++ {
		for x := 10; x < 16; x++ {
			i := img.PixOffset(x, y)
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = byte(x), byte(y), 7, 255
		}
	}
	got := copyBGR(nil, camera.Frame{Image: img}, image.Rect(1, 2, 3, 4))
	want := []byte{7, 22, 11, 7, 22, 12, 7, 23, 11, 7, 23, 12}
	if string(got) != string(want) {
		t.Errorf("copyBGR = %v, want %v", got, want)
	}
}

// Regions that do not fit the camera's frames are not classified (and
// nothing panics); a frame size they fit makes them due again.
func TestRegionsBeyondTheFrame(t *testing.T) {
	cfg := testConfig(t, "mqtt://127.0.0.1:1")
	cfg.Camera = defaultCamera()
	var cam CameraSpec
	cam.setDefaults()
	cam.Source, cam.Motion.Enabled = "../testdata/fashion", false
	var r RegionSpec
	r.setDefaults()
	r.RectPx = []int{40, 0, 30, 30}
	cam.Regions = map[string]RegionSpec{"far": r}
	cfg.Cameras = map[string]CameraSpec{"yard": cam}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	p := &places{cfg: cfg, log: slog.New(slog.NewTextHandler(io.Discard, nil)), sched: newScheduler()}
	c := &placeCamera{name: "yard", plan: cfg.Plan()[0]}
	c.regions = p.newRegions(c, nil)
	p.sched.set(c.regions)
	if p.frame(c, bgrFrame(64, 48, 0, 1)) || p.sched.take() != nil {
		t.Fatal("a region beyond a 64x48 frame was handed over")
	}
	if !p.frame(c, bgrFrame(80, 48, 1, 1)) || p.sched.take() != c.regions[0] {
		t.Fatal("the region fits an 80x48 frame but was not handed over")
	}
}
