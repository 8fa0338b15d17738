package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coatnet-edge/coatnet-edge/camera"
	"github.com/coatnet-edge/coatnet-edge/internal/redact"
	"github.com/coatnet-edge/coatnet-edge/motion"
	"github.com/coatnet-edge/coatnet-edge/picture"
)

// places runs a configuration with cameras: one feed and goroutine per
// camera (motion detection, and which regions are due on each frame),
// one engine per model file, and one scheduler classifying the regions'
// crops (scheduler.go). A file without cameras: runs the Pipeline as
// before instead.
type places struct {
	cfg     Config // as configured (reloads compare with it)
	log     *slog.Logger
	pub     placesSink
	control *Control
	stats   *Stats // the top-level counters, shared with the legacy pipeline's meaning
	ring    *SnapshotRing
	collect *Collector
	sched   *scheduler

	mu      sync.Mutex // guards cams (and each one's plan and regions), engines, past and taps for stats readers
	cams    []*placeCamera
	engines map[string]*modelEngine // by RegionPlan.Model
	past    cameraCounters          // of the feeds reloads closed
	// taps are the cameras' frame taps by name, kept across reloads
	// that reopen a camera, so a stream watching it goes on.
	taps map[string]*frameTap
}

// placesSink takes what places publish; Publisher is one.
type placesSink interface {
	publishLabelsOn(topic string, msg LabelsMessage) (uint64, error)
	publishRaw(topic string, qos byte, retain bool, payload []byte)
}

// modelEngine is one model file's classifier, shared by the regions naming it;
// only the scheduler's goroutine uses it.
type modelEngine struct {
	inf *inference
}

// placeCamera is one camera of cameras:.
type placeCamera struct {
	name     string // plan.Name, which stats read while a reload changes plan
	plan     CameraPlan
	resolved Config // the configuration openCamera takes for it
	feed     *cameraFeed
	det      *motion.Detector // nil: motion off
	regions  []*placeRegion
	tap      *frameTap // nil: no web server watches

	// The camera goroutine's: the frame size the regions are resolved for.
	w, h    int
	sizeBad bool // the regions do not fit this size (logged once)
	// boxes are the regions drawn on frame snapshots, replaced (never
	// changed) when the size changes.
	boxes  atomic.Pointer[[]picture.Box]
	motion atomic.Bool
}

// placeRegion is one region: its plan, its state and its counters.
type placeRegion struct {
	name   string // plan.Name, which stats read while a reload changes plan
	camera *placeCamera
	plan   RegionPlan
	topics RegionTopics
	slot   cropSlot

	// The camera goroutine's.
	rect image.Rectangle
	last time.Time // the frame that was last handed over

	// The scheduler's.
	eng    *modelEngine
	deb    *Debouncer
	filter changeFilter
	top    []Label
	enc    picture.Encoder
	// sampled is the frame time of the last periodic collect sample.
	sampled time.Time

	collected collectCounters

	// settling is the Debouncer's Settling after the last result: the
	// region is due on every frame until its run confirms or breaks.
	settling                             atomic.Bool
	classified, skipped, changes, failed atomic.Int64
	mu                                   sync.Mutex // guards inference and the state fields
	inference                            ring
	state                                string
	// The confirmed state's score and start, and the label drawn on the
	// live view ("door: open"), made once per change.
	stateScore float64
	stateSince time.Time
	drawn      string
}

// newPlaces opens the engines of cfg (which has cameras:); start opens
// the cameras.
func newPlaces(cfg Config, control *Control, stats *Stats, log *slog.Logger) (*places, error) {
	p := &places{cfg: cfg, log: log, control: control, stats: stats, sched: newScheduler()}
	engines, err := p.openEngines(cfg, nil)
	if err != nil {
		return nil, err
	}
	p.engines = engines
	return p, nil
}

// modelName is the name of the first model's engine (for the log and
// discovery).
func (p *places) modelName() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range sortedKeys(p.engines) {
		return p.engines[m].inf.md.Name
	}
	return ""
}

