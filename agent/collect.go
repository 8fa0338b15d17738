package agent

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/coatnet-edge/coatnet-edge/camera"
)

// Collecting: the crops the model saw, kept as a folder dataset for
// training a model of the user's own states,
// state_dir/collect/<camera>/<region>/<predicted label>/<time>.png; a
// file without cameras: keeps whole frames as its one camera's one
// region, state_dir/collect/camera/frame/ (frameCollector).
// Labelling is moving a file to the folder of its true class; the
// folder is what `coatnet eval --dataset`, `coatnet quantize --calib` and
// `make model DATA=` read.
//
// The pictures are PNG: lossless, so that a model is trained on the very
// pixels it will see (a JPEG's blocking and chroma loss at the region's
// full resolution would be learnt as if it were the scene), and the
// region's own pixels, before any resizing, so that any input size can
// be trained later. A 128x128 crop is about 30 KiB.

// CollectConfig is a region's collect: key.
type CollectConfig struct {
	// Changes keeps the crop that confirmed each state change.
	Changes bool `yaml:"changes"`
	// Below keeps each crop whose top score is below it (0: off): the
	// pictures the model is least sure of.
	Below float64 `yaml:"below"`
	// Every keeps one crop this often (0: off), whatever it shows.
	Every time.Duration `yaml:"every"`
	// MaxFiles and MaxBytes bound the region's folder; the oldest files
	// go first.
	MaxFiles int   `yaml:"max_files"`
	MaxBytes int64 `yaml:"max_bytes"`
}

// due reports whether a classification at t, scoring score, is kept:
// a confirmed change, a score below Below, or the periodic sample, whose
// time sampled keeps (a clock set back starts it again).
func (c *CollectConfig) due(sampled *time.Time, t time.Time, changed bool, score float64) bool {
	periodic := c.Every > 0 && (sampled.IsZero() || t.Sub(*sampled) >= c.Every || t.Before(*sampled))
	if periodic {
		*sampled = t
	}
	return changed && c.Changes || c.Below > 0 && score < c.Below || periodic
}

// Collect defaults: off; bounds that a year of 10-minute samples of a
// small region fits.
const (
	DefaultCollectFiles = 1000
	DefaultCollectBytes = 256 << 20
	maxCollectFiles     = 1000000
	minCollectBytes     = 1 << 20
	maxCollectBytes     = 1 << 40
	minCollectEvery     = time.Second
)

func defaultCollect() CollectConfig {
	return CollectConfig{MaxFiles: DefaultCollectFiles, MaxBytes: DefaultCollectBytes}
}

// on: something is collected.
func (c *CollectConfig) on() bool { return c.Changes || c.Below > 0 || c.Every > 0 }

// check reports c's invalid values under key (a region's collect).
func (c *CollectConfig) check(key string, bad func(key, format string, args ...any)) {
	if !(c.Below >= 0 && c.Below <= 1) {
		bad(key+".below", "%v must be in [0, 1], a score (0: off)", c.Below)
	}
	if c.Every != 0 && (c.Every < minCollectEvery || c.Every > maxEvery) {
		bad(key+".every", "%v must be in [%v, %v], or 0 for no periodic sample", c.Every, minCollectEvery, maxEvery)
	}
	if c.MaxFiles < 1 || c.MaxFiles > maxCollectFiles {
		bad(key+".max_files", "%d must be in [1, %d] files", c.MaxFiles, maxCollectFiles)
	}
	if c.MaxBytes < minCollectBytes || c.MaxBytes > maxCollectBytes {
		bad(key+".max_bytes", "%d must be in [%d, %d] bytes", c.MaxBytes, minCollectBytes, int64(maxCollectBytes))
	}
}

// collectCounters are a region's collect counters, for its stats.
type collectCounters struct {
	collected atomic.Int64 // written
	dropped   atomic.Int64 // the writer was behind, or the write failed (a full disk)
}

// collectItem is one crop to keep: BGR pixels, stride 3*w, the
// collector's from Save on.
type collectItem struct {
	camera, region, label string
	t                     time.Time
	pix                   []byte
	w, h                  int
	limits                CollectConfig
	counters              *collectCounters
	done                  chan struct{} // a Flush barrier
}

