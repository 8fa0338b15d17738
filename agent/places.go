package agent

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/coatnet-edge/coatnet-edge/picture"
)

// The configuration of places: several named cameras, each with named
// regions whose state is classified, debounced and published. A file
// without cameras: (every file before them) is one camera, LegacyCamera,
// with one whole-frame region, LegacyRegion, classified as before.

// LegacyCamera and LegacyRegion name the one camera and its whole-frame
// region that a configuration without cameras: stands for.
const (
	LegacyCamera = "camera"
	LegacyRegion = "frame"
)

// Bounds on a configuration of places, far above a board's means: they
// keep a typo (a pasted list) from starting hundreds of readers.
const (
	maxCameras       = 16
	maxRegions       = 64 // per camera
	maxConfirm       = 1000
	minEvery         = 100 * time.Millisecond
	maxEvery         = 24 * time.Hour
	defaultMotionGap = time.Minute // every, for an on_motion region without one
)

// placeName is what a camera or region name may hold: it is a topic level
// (<prefix>/<device>/<camera>/<region>/state) and part of Home Assistant
// unique ids. Lower case only, so that two names differ for Home
// Assistant's lower-cased entity ids too; '/' and ':' never occur in one,
// so they can join names into an id without ambiguity.
var placeName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// reservedNames are the topics under <prefix>/<device>/ and
// <prefix>/<device>/<camera>/ that a camera or region name would collide
// with.
var reservedNames = []string{"labels", "motion", "set", "state", "stats", "status"}

// CameraSpec is one camera of cameras: as the file has it: today's camera
// settings, motion detection and the regions.
type CameraSpec struct {
	CameraConfig `yaml:",inline"`
	Motion       MotionConfig `yaml:"motion"`
	// Regions are the places in the frame to classify, by name.
	Regions map[string]RegionSpec `yaml:"regions"`
}

func (c *CameraSpec) setDefaults() {
	*c = CameraSpec{CameraConfig: defaultCamera(), Motion: defaultMotion()}
}

// MotionConfig is a camera's motion detection: a downscaled grey frame
// compared with a running background. Its keys are those of the motion
// package's Config that a user sets; the pipeline maps them onto
// motion.Defaults() where it starts a detector (the one place that does).
type MotionConfig struct {
	// Enabled runs the detector and publishes <camera>/motion; on_motion
	// regions need it.
	Enabled bool `yaml:"enabled"`
	// Threshold: a pixel moved when its grey level differs from the
	// background by more than this (above 0, below 255).
	Threshold float64 `yaml:"threshold"`
	// MinArea: motion counts when the changed pixels of one box cover at
	// least this fraction of the frame (0 to below 1), so noise does not.
	MinArea float64 `yaml:"min_area"`
}

// defaultMotion has motion.Defaults()'s values.
func defaultMotion() MotionConfig { return MotionConfig{Enabled: true, Threshold: 30, MinArea: 0.002} }

// RegionSpec is one region of a camera as the file has it. The fields that
// are pointers default to the top-level keys (model.path, pipeline.*), so
// a region names only what differs; RegionPlan has them resolved.
type RegionSpec struct {
	// Rect is x, y, width, height as fractions of the frame (0 to 1);
	// RectPx the same in pixels. At most one of them; neither: the whole
	// frame.
	Rect   []float64 `yaml:"rect"`
	RectPx []int     `yaml:"rect_px"`
	// Model is the model file; regions naming the same file share one
	// engine. nil: model.path.
	Model *string `yaml:"model"`
	// Threshold: results scoring below it never change the state (nor
	// appear in label messages). nil: pipeline.threshold.
	Threshold *float64 `yaml:"threshold"`
	// TopK is the labels per label message. nil: pipeline.top_k.
	TopK *int `yaml:"top_k"`
	// OnMotion classifies the region when motion touches it, and at least
	// Every (default 1m) to find a change nobody saw happen.
	OnMotion bool `yaml:"on_motion"`
	// Every classifies the region this often (with OnMotion: at least this
	// often); 0 without OnMotion: every frame pipeline.max_rate lets
	// through, as the whole frame was before regions.
	Every time.Duration `yaml:"every"`
	// Confirm: a new state after this many consecutive identical top-1
	// results at or above Threshold (Debouncer). nil: pipeline.hysteresis.
	Confirm *int `yaml:"confirm"`
	// Labels publishes per-classification label messages as
	// pipeline.publish does: "every", "change", or "off" (the default).
	Labels   string         `yaml:"labels"`
	Snapshot SnapshotConfig `yaml:"snapshot"`
	// Collect keeps crops for training (collect.go); off by default.
	Collect CollectConfig `yaml:"collect"`
}