// discoveryLabels are the labels of each model file the regions name, for
// their Home Assistant enum sensors.
func (p *places) discoveryLabels() map[string][]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string][]string, len(p.engines))
	for m, e := range p.engines {
		out[m] = e.inf.md.Labels
	}
	return out
}

// start opens the snapshot ring under state_dir and the cameras, and
// publishes through pub; on an error close closes what was opened.
func (p *places) start(ctx context.Context, pub placesSink) error {
	p.pub = pub
	p.ring = OpenSnapshotRing(filepath.Join(p.cfg.StateDir, "snapshots"), SnapshotLimits{}, p.log)
	p.collect = OpenCollector(filepath.Join(p.cfg.StateDir, "collect"), p.log)
	for _, plan := range p.cfg.Plan() {
		c, err := p.openCamera(ctx, plan)
		if err != nil {
			return err
		}
		c.regions = p.newRegions(c, nil)
		p.mu.Lock()
		p.cams = append(p.cams, c)
		p.mu.Unlock()
	}
	p.setSchedule()
	return nil
}

// openEngines opens the model files of cfg that have is not open already
// (it is kept, the others are new); on error it closes what it opened.
func (p *places) openEngines(cfg Config, have map[string]*modelEngine) (map[string]*modelEngine, error) {
	out := map[string]*modelEngine{}
	for _, m := range cfg.Models() {
		if e, ok := have[m]; ok {
			out[m] = e
			continue
		}
		one := cfg
		one.Model.Path, one.Camera = m, CameraConfig{} // no camera: no demo video
		err := resolveDemo(&one, p.log)
		var inf *inference
		if err == nil {
			inf, err = openInference(one)
		}
		if err != nil {
			for k, e := range out {
				if have[k] == nil {
					e.inf.close()
				}
			}
			return nil, fmt.Errorf("%s: %w", modelKey(cfg, m), err)
		}
		out[m] = &modelEngine{inf: inf}
	}
	return out, nil
}

// modelKey names the first region key using model file m.
func modelKey(cfg Config, m string) string {
	for _, c := range cfg.Plan() {
		for _, r := range c.Regions {
			if r.Model == m {
				return r.Key + ".model"
			}
		}
	}
	return "model.path"
}

// openCamera opens plan's camera feed and its motion detector.
func (p *places) openCamera(ctx context.Context, plan CameraPlan) (*placeCamera, error) {
	one := p.cfg
	one.Camera = plan.Camera
	if err := resolveDemo(&one, p.log); err != nil {
		return nil, fmt.Errorf("cameras.%s: %w", plan.Name, err)
	}
	c := &placeCamera{name: plan.Name, plan: plan, resolved: one, tap: p.tapFor(plan.Name)}
	if err := c.setMotion(plan.Motion); err != nil {
		return nil, err
	}
	feed, err := openCamera(ctx, one, p.log)
	if err != nil {
		return nil, fmt.Errorf("cameras.%s: %w", plan.Name, err)
	}
	c.feed = feed
	return c, nil
}

// tapFor is the frame tap of the camera named name, made on first use.
func (p *places) tapFor(name string) *frameTap {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.taps == nil {
		p.taps = map[string]*frameTap{}
	}
	t := p.taps[name]
	if t == nil {
		t = newFrameTap()
		p.taps[name] = t
	}
	return t
}

// setMotion starts (or stops) the camera's motion detector for m.
func (c *placeCamera) setMotion(m MotionConfig) error {
	c.det = nil
	if !m.Enabled {
		return nil
	}
	mc := motion.Defaults()
	mc.Threshold, mc.MinArea = m.Threshold, m.MinArea
	det, err := motion.New(mc)
	if err != nil {
		return fmt.Errorf("cameras.%s.motion: %w", c.plan.Name, err)
	}
	c.det = det
	return nil
}

