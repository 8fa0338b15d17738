package agent

import (
	"errors"
	"image"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/dataset"
	"github.com/coatnet-edge/coatnet-edge/demo"
	"github.com/coatnet-edge/coatnet-edge/model"
	"github.com/coatnet-edge/coatnet-edge/models"
)

// TestDemoConfig: the demo's configuration loads as a file does and is
// valid; it is one camera on the demo scene with a region per place of
// the scene, on its rectangle, classified on motion and periodically,
// confirmed after 3 results, with the built-in model.
func TestDemoConfig(t *testing.T) {
	cfg, err := DemoConfig()
	if err != nil {
		t.Fatalf("%v\n%s", err, DemoYAML())
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("%v\n%s", err, DemoYAML())
	}
	plan := cfg.Plan()
	if len(plan) != 1 || plan[0].Name != DemoCamera || plan[0].Legacy || plan[0].Camera.Source != Demo ||
		!plan[0].Motion.Enabled || !plan[0].Camera.Loop {
		t.Fatalf("plan %+v", plan)
	}
	sc := demo.DemoScene()
	if len(plan[0].Regions) != len(sc.Regions) || len(sc.Regions) < 2 {
		t.Fatalf("regions %+v for the scene's %+v", plan[0].Regions, sc.Regions)
	}
	for _, sr := range sc.Regions {
		k := slices.IndexFunc(plan[0].Regions, func(r RegionPlan) bool { return r.Name == sr.Name })
		if k < 0 {
			t.Errorf("no region %s", sr.Name)
			continue
		}
		r := plan[0].Regions[k]
		got, err := r.Resolve(sc.Width, sc.Height)
		if err != nil || got != sr.Rect {
			t.Errorf("region %s is %v (%v), the scene's %v", r.Name, got, err, sr.Rect)
		}
		if !r.OnMotion || r.Every != demoEvery || r.Confirm != 3 || r.Model != Demo || r.Labels != "off" {
			t.Errorf("region %s: %+v", r.Name, r)
		}
	}
	if m := cfg.Models(); !slices.Equal(m, []string{Demo}) {
		t.Errorf("models %v", m)
	}
	if cfg.MQTT.Broker != "" {
		t.Errorf("broker %q, want the embedded one", cfg.MQTT.Broker)
	}
}

// TestResolveDemoCameras: under cameras:, the runtime resolves a copy per
// camera (its plan's camera as camera:) and per model (the model as
// model.path): "demo" as a camera's source is the demo scene's video, and
// as a model the built-in one, both under <state_dir>/demo; a model alone
// makes no video. Without OpenCV the scene cannot be made, and the error
// says so.
func TestResolveDemoCameras(t *testing.T) {
	cfg, err := DemoConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.StateDir = t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := filepath.Join(cfg.StateDir, "demo")
	for _, m := range cfg.Models() {
		one := cfg
		one.Model.Path, one.Camera = m, CameraConfig{}
		if err := resolveDemo(&one, log); err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(dir, models.DemoName); one.Model.Path != want {
			t.Errorf("model %s resolves to %s, want %s", m, one.Model.Path, want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, models.DemoName)); err != nil || len(b) != len(models.Demo) {
		t.Errorf("the demo model was not written: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, demo.SceneName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("opening the models made the scene video (%v)", err)
	}
	one := cfg
	one.Camera = cfg.Plan()[0].Camera
	err = resolveDemo(&one, log)
	if cfg.Cameras[DemoCamera].Source != Demo || cfg.Model.Path != Demo {
		t.Errorf("resolveDemo changed the configured copy: %+v", cfg.Cameras)
	}
	if errors.Is(err, demo.ErrNoGoCV) {
		if !strings.Contains(err.Error(), "camera.source") {
			t.Errorf("err %v does not name the key", err)
		}
		return // the rest needs OpenCV (TestResolveDemoScene)
	}
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, demo.SceneName); one.Camera.Source != want {
		t.Errorf("camera %s reads %s, want %s", DemoCamera, one.Camera.Source, want)
	}
}

// TestDemoSceneItems: the demo scene's items are ones the shipped model
// gets right inside their regions, at every frame (sensor noise and all),
// so the demo's states change when its schedule says.
func TestDemoSceneItems(t *testing.T) {
	if _, err := os.Stat(dataset.FashionMNISTDir); err != nil {
		t.Skip("dataset-fashion-mnist is not installed")
	}
	r, err := demo.OpenScene(demo.DemoScene(), "")
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Open("../models/" + models.DemoName)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c, err := model.NewClassifier(m, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	names := m.Describe().Labels
	sc := r.Scene()
	stride := 3 * sc.Width
	wrong := 0
	for i := 0; i < sc.Frames; i += 5 {
		frame := r.Render(i)
		for _, truth := range r.Truth() {
			rect := truth.Rect
			top := topOf(t, c, names, frame[rect.Min.Y*stride+3*rect.Min.X:], rect, stride)
			if want := dataset.FashionMNISTLabels[truth.LabelAt(i)]; top.Label != want {
				wrong++
				t.Errorf("frame %d, region %s: the model says %s (%.2f), the scene shows %s", i, truth.Name,
					top.Label, top.Score, want)
			}
		}
	}
	if wrong > 0 {
		t.Logf("schedule: %v", r.Truth())
	}
}

// topOf is the model's top class of the w x h BGR pixels at pix, and its
// score.
func topOf(t *testing.T, c *model.Classifier, names []string, pix []byte, rect image.Rectangle, stride int) Label {
	t.Helper()
	logits, err := c.LogitsBGR(pix, rect.Dx(), rect.Dy(), stride)
	if err != nil {
		t.Fatal(err)
	}
	return TopK(logits, names, 1, 0)[0]
}

// TestReadmeDemoPlaces: a README example on the demo scene (source: demo
// under cameras:) puts each region on one of the scene's places, so that
// what it shows is what the scene's schedule says.
func TestReadmeDemoPlaces(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	sc := demo.DemoScene()
	found := 0
	for _, doc := range readmeConfigs(string(readme)) {
		cfg, err := ParseConfig([]byte(doc))
		if err != nil {
			continue // TestConfigExamplesStayLegacy reports it
		}
		for _, p := range cfg.Plan() {
			if p.Legacy || p.Camera.Source != Demo {
				continue
			}
			found++
			for _, r := range p.Regions {
				rect, err := r.Resolve(sc.Width, sc.Height)
				if err != nil || !slices.ContainsFunc(sc.Regions, func(s demo.SceneRegion) bool { return s.Rect == rect }) {
					t.Errorf("README camera %s region %s is %v (%v), not one of the demo scene's places", p.Name, r.Name, rect, err)
				}
			}
		}
	}
	if found == 0 {
		t.Error("no README example on the demo scene")
	}
}