// collectQueue: samples are rare (changes, a timer); a burst of low
// scores beyond it is dropped, never waited for.
const collectQueue = 16

// collectQueueBytes bounds the pixels waiting too: 16 whole 1080p frames
// would be 100 MB, more than a small board should hold for samples.
const collectQueueBytes = 32 << 20

// Collector writes the collected crops from a bounded queue on its own
// goroutine, atomically and leaving the snapshot ring's free space for
// the MQTT store (atomicWrite, roomFor), so that a slow or full disk
// costs samples, never states or labels.
type Collector struct {
	dir   string
	log   *slog.Logger
	queue chan *collectItem
	done  chan struct{}
	once  sync.Once

	write    func(path string, data []byte) error
	free     func(dir string) int64
	keepFree int64

	sendMu sync.RWMutex
	closed bool
	queued atomic.Int64 // bytes of pixels waiting

	// The writer's: each region's files, indexed when it is first seen.
	regions map[regionKey]*collectRegion
	removed atomic.Int64
	failLog logLimiter
	buf     bytes.Buffer
}

type collectRegion struct {
	files []collectFile // oldest first
	bytes int64
}

type collectFile struct {
	path  string
	time  time.Time
	bytes int64
}

// OpenCollector starts the writer of dir (state_dir/collect); Close stops
// it. Like the snapshot ring it cannot fail: folders are made on each write.
func OpenCollector(dir string, log *slog.Logger) *Collector {
	c := &Collector{dir: dir, log: log, queue: make(chan *collectItem, collectQueue), done: make(chan struct{}),
		write: atomicWrite, free: freeBytes, keepFree: DefaultSnapshotKeepFree,
		regions: map[regionKey]*collectRegion{},
		failLog: logLimiter{b: bucket{burst: 1, every: storeLogInterval}, what: "collect"}}
	go c.run()
	return c
}

// Save copies pix (BGR, stride 3*w) and queues it; false (counted as
// dropped) when the queue is full or the collector closed.
func (c *Collector) Save(it collectItem) bool {
	c.sendMu.RLock()
	defer c.sendMu.RUnlock()
	n := int64(3 * it.w * it.h)
	if c.closed || len(c.queue) == cap(c.queue) || c.queued.Load() > 0 && c.queued.Load()+n > collectQueueBytes {
		it.counters.dropped.Add(1)
		return false
	}
	it.pix = bytes.Clone(it.pix[:n])
	c.queued.Add(n)
	select {
	case c.queue <- &it:
		return true
	default:
		c.queued.Add(-n)
		it.counters.dropped.Add(1)
		return false
	}
}

// Flush waits until what was saved before it is written (or failed).
func (c *Collector) Flush() {
	done := make(chan struct{})
	c.sendMu.RLock()
	if c.closed {
		c.sendMu.RUnlock()
		return
	}
	c.queue <- &collectItem{done: done}
	c.sendMu.RUnlock()
	<-done
}

// Close writes what is queued and stops the writer; safe more than once.
func (c *Collector) Close() error {
	c.once.Do(func() {
		c.sendMu.Lock()
		c.closed = true
		close(c.queue)
		c.sendMu.Unlock()
	})
	<-c.done
	return nil
}

func (c *Collector) run() {
	defer close(c.done)
	for it := range c.queue {
		if it.done != nil {
			close(it.done)
			continue
		}
		c.store(it)
		c.queued.Add(-int64(len(it.pix)))
	}
}