// newRegions makes c's regions from its plan, keeping from old (by name)
// those whose plan is unchanged, and the state of those whose model is.
func (p *places) newRegions(c *placeCamera, old []*placeRegion) []*placeRegion {
	var out []*placeRegion
	for _, rp := range c.plan.Regions {
		i := slices.IndexFunc(old, func(o *placeRegion) bool { return o.plan.Name == rp.Name })
		var r *placeRegion
		switch {
		case i >= 0 && reflect.DeepEqual(old[i].plan, rp):
			r = old[i]
		case i >= 0 && old[i].plan.Model == rp.Model:
			// Changed settings, same model: the state stands, under the new rule.
			r = old[i]
			r.plan = rp
			r.deb.SetRule(rp.Confirm, rp.Threshold) //nolint:errcheck // validated
			r.filter = changeFilter{hysteresis: rp.Confirm}
		default:
			deb, _ := NewDebouncer(rp.Confirm, rp.Threshold) // validated
			r = &placeRegion{name: rp.Name, plan: rp, deb: deb, filter: changeFilter{hysteresis: rp.Confirm}}
		}
		r.camera = c
		r.topics = RegionTopicsFor(&p.cfg, c.plan.Name, rp.Name)
		r.eng = p.engines[rp.Model]
		r.last = time.Time{}
		out = append(out, r)
	}
	// The regions resolve again on the next frame.
	c.w, c.h = 0, 0
	return out
}

// setSchedule hands every camera's regions to the scheduler.
func (p *places) setSchedule() {
	var all []*placeRegion
	for _, c := range p.cams {
		all = append(all, c.regions...)
	}
	p.sched.set(all)
}

// run classifies until ctx ends (nil) or every camera's source ended
// (io.EOF, after what was waiting is classified).
func (p *places) run(ctx context.Context) error {
	sctx, stopSched := context.WithCancel(ctx)
	schedDone := make(chan struct{})
	go func() { defer close(schedDone); p.sched.run(sctx, p.classify) }()
	p.mu.Lock()
	cams := slices.Clone(p.cams)
	p.mu.Unlock()
	cctx, stopCams := context.WithCancel(ctx)
	defer stopCams()
	errs := make(chan error, len(cams))
	for _, c := range cams {
		go func() { errs <- p.runCamera(cctx, c) }()
	}
	var err error
	for range cams {
		e := <-errs
		if e != nil && !errors.Is(e, io.EOF) && err == nil {
			err = e
			stopCams()
		}
	}
	stopSched()
	<-schedDone
	if ctx.Err() != nil {
		return nil
	}
	p.sched.drain(p.classify)
	if err != nil {
		return err
	}
	return io.EOF
}

// runCamera reads c's frames at most pipeline.max_rate a second, finds
// motion, and hands each due region's crop to the scheduler.
func (p *places) runCamera(ctx context.Context, c *placeCamera) error {
	gate := newRateGate(p.control)
	defer gate.stop()
	for {
		next, interval, ok := gate.wait(ctx)
		if !ok {
			return nil
		}
		frame, err := c.feed.frames.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		gate.taken(next, time.Now(), interval)
		if p.frame(c, frame) {
			p.sched.signal()
		}
		frame.Release()
	}
}