func (r *RegionSpec) setDefaults() {
	*r = RegionSpec{Labels: "off", Snapshot: defaultSnapshot(), Collect: defaultCollect()}
}

// SnapshotConfig bounds the JPEG published and kept on every confirmed
// change.
type SnapshotConfig struct {
	// Frame adds the whole frame with the camera's regions drawn.
	Frame bool `yaml:"frame"`
	// MaxSide: a picture with a longer side is scaled down to it (px).
	MaxSide int `yaml:"max_side"`
	// Quality is the JPEG quality, 1 to 100.
	Quality int `yaml:"quality"`
	// MaxBytes bounds each JPEG (an MQTT payload): over it the picture is
	// made again at a lower quality, then smaller.
	MaxBytes int `yaml:"max_bytes"`
}

func defaultSnapshot() SnapshotConfig {
	return SnapshotConfig{MaxSide: DefaultSnapshotSide, Quality: picture.DefaultQuality, MaxBytes: DefaultSnapshotMaxBytes}
}

// CameraPlan is one camera to run, with everything resolved: names, the
// defaults the file left to the top-level keys, its regions in name order.
type CameraPlan struct {
	Name string
	// Legacy is the camera of a file without cameras: (Config.Camera,
	// whole frame): it publishes as before regions, on the labels topic.
	Legacy  bool
	Camera  CameraConfig
	Motion  MotionConfig
	Regions []RegionPlan
}

// RegionPlan is one region to classify, its defaults resolved.
type RegionPlan struct {
	Name string
	// Key is its configuration key, for messages: cameras.gate.regions.door
	// (camera for the legacy region).
	Key       string
	Rect      []float64 // fractions of the frame; nil with RectPx or whole
	RectPx    []int     // pixels; nil with Rect or whole
	Model     string    // the model file, filepath.Clean'ed, or Demo
	Threshold float64
	TopK      int
	OnMotion  bool
	// Every: the longest time between two classifications; 0: every frame
	// the rate lets through (never with OnMotion).
	Every    time.Duration
	Confirm  int
	Labels   string // "every", "change" or "off"
	Snapshot SnapshotConfig
	Collect  CollectConfig
}

// Plan lists the cameras to run, in name order: those of cameras:, or the
// legacy one. It assumes a valid configuration (Validate).
func (c *Config) Plan() []CameraPlan {
	if len(c.Cameras) == 0 {
		r := c.regionPlan(LegacyRegion, "camera", RegionSpec{Snapshot: defaultSnapshot(), Collect: defaultCollect()})
		r.Labels = c.Pipeline.Publish
		m := defaultMotion()
		m.Enabled = false // a legacy camera is classified whole, as before
		return []CameraPlan{{Name: LegacyCamera, Legacy: true, Camera: c.Camera, Motion: m, Regions: []RegionPlan{r}}}
	}
	plans := make([]CameraPlan, 0, len(c.Cameras))
	for _, name := range sortedKeys(c.Cameras) {
		spec := c.Cameras[name]
		p := CameraPlan{Name: name, Camera: spec.CameraConfig, Motion: spec.Motion}
		for _, rn := range sortedKeys(spec.Regions) {
			p.Regions = append(p.Regions, c.regionPlan(rn, "cameras."+name+".regions."+rn, spec.Regions[rn]))
		}
		plans = append(plans, p)
	}
	return plans
}