// store encodes and writes one crop and applies its region's bounds.
func (c *Collector) store(it *collectItem) {
	k := regionKey{it.camera, it.region}
	rs := c.regions[k]
	if rs == nil {
		rs = c.scan(filepath.Join(c.dir, escapeName(it.camera), escapeName(it.region)))
		c.regions[k] = rs
	}
	c.buf.Reset()
	img := &image.RGBA{Pix: make([]byte, 4*it.w*it.h), Stride: 4 * it.w, Rect: image.Rect(0, 0, it.w, it.h)}
	for i, j := 0, 0; i < len(it.pix); i, j = i+3, j+4 {
		img.Pix[j], img.Pix[j+1], img.Pix[j+2], img.Pix[j+3] = it.pix[i+2], it.pix[i+1], it.pix[i], 0xff
	}
	if err := png.Encode(&c.buf, img); err != nil {
		c.fail(it, err)
		return
	}
	size := int64(c.buf.Len())
	if size > it.limits.MaxBytes {
		c.fail(it, fmt.Errorf("%d bytes, more than collect.max_bytes %d", size, it.limits.MaxBytes))
		return
	}
	dir := filepath.Join(c.dir, escapeName(it.camera), escapeName(it.region), labelFolder(it.label))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		c.fail(it, err)
		return
	}
	if err := roomFor(c.free, dir, size, c.keepFree); err != nil {
		c.fail(it, err)
		return
	}
	t := it.t.UTC()
	path := ""
	for {
		path = filepath.Join(dir, t.Format(snapshotTime)+collectExt)
		if !slices.ContainsFunc(rs.files, func(f collectFile) bool { return f.path == path }) {
			break
		}
		t = t.Add(time.Microsecond)
	}
	if err := c.write(path, c.buf.Bytes()); err != nil {
		c.fail(it, err)
		return
	}
	it.counters.collected.Add(1)
	rs.files = append(rs.files, collectFile{path: path, time: t, bytes: size})
	slices.SortFunc(rs.files, compareCollected)
	rs.bytes += size
	for len(rs.files) > 1 && (len(rs.files) > it.limits.MaxFiles || rs.bytes > it.limits.MaxBytes) {
		f := rs.files[0]
		// A file the user moved or removed meanwhile is gone already.
		if err := os.Remove(f.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			c.log.Warn("collect: cannot remove an old sample", "file", f.path, "err", err)
		}
		rs.files = slices.Delete(rs.files, 0, 1)
		rs.bytes -= f.bytes
		c.removed.Add(1)
	}
}

const collectExt = ".png"

// labelFolder is the folder of a label: the label itself ("Ankle boot"),
// as a folder dataset names its classes, with what cannot be in one path
// element (a '/', a leading '.' that would hide it, control characters)
// made '_', which the folder reader ignores as it matches folders to
// labels (dataset.ClassKey): "T-shirt/top" is T-shirt_top. A label that
// is not UTF-8 or too long for a name is escaped (escapeName).
func labelFolder(label string) string {
	switch {
	case label == "":
		return "unlabelled" // a model without label names for a class
	case len(label) > maxLabelInName || !utf8.ValidString(label):
		return truncateEscaped(escapeName(label), maxLabelInName)
	}
	name := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || unicode.IsControl(r) {
			return '_'
		}
		return r
	}, label)
	if name[0] == '.' {
		name = "_" + name[1:]
	}
	return name
}

func compareCollected(a, b collectFile) int {
	if c := a.time.Compare(b.time); c != 0 {
		return c
	}
	return strings.Compare(a.path, b.path)
}

func (c *Collector) fail(it *collectItem, err error) {
	it.counters.dropped.Add(1)
	c.failLog.log(c.log, slog.LevelWarn, "collect: cannot keep a sample; the state is published without it",
		"camera", it.camera, "region", it.region, "err", err)
}

// scan indexes a region's folder (its label folders, however the user
// moved files between them) and removes what a crash left half-written.
func (c *Collector) scan(dir string) *collectRegion {
	rs := &collectRegion{}
	labels, err := os.ReadDir(dir)
	if err != nil {
		return rs // none yet
	}
	for _, l := range labels {
		if !l.IsDir() {
			continue
		}
		ldir := filepath.Join(dir, l.Name())
		files, err := os.ReadDir(ldir)
		if err != nil {
			c.log.Warn("collect: cannot list a label's folder", "dir", ldir, "err", err)
			continue
		}
		for _, f := range files {
			name := f.Name()
			info, err := f.Info()
			if err != nil || !info.Mode().IsRegular() {
				continue
			}
			switch {
			case strings.HasPrefix(name, ".") && strings.HasSuffix(name, snapshotTmpExt):
				if err := os.Remove(filepath.Join(ldir, name)); err != nil {
					c.log.Warn("collect: cannot remove an unfinished write", "file", name, "err", err)
				}
			case strings.HasSuffix(name, collectExt):
				t, err := time.Parse(snapshotTime, strings.TrimSuffix(name, collectExt))
				if err != nil {
					t = info.ModTime() // renamed by the user: still the region's
				}
				rs.files = append(rs.files, collectFile{path: filepath.Join(ldir, name), time: t, bytes: info.Size()})
				rs.bytes += info.Size()
			}
		}
	}
	slices.SortFunc(rs.files, compareCollected)
	return rs
}