// frame finds motion in f and hands the due regions' crops over; it
// reports whether it handed any.
func (p *places) frame(c *placeCamera, f camera.Frame) bool {
	if c.tap != nil {
		c.tap.see(f)
	}
	if w, h := FrameSize(f); w != c.w || h != c.h {
		c.w, c.h = w, h
		rects, err := c.plan.Resolve(w, h)
		c.sizeBad = err != nil
		if err != nil {
			p.log.Error("the regions do not fit the camera's frames; not classified until they do",
				"camera", c.plan.Name, "err", err)
		} else {
			boxes := make([]picture.Box, len(rects))
			for i, r := range c.regions {
				r.rect = rects[i]
				boxes[i] = picture.Box{Rect: rects[i], Label: r.plan.Name}
			}
			c.boxes.Store(&boxes)
		}
	}
	var boxes []image.Rectangle
	seen := false // motion is known for this frame
	if c.det != nil {
		res, err := c.det.Detect(f)
		if err == nil {
			boxes, seen = res.Boxes, !res.Warming
			if res.Changed {
				c.motion.Store(res.Motion)
				p.publishMotion(c, res.Motion)
			}
		}
	}
	if c.sizeBad {
		return false
	}
	any := false
	for _, r := range c.regions {
		due := r.last.IsZero() || r.plan.Every == 0 || f.Time.Sub(r.last) >= r.plan.Every || r.settling.Load()
		if !due && r.plan.OnMotion && seen && motion.Touches(boxes, r.rect) {
			due = true
		}
		if !due {
			if r.plan.OnMotion {
				r.skipped.Add(1)
			}
			continue
		}
		r.last = f.Time
		r.slot.offer(f, r.rect, r.plan.Snapshot.Frame)
		any = true
	}
	return any
}

// classify runs r's waiting crop (in r.slot.work) through its engine and
// publishes what follows: the labels message, a confirmed change.
func (p *places) classify(r *placeRegion) {
	b := &r.slot.work
	start := time.Now()
	inf := r.eng.inf
	logits, err := inf.classifier.LogitsBGR(b.pix, b.w, b.h, 3*b.w)
	if err != nil {
		r.failed.Add(1)
		p.stats.classifyFailed(err)
		return
	}
	d := time.Since(start)
	r.top = topKInto(r.top[:0], logits, inf.md.Labels, r.plan.TopK, r.plan.Threshold)
	r.classified.Add(1)
	r.mu.Lock()
	r.inference.add(d)
	r.mu.Unlock()
	p.stats.classified(d)
	top, score := "", 0.0
	if len(r.top) > 0 {
		top, score = r.top[0].Label, r.top[0].Score
	}
	if r.plan.Labels == "every" || r.plan.Labels == "change" && r.filter.admit(top) {
		msg := LabelsMessage{Time: b.t, Frame: b.index, Loop: b.loop, Camera: r.camera.plan.Name,
			Labels: slices.Clone(r.top), InferenceMs: float64(d.Microseconds()) / 1000, Model: inf.md.Name,
			Retain: r.plan.Labels == "change"}
		if _, err := p.pub.publishLabelsOn(r.topics.Labels, msg); err == nil {
			p.stats.published(time.Since(b.t))
		}
	}
	ch, ok := r.deb.Observe(top, score, b.t)
	r.settling.Store(r.deb.Settling())
	if ok {
		p.changed(r, ch, b)
	}
	if r.plan.Collect.on() {
		p.collectCrop(r, logits, ok, b)
	}
}

// collectCrop keeps r's crop for training when its collect: asks for it:
// a confirmed change, a top score below collect.below, or the periodic
// sample; filed under the predicted label. Nothing is allocated unless a
// crop is kept.
func (p *places) collectCrop(r *placeRegion, logits []float32, changed bool, b *cropBuf) {
	c := &r.plan.Collect
	best, score := topScore(logits)
	if !c.due(&r.sampled, b.t, changed, score) {
		return
	}
	labels := r.eng.inf.md.Labels
	label := ""
	if best < len(labels) {
		label = labels[best]
	} else {
		label = fmt.Sprint(best)
	}
	p.collect.Save(collectItem{camera: r.camera.plan.Name, region: r.plan.Name, label: label, t: b.t, pix: b.pix,
		w: b.w, h: b.h, limits: *c, counters: &r.collected})
}