// regionPlan resolves a region's defaults from the top-level keys.
func (c *Config) regionPlan(name, key string, s RegionSpec) RegionPlan {
	r := RegionPlan{Name: name, Key: key, Rect: slices.Clone(s.Rect), RectPx: slices.Clone(s.RectPx),
		Model: c.Model.Path, Threshold: c.Pipeline.Threshold, TopK: c.Pipeline.TopK, OnMotion: s.OnMotion,
		Every: s.Every, Confirm: c.Pipeline.Hysteresis, Labels: s.Labels, Snapshot: s.Snapshot, Collect: s.Collect}
	if s.Model != nil {
		r.Model = *s.Model
	}
	if r.Model != Demo && r.Model != "" {
		r.Model = filepath.Clean(r.Model)
	}
	if s.Threshold != nil {
		r.Threshold = *s.Threshold
	}
	if s.TopK != nil {
		r.TopK = *s.TopK
	}
	if s.Confirm != nil {
		r.Confirm = *s.Confirm
	}
	if r.OnMotion && r.Every == 0 {
		r.Every = defaultMotionGap
	}
	return r
}

// Models lists the distinct model files the regions name, sorted: one
// engine each, shared by the regions naming it (RegionPlan.Model).
func (c *Config) Models() []string {
	var models []string
	for _, p := range c.Plan() {
		for _, r := range p.Regions {
			models = append(models, r.Model)
		}
	}
	slices.Sort(models)
	return slices.Compact(models)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// validatePlaces reports the invalid values of cameras:, each with its
// key; the frame size is not known yet, so RegionPlan.Resolve checks the
// rest.
func (c *Config) validatePlaces(bad func(key, format string, args ...any)) {
	if len(c.Cameras) == 0 {
		return
	}
	if c.Camera != defaultCamera() {
		bad(cameraWithCameras.key, "%s", cameraWithCameras.msg)
	}
	if len(c.Cameras) > maxCameras {
		bad("cameras", "%d cameras, at most %d", len(c.Cameras), maxCameras)
	}
	for _, name := range sortedKeys(c.Cameras) {
		key := "cameras." + shorten(name, 64)
		checkPlaceName(key, "camera", name, bad)
		spec := c.Cameras[name]
		spec.CameraConfig.check(key, bad)
		m := spec.Motion
		if !(m.Threshold > 0 && m.Threshold < 255) {
			bad(key+".motion.threshold", "%v must be in (0, 255) grey levels", m.Threshold)
		}
		if !(m.MinArea >= 0 && m.MinArea < 1) {
			bad(key+".motion.min_area", "%v must be in [0, 1), a fraction of the frame", m.MinArea)
		}
		switch n := len(spec.Regions); {
		case n == 0:
			bad(key+".regions", "none: a camera needs a region to classify (one without rect is the whole frame)")
		case n > maxRegions:
			bad(key+".regions", "%d regions, at most %d a camera", n, maxRegions)
		}
		for _, rn := range sortedKeys(spec.Regions) {
			rkey := key + ".regions." + shorten(rn, 64)
			checkPlaceName(rkey, "region", rn, bad)
			r := c.regionPlan(rn, rkey, spec.Regions[rn])
			r.check(bad)
			if r.OnMotion && !m.Enabled {
				bad(rkey+".on_motion", "needs %s.motion.enabled", key)
			}
		}
	}
}

// cameraWithCameras is the problem of a file with both camera: and
// cameras:.
var cameraWithCameras = problem{key: "camera", msg: "is set together with cameras: move it under cameras as a " +
	"named camera (without cameras:, camera is the one camera, named \"" + LegacyCamera + "\")"}

func checkPlaceName(key, what, name string, bad func(key, format string, args ...any)) {
	switch {
	case !placeName.MatchString(name):
		bad(key, "%s name %s must be 1 to 32 lower-case letters, digits, '-' or '_', starting with a letter or "+
			"digit (it is a topic level and part of Home Assistant ids)", what, clipQuote(name))
	case slices.Contains(reservedNames, name):
		bad(key, "%s name %q is taken by a topic (%s)", what, name, strings.Join(reservedNames, ", "))
	}
}

// check reports a resolved region's invalid values under its key.
func (r *RegionPlan) check(bad func(key, format string, args ...any)) {
	key := r.Key
	if r.Rect != nil && r.RectPx != nil {
		bad(key+".rect", "and rect_px are both set: one region has one rectangle")
	}
	if r.Rect != nil {
		if len(r.Rect) != 4 {
			bad(key+".rect", "has %d numbers; want [x, y, width, height] as fractions of the frame", len(r.Rect))
		} else if err := checkFractions(r.Rect); err != nil {
			bad(key+".rect", "%v", err)
		}
	}
	if r.RectPx != nil {
		switch p := r.RectPx; {
		case len(p) != 4:
			bad(key+".rect_px", "has %d numbers; want [x, y, width, height] in pixels", len(p))
		case p[0] < 0 || p[1] < 0 || p[2] < 1 || p[3] < 1:
			bad(key+".rect_px", "%v: x and y must be 0 or more, width and height 1 or more", p)
		}
	}
	if r.Model == "" {
		bad(key+".model", "is empty")
	}
	if checkThreshold(r.Threshold) != nil {
		bad(key+".threshold", "%v must be in [0, 1]", r.Threshold)
	}
	if r.TopK < 1 || r.TopK > 100 {
		bad(key+".top_k", "%d must be in [1, 100]", r.TopK)
	}
	if r.Every != 0 && (r.Every < minEvery || r.Every > maxEvery) {
		bad(key+".every", "%v must be in [%v, %v], or 0 for every frame", r.Every, minEvery, maxEvery)
	}
	if r.Confirm < 1 || r.Confirm > maxConfirm {
		bad(key+".confirm", "%d must be in [1, %d] results", r.Confirm, maxConfirm)
	}
	if r.Labels != "every" && r.Labels != "change" && r.Labels != "off" {
		bad(key+".labels", "%s must be \"every\", \"change\" or \"off\"", clipQuote(r.Labels))
	}
	s := r.Snapshot
	if s.MaxSide < 16 || s.MaxSide > 4096 {
		bad(key+".snapshot.max_side", "%d must be in [16, 4096] px", s.MaxSide)
	}
	if s.Quality < 1 || s.Quality > 100 {
		bad(key+".snapshot.quality", "%d must be in [1, 100]", s.Quality)
	}
	if s.MaxBytes < 4<<10 || s.MaxBytes > 16<<20 {
		bad(key+".snapshot.max_bytes", "%d must be in [%d, %d] bytes", s.MaxBytes, 4<<10, 16<<20)
	}
	r.Collect.check(key+".collect", bad)
}

// checkFractions checks x, y, width, height as fractions of a frame.
func checkFractions(f []float64) error {
	x, y, w, h := f[0], f[1], f[2], f[3]
	const slack = 1e-9 // 0.1 + 0.9 is a hair over 1
	switch {
	case !(x >= 0 && y >= 0 && x < 1 && y < 1):
		return fmt.Errorf("%v: x and y must be in [0, 1), fractions of the frame (rect_px takes pixels)", f)
	case !(w > 0 && h > 0 && w <= 1 && h <= 1):
		return fmt.Errorf("%v: width and height must be in (0, 1], fractions of the frame (rect_px takes pixels)", f)
	case x+w > 1+slack || y+h > 1+slack:
		return fmt.Errorf("%v: reaches beyond the frame (x + width and y + height at most 1)", f)
	}
	return nil // NaN and infinities fail the comparisons above
}
