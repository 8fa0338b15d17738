package agent

import (
	"image"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

const camerasExample = `
model: {path: /opt/m/gate.coatnet}
pipeline: {threshold: 0.4, hysteresis: 4, top_k: 2}
cameras:
  drive:
    source: rtsp://10.0.0.5/stream
    stall_timeout: 4s
    motion: {threshold: 40.5}
    regions:
      gate: {rect: [0.1, 0.2, 0.3, 0.4], on_motion: true, confirm: 3}
      bins:
        rect_px: [0, 100, 64, 48]
        model: ./m/../m/bins.coatnet
        every: 30s
        threshold: 0
        labels: change
        snapshot: {frame: true, quality: 90}
  porch:
    source: /dev/video1
    motion: {enabled: false}
    regions:
      step:
`

// TestConfigCameras: named cameras and regions load, each key a region
// leaves out comes from the top-level model and pipeline keys, and each a
// camera leaves out from camera's defaults.
func TestConfigCameras(t *testing.T) {
	cfg, err := ParseConfig([]byte(camerasExample))
	if err != nil {
		t.Fatal(err)
	}
	plan := cfg.Plan()
	if len(plan) != 2 || plan[0].Name != "drive" || plan[1].Name != "porch" || plan[0].Legacy || plan[1].Legacy {
		t.Fatalf("plan: %+v", plan)
	}
	drive, porch := plan[0], plan[1]
	wantCam := defaultCamera()
	wantCam.Source, wantCam.StallTimeout = "rtsp://10.0.0.5/stream", 4*time.Second
	if drive.Camera != wantCam {
		t.Errorf("drive camera %+v, want %+v", drive.Camera, wantCam)
	}
	if want := (MotionConfig{Enabled: true, Threshold: 40.5, MinArea: defaultMotion().MinArea}); drive.Motion != want {
		t.Errorf("drive motion %+v, want %+v", drive.Motion, want)
	}
	if porch.Motion.Enabled || porch.Motion.Threshold != defaultMotion().Threshold {
		t.Errorf("porch motion %+v", porch.Motion)
	}
	want := []RegionPlan{
		{Name: "bins", Key: "cameras.drive.regions.bins", RectPx: []int{0, 100, 64, 48}, Model: "m/bins.coatnet",
			Threshold: 0, TopK: 2, Every: 30 * time.Second, Confirm: 4, Labels: "change",
			Snapshot: SnapshotConfig{Frame: true, MaxSide: 640, Quality: 90, MaxBytes: 256 << 10}, Collect: defaultCollect()},
		{Name: "gate", Key: "cameras.drive.regions.gate", Rect: []float64{0.1, 0.2, 0.3, 0.4},
			Model: "/opt/m/gate.coatnet", Threshold: 0.4, TopK: 2, OnMotion: true, Every: time.Minute, Confirm: 3,
			Labels: "off", Snapshot: defaultSnapshot(), Collect: defaultCollect()},
	}
	if !reflect.DeepEqual(drive.Regions, want) {
		t.Errorf("drive regions\n%+v, want\n%+v", drive.Regions, want)
	}
	step := RegionPlan{Name: "step", Key: "cameras.porch.regions.step", Model: "/opt/m/gate.coatnet",
		Threshold: 0.4, TopK: 2, Confirm: 4, Labels: "off", Snapshot: defaultSnapshot(), Collect: defaultCollect()}
	if len(porch.Regions) != 1 || !reflect.DeepEqual(porch.Regions[0], step) {
		t.Errorf("porch regions %+v, want [%+v]", porch.Regions, step)
	}
	if got := cfg.Models(); !reflect.DeepEqual(got, []string{"/opt/m/gate.coatnet", "m/bins.coatnet"}) {
		t.Errorf("models %q", got)
	}
}

// TestConfigCamerasProblems: every invalid key of cameras: is reported at
// once, with its line.
func TestConfigCamerasProblems(t *testing.T) {
	_, err := ParseConfig([]byte(`
cameras:
  Drive:
    regions: {a: {}}
  stats:
    source: ""
    regions: {a: {}}
  ok:
    fps: 2000
    motion: {enabled: false, threshold: 0, min_area: 2}
    regions:
      both: {rect: [0, 0, 1, 1], rect_px: [0, 0, 1, 1]}
      three: {rect: [0, 0, 1]}
      over: {rect: [0.5, 0, 0.6, 1]}
      pixels: {rect_px: [-1, 0, 0, 10]}
      bad_values: {threshold: 2, top_k: 0, confirm: 0, every: 10ms, labels: sometimes, model: ""}
      snap: {snapshot: {max_side: 8, quality: 0, max_bytes: 100}}
      moving: {on_motion: true}
      typo: {on_moton: true}
      motion: {}
  empty:
    regions:
`))
	wantProblems(t, err,
		`line 3: cameras.Drive: camera name "Drive" must be 1 to 32 lower-case letters`,
		`line 5: cameras.stats: camera name "stats" is taken by a topic`,
		"line 6: cameras.stats.source: is empty",
		"line 9: cameras.ok.fps: 2000 must be in [0, 1000]",
		"line 10: cameras.ok.motion.threshold: 0 must be in (0, 255)",
		"line 10: cameras.ok.motion.min_area: 2 must be in [0, 1)",
		"line 12: cameras.ok.regions.both.rect: and rect_px are both set",
		"line 13: cameras.ok.regions.three.rect: has 3 numbers",
		"line 14: cameras.ok.regions.over.rect: [0.5 0 0.6 1]: reaches beyond the frame",
		"line 15: cameras.ok.regions.pixels.rect_px: [-1 0 0 10]: x and y must be 0 or more",
		"line 16: cameras.ok.regions.bad_values.threshold: 2 must be in [0, 1]",
		"line 16: cameras.ok.regions.bad_values.top_k: 0 must be in [1, 100]",
		"line 16: cameras.ok.regions.bad_values.confirm: 0 must be in [1, 1000]",
		"line 16: cameras.ok.regions.bad_values.every: 10ms must be in [100ms, 24h0m0s]",
		`line 16: cameras.ok.regions.bad_values.labels: "sometimes" must be "every", "change" or "off"`,
		"line 16: cameras.ok.regions.bad_values.model: is empty",
		"line 17: cameras.ok.regions.snap.snapshot.max_side: 8 must be in [16, 4096]",
		"line 17: cameras.ok.regions.snap.snapshot.quality: 0 must be in [1, 100]",
		"line 17: cameras.ok.regions.snap.snapshot.max_bytes: 100 must be in [4096, 16777216] bytes",
		"line 18: cameras.ok.regions.moving.on_motion: needs cameras.ok.motion.enabled",
		"line 19: cameras.ok.regions.typo.on_moton: unknown key; did you mean on_motion?",
		`line 20: cameras.ok.regions.motion: region name "motion" is taken by a topic`,
		"line 22: cameras.empty.regions: none: a camera needs a region",
	)
}

// TestConfigCameraWithCameras: camera: and cameras: together is an error
// naming camera:, also when camera: only repeats its defaults.
func TestConfigCameraWithCameras(t *testing.T) {
	for _, camera := range []string{"camera: {source: /dev/video0}", "camera: {source: demo}"} {
		_, err := ParseConfig([]byte(camera + "\ncameras: {a: {regions: {b: {}}}}\n"))
		if err == nil || !strings.Contains(err.Error(), "line 1: camera: is set together with cameras") ||
			strings.Count(err.Error(), "camera: is set") != 1 {
			t.Errorf("%s: err = %v, want one problem naming camera", camera, err)
		}
	}
	// An empty cameras: is no cameras.
	if _, err := ParseConfig([]byte("camera: {source: /dev/video0}\ncameras: {}\n")); err != nil {
		t.Error(err)
	}
}

// TestConfigLegacyPlan: a file without cameras: is the one camera,
// LegacyCamera, with the whole frame as LegacyRegion, from today's keys.
func TestConfigLegacyPlan(t *testing.T) {
	cfg, err := ParseConfig([]byte(`
model: {path: /opt/m.coatnet}
camera: {source: /dev/video0, fps: 10}
pipeline: {publish: change, hysteresis: 5, threshold: 0.3, top_k: 4}
`))
	if err != nil {
		t.Fatal(err)
	}
	checkLegacyPlan(t, "file", &cfg)
	d := Defaults()
	checkLegacyPlan(t, "defaults", &d)
}

// checkLegacyPlan checks that cfg plans the one legacy camera over
// cfg.Camera, classified whole as before.
func checkLegacyPlan(t *testing.T, name string, cfg *Config) {
	t.Helper()
	plan := cfg.Plan()
	if len(plan) != 1 || len(plan[0].Regions) != 1 {
		t.Fatalf("%s: plan %+v, want one camera with one region", name, plan)
	}
	p := plan[0]
	if p.Name != LegacyCamera || !p.Legacy || p.Camera != cfg.Camera || p.Motion.Enabled {
		t.Errorf("%s: camera %+v, want legacy %q over %+v without motion", name, p, LegacyCamera, cfg.Camera)
	}
	want := RegionPlan{Name: LegacyRegion, Key: "camera", Model: cfg.Model.Path, Threshold: cfg.Pipeline.Threshold,
		TopK: cfg.Pipeline.TopK, Confirm: cfg.Pipeline.Hysteresis, Labels: cfg.Pipeline.Publish,
		Snapshot: defaultSnapshot(), Collect: defaultCollect()}
	if !reflect.DeepEqual(p.Regions[0], want) {
		t.Errorf("%s: region %+v, want %+v", name, p.Regions[0], want)
	}
	if r, err := p.Regions[0].Resolve(320, 240); err != nil || r != image.Rect(0, 0, 320, 240) {
		t.Errorf("%s: region resolves to %v, %v, want the whole frame", name, r, err)
	}
	if m := cfg.Models(); len(m) != 1 || m[0] != cfg.Model.Path {
		t.Errorf("%s: models %q, want [%q]", name, m, cfg.Model.Path)
	}
}

// TestConfigExamplesStayLegacy: systemd/agent.yaml and every configuration
// in the README load; those without cameras: (all but the places
// examples) plan the legacy camera over their camera settings.
func TestConfigExamplesStayLegacy(t *testing.T) {
	example, err := os.ReadFile("../systemd/agent.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("STATE_DIRECTORY", "/var/lib/coatnet")
	docs := map[string]string{"systemd/agent.yaml": string(example)}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for i, block := range readmeConfigs(string(readme)) {
		docs["README config "+string(rune('A'+i))] = block
	}
	if len(docs) < 4 {
		t.Fatalf("found %d configurations, want systemd/agent.yaml and at least three README ones", len(docs))
	}
	// The commented-out cameras: of systemd/agent.yaml, turned on alone.
	_, after, ok := strings.Cut(string(example), "\n#cameras:\n")
	block, _, _ := strings.Cut(after, "\n\n")
	if !ok || !strings.HasPrefix(block, "#   ") {
		t.Fatal("systemd/agent.yaml has no commented-out cameras: example")
	}
	docs["systemd/agent.yaml cameras:"] = "cameras:\n" + regexp.MustCompile(`(?m)^#`).ReplaceAllString(block, "")
	places := 0
	for name, doc := range docs {
		cfg, err := ParseConfig([]byte(doc))
		if err != nil {
			t.Errorf("%s does not load: %v\n%s", name, err, doc)
			continue
		}
		if len(cfg.Cameras) > 0 {
			places++
			if _, err := cfg.Plan()[0].Resolve(640, 480); err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		checkLegacyPlan(t, name, &cfg)
	}
	if places != 4 {
		t.Errorf("%d configurations with cameras:, want the README's three and systemd/agent.yaml's", places)
	}
}

// readmeConfigs lists the README's indented blocks that are agent
// configurations (their first line sets a top-level key); a block of
// one-line alternatives ("camera: {...}" twice) is one configuration a line.
func readmeConfigs(readme string) []string {
	top := map[string]bool{}
	for _, f := range yamlFields(reflect.TypeFor[Config]()) {
		top[f.name] = true
	}
	var blocks []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			k, _, _ := strings.Cut(cur[0], ":")
			if top[k] {
				blocks = append(blocks, configsOf(cur)...)
			}
		}
		cur = nil
	}
	for _, line := range strings.Split(readme, "\n") {
		if rest, ok := strings.CutPrefix(line, "    "); ok {
			cur = append(cur, rest)
		} else if strings.TrimSpace(line) != "" || len(cur) == 0 {
			flush()
		} else {
			cur = append(cur, "")
		}
	}
	flush()
	return blocks
}

var topLevelKey = regexp.MustCompile(`^([a-z_]+):`)

// configsOf is a block as configurations: one, unless a top-level key
// repeats, when each line is one.
func configsOf(lines []string) []string {
	seen := map[string]bool{}
	for _, l := range lines {
		if m := topLevelKey.FindStringSubmatch(l); m != nil {
			if seen[m[1]] {
				return slices.DeleteFunc(slices.Clone(lines), func(l string) bool { return strings.TrimSpace(l) == "" })
			}
			seen[m[1]] = true
		}
	}
	return []string{strings.Join(lines, "\n")}
}

// TestConfigRegionLabelsOff: an unquoted off is the word, not YAML 1.1's
// false.
func TestConfigRegionLabelsOff(t *testing.T) {
	cfg, err := ParseConfig([]byte("cameras: {a: {regions: {b: {labels: off}, c: {labels: every}}}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r := cfg.Plan()[0].Regions; r[0].Labels != "off" || r[1].Labels != "every" {
		t.Errorf("labels %q, %q", r[0].Labels, r[1].Labels)
	}
}