// changed publishes a confirmed change: the state, then the snapshot (on
// MQTT and into the ring). A snapshot that fails costs only itself.
func (p *places) changed(r *placeRegion, ch StateChange, b *cropBuf) {
	r.changes.Add(1)
	r.mu.Lock()
	r.state, r.stateScore, r.stateSince, r.drawn = ch.Label, ch.Score, ch.Since, r.plan.Name+": "+ch.Label
	r.mu.Unlock()
	cam := r.camera.plan.Name
	st := RegionState{Camera: cam, Region: r.plan.Name, Label: ch.Label, Score: ch.Score, Since: ch.Since,
		Previous: ch.Previous, Seq: ch.Seq, Model: r.eng.inf.md.Name}
	payload, err := json.Marshal(st)
	if err == nil {
		p.pub.publishRaw(r.topics.State, byte(p.cfg.MQTT.LabelsQoS), true, payload)
	}
	p.log.Info("state", "camera", cam, "region", r.plan.Name, "label", ch.Label, "previous", ch.Previous,
		"seq", ch.Seq, "score", fmt.Sprintf("%.3f", ch.Score))
	o := r.plan.Snapshot
	var region, frame []byte
	if o.Frame && b.fw > 0 {
		var boxes []picture.Box
		if bp := r.camera.boxes.Load(); bp != nil {
			boxes = *bp
		}
		region, frame, err = TakeSnapshot(&r.enc, b.whole(), b.rect, boxes, o)
	} else {
		o.Frame = false
		region, _, err = TakeSnapshot(&r.enc, b.crop(), image.Rect(0, 0, b.w, b.h), nil, o)
	}
	if err != nil && region == nil {
		p.log.Warn("snapshot not taken", "camera", cam, "region", r.plan.Name, "err", err)
		return
	}
	// QoS 0: a picture never waits in the message store, which the
	// states and labels need.
	p.pub.publishRaw(r.topics.Snapshot, 0, true, region)
	if frame != nil {
		p.pub.publishRaw(r.topics.Frame, 0, true, frame)
	}
	p.log.Info("snapshot", "camera", cam, "region", r.plan.Name, "label", ch.Label, "topic", r.topics.Snapshot,
		"bytes", len(region), "frame_bytes", len(frame))
	p.ring.Save(Snapshot{Camera: cam, Region: r.plan.Name, Label: ch.Label, Time: ch.At, JPEG: region, Frame: frame})
}

// publishMotion publishes c's motion state, retained.
func (p *places) publishMotion(c *placeCamera, on bool) {
	payload := MotionOff
	if on {
		payload = MotionOn
	}
	p.pub.publishRaw(MotionTopic(&p.cfg, c.plan.Name), byte(p.cfg.MQTT.LabelsQoS), true, []byte(payload))
}

// motionOff publishes OFF for a camera whose detector goes (a reload).
func (p *places) motionOff(c *placeCamera) {
	if c.motion.Swap(false) {
		p.publishMotion(c, false)
	}
}

// forget clears the retained state and snapshot of camera's regions in
// old that are not in kept (removed by a reload), so that no subscriber
// takes them for a place still watched.
func (p *places) forget(camera string, old, kept []*placeRegion) {
	for _, r := range old {
		if slices.ContainsFunc(kept, func(k *placeRegion) bool { return k.plan.Name == r.plan.Name }) {
			continue
		}
		t := RegionTopicsFor(&p.cfg, camera, r.plan.Name)
		p.pub.publishRaw(t.State, byte(p.cfg.MQTT.LabelsQoS), true, nil)
		p.pub.publishRaw(t.Snapshot, byte(p.cfg.MQTT.LabelsQoS), true, nil)
		if r.plan.Snapshot.Frame {
			p.pub.publishRaw(t.Frame, byte(p.cfg.MQTT.LabelsQoS), true, nil)
		}
	}
}

// close closes the cameras, engines and the snapshot ring.
func (p *places) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.cams {
		c.feed.close()
	}
	for _, e := range p.engines {
		e.inf.close()
	}
	p.cams, p.engines = nil, nil
	if p.ring != nil {
		p.ring.Close()
	}
	if p.collect != nil {
		p.collect.Close()
	}
}