// frameCollector is pipeline.collect, the collect: of a file without
// cameras:, where the whole frame is classified: the frame as the model
// saw it, filed as the legacy camera's whole-frame region (LegacyCamera,
// LegacyRegion), where a file naming it under cameras: would file it too.
// One per Run: the writer, counters, periodic clock and change filter
// outlive the pipelines that reloads restart, one at a time.
type frameCollector struct {
	w        *Collector // opened when collect is first on
	counters collectCounters

	// The running pipeline's, set by use.
	cfg     CollectConfig
	labels  []string
	control *Control
	filter  changeFilter
	sampled time.Time
	buf     []byte // a frame not already BGR at stride 3*width, converted
}

// use sets what the next pipeline collects: cfg's collect, the model's
// labels, the live threshold and pause of control. It is nil when
// collect is off, and the pipeline's hook (offer) then does nothing.
func (f *frameCollector) use(cfg *Config, labels []string, control *Control, log *slog.Logger) *frameCollector {
	c := cfg.Pipeline.Collect
	if !c.on() {
		return nil
	}
	if f.w == nil {
		f.w = OpenCollector(filepath.Join(cfg.StateDir, "collect"), log)
	}
	// A change is confirmed as pipeline.publish: change confirms it; a new
	// model or rule starts again.
	if !slices.Equal(labels, f.labels) || f.filter.hysteresis != cfg.Pipeline.Hysteresis {
		f.filter = changeFilter{hysteresis: cfg.Pipeline.Hysteresis}
	}
	f.cfg, f.labels, f.control = c, labels, control
	return f
}

// offer keeps frame, classified as logits, when collect asks for it: a
// top label confirmed as pipeline.publish: change would publish it, a top
// score below collect.below, or the periodic sample; while paused, none.
// It runs before the frame is released: the writer's copy is made here,
// and only then is anything allocated. A nil f (collect off) keeps none.
func (f *frameCollector) offer(frame camera.Frame, logits []float32) {
	if f == nil {
		return
	}
	settings, _ := f.control.Get()
	if settings.Paused || len(logits) == 0 {
		return
	}
	best, score := topScore(logits)
	top := ""
	if score >= settings.Threshold {
		top = labelOf(f.labels, best)
	}
	changed := f.filter.admit(top)
	if !f.cfg.due(&f.sampled, frame.Time, changed, score) {
		return
	}
	w, h := FrameSize(frame)
	pix := frame.BGR
	if frame.Image != nil || frame.Stride != 3*w {
		f.buf = copyBGR(f.buf, frame, image.Rect(0, 0, w, h))
		pix = f.buf
	}
	f.w.Save(collectItem{camera: LegacyCamera, region: LegacyRegion, label: labelOf(f.labels, best), t: frame.Time,
		pix: pix, w: w, h: h, limits: f.cfg, counters: &f.counters})
}

// count is what was collected and dropped, for stats.
func (f *frameCollector) count() (collected, dropped int64) {
	return f.counters.collected.Load(), f.counters.dropped.Load()
}

// close writes what is queued; the last pipeline must have ended.
func (f *frameCollector) close() {
	if f.w != nil {
		f.w.Close()
	}
}

// labelOf is class i's label, or its number for a model without one.
func labelOf(labels []string, i int) string {
	if i < len(labels) {
		return labels[i]
	}
	return strconv.Itoa(i)
}

// topScore is the index and softmax probability of the best class of
// logits, as topKInto scores it, without allocating.
func topScore(logits []float32) (int, float64) {
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	mx := float64(logits[best])
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v) - mx)
	}
	return best, 1 / sum
}