// reload applies cfg (valid, with cameras:, the same MQTT session) with
// run stopped: cameras whose settings changed are reopened, those removed
// closed; regions whose plan is unchanged keep their state; engines whose
// model file is still named are kept. On an error (a model that does not
// load) nothing changed.
func (p *places) reload(ctx context.Context, cfg Config, engines map[string]*modelEngine) {
	var err error
	p.mu.Lock()
	p.cfg = cfg
	// A copy: slices.Delete below clears the tail of the array it works
	// on, and p.cams, which health and the stats read meanwhile, must
	// stay whole until it is replaced.
	oldCams := slices.Clone(p.cams)
	p.mu.Unlock()
	var cams []*placeCamera
	var closed cameraCounters
	p.mu.Lock()
	oldEngines := p.engines
	p.engines = engines
	p.mu.Unlock()
	for _, plan := range cfg.Plan() {
		i := slices.IndexFunc(oldCams, func(c *placeCamera) bool { return c.plan.Name == plan.Name })
		one := cfg
		one.Camera = plan.Camera
		var c *placeCamera
		if i >= 0 && oldCams[i].plan.Camera == plan.Camera && sourceFPS(one) == sourceFPS(oldCams[i].resolved) {
			c = oldCams[i]
			oldCams = slices.Delete(oldCams, i, i+1)
			if !reflect.DeepEqual(c.plan.Motion, plan.Motion) {
				// A new detector starts without motion.
				p.motionOff(c)
				if err := c.setMotion(plan.Motion); err != nil {
					p.log.Error("motion detection off", "camera", plan.Name, "err", err)
				}
			}
			old := c.regions
			p.mu.Lock()
			c.plan = plan
			c.regions = p.newRegions(c, old)
			p.mu.Unlock()
			p.forget(c.plan.Name, old, c.regions)
		} else {
			var old []*placeRegion
			if i >= 0 {
				// The old camera closes first: a V4L2 device opens only once.
				old = oldCams[i].regions
				p.motionOff(oldCams[i])
				closed.add(oldCams[i].feed.counters())
				oldCams[i].feed.close()
				oldCams = slices.Delete(oldCams, i, i+1)
			}
			c, err = p.openCamera(ctx, plan)
			if err != nil {
				p.log.Error("camera not opened", "camera", plan.Name, "source", redact.Source(plan.Camera.Source),
					"err", err)
				continue
			}
			c.regions = p.newRegions(c, old)
			p.forget(plan.Name, old, c.regions)
		}
		cams = append(cams, c)
	}
	for _, c := range oldCams {
		p.motionOff(c)
		p.forget(c.plan.Name, c.regions, nil)
		closed.add(c.feed.counters())
		c.feed.close()
	}
	for m, e := range oldEngines {
		if engines[m] == nil {
			e.inf.close()
		}
	}
	p.mu.Lock()
	p.cams = cams
	p.past.add(closed)
	p.mu.Unlock()
	p.setSchedule()
}

// reloadPlaces is reload for a file with cameras: the engines of new model
// files are opened while the old configuration runs (one that does not
// load keeps it), then run is stopped, the changes applied, and loop
// starts run again.
func (a *agent) reloadPlaces(ctx context.Context, cfg Config, fileModel string, stop context.CancelFunc,
	done <-chan error) (bool, error) {
	log := a.log
	engines, err := a.places.openEngines(cfg, a.places.engines)
	if err != nil {
		a.refuse(err)
		return false, nil
	}
	stopped, err := a.swapPlaces(ctx, cfg, engines, stop, done)
	if stopped && err == nil {
		a.reloaded(fileModel)
		log.Info("configuration reloaded", "cameras", len(cfg.Cameras))
	}
	return stopped, err
}

// swapPlaces is swap for a file with cameras: engines (opened aside by
// openEngines) and cfg are put in force; a reload and set/model both
// swap through it.
func (a *agent) swapPlaces(ctx context.Context, cfg Config, engines map[string]*modelEngine, stop context.CancelFunc,
	done <-chan error) (bool, error) {
	log := a.log
	if cfg.CPUAffinity != a.cfg.CPUAffinity {
		cpus := cfg.CPUAffinity
		if cpus == "" {
			cpus = a.startCPUs
		}
		if err := pinCPUs(cpus); err != nil {
			for m, e := range engines {
				if a.places.engines[m] == nil {
					e.inf.close()
				}
			}
			a.refuse(err)
			return false, nil
		}
	}
	stop()
	if err := <-done; err != nil && !errors.Is(err, io.EOF) {
		log.Warn("pipeline ended with an error during the reload", "err", err)
	}
	a.places.reload(ctx, cfg, engines)
	a.mu.Lock()
	a.cfg = cfg
	a.mu.Unlock()
	if cfg.MQTT.Discovery {
		o := DiscoveryOptions{Model: a.places.modelName(), Version: a.opts.Version, Labels: a.places.discoveryLabels()}
		if d, err := DeviceDiscovery(&cfg, o); err == nil {
			a.pub.SetDiscovery(d)
		}
	}
	return true, nil
}

// CameraStats are one camera's counters in the stats message.
type CameraStats struct {
	cameraCounters
	Stalled   bool                   `json:"camera_stalled"`
	Available bool                   `json:"camera_available"`
	Motion    bool                   `json:"motion"`
	Regions   map[string]RegionStats `json:"regions"`
}

// RegionStats are one region's counters in the stats message.
type RegionStats struct {
	State          string  `json:"state,omitempty"`
	Classified     int64   `json:"classified" metric:"counter"`
	SkippedMotion  int64   `json:"skipped_motion" metric:"counter"` // frames its on_motion check let pass
	DroppedCPU     int64   `json:"dropped_cpu" metric:"counter"`    // crops replaced before the scheduler ran them
	StateChanges   int64   `json:"state_changes" metric:"counter"`  // confirmed
	Failed         int64   `json:"failed" metric:"counter"`         // classifications that failed
	InferenceP50Ms float64 `json:"inference_p50_ms"`
	InferenceP99Ms float64 `json:"inference_p99_ms"`
	// Collected crops kept for training (collect:), and those dropped
	// (the writer was behind, or the disk full).
	Collected      int64 `json:"collected" metric:"counter"`
	CollectDropped int64 `json:"collect_dropped" metric:"counter"`
}

// cameraStats are the per-camera and per-region stats.
func (p *places) cameraStats() map[string]CameraStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]CameraStats, len(p.cams))
	for _, c := range p.cams {
		cs := CameraStats{cameraCounters: c.feed.counters(), Stalled: c.feed.src.Stalled(),
			Available: c.feed.src.Available(), Motion: c.motion.Load(), Regions: map[string]RegionStats{}}
		for _, r := range c.regions {
			r.mu.Lock()
			rs := RegionStats{State: r.state, Classified: r.classified.Load(), SkippedMotion: r.skipped.Load(),
				DroppedCPU: r.slot.dropped.Load(), StateChanges: r.changes.Load(), Failed: r.failed.Load(),
				InferenceP50Ms: r.inference.percentile(0.5), InferenceP99Ms: r.inference.percentile(0.99),
				Collected: r.collected.collected.Load(), CollectDropped: r.collected.dropped.Load()}
			r.mu.Unlock()
			cs.Regions[r.name] = rs
		}
		out[c.name] = cs
	}
	return out
}

// counters add up every camera's, across reloads.
func (p *places) counters() cameraCounters {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.past
	for _, cam := range p.cams {
		c.add(cam.feed.counters())
	}
	return c
}

// health: stalled if any camera is, available if every camera is.
func (p *places) health() (stalled, available bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	available = len(p.cams) > 0
	for _, c := range p.cams {
		stalled = stalled || c.feed.src.Stalled()
		available = available && c.feed.src.Available()
	}
	return stalled, available
}

// awaited is cameraAwaited for every camera: true while one waits out its
// back-off without an Open hanging.
func (p *places) awaited(limit time.Duration) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.cams {
		if !c.feed.src.Available() && c.feed.src.OpenElapsed() < limit {
			return true
		}
	}
	return false
}
