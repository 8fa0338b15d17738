package agent

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/coatnet-edge/coatnet-edge/demo"
	"github.com/coatnet-edge/coatnet-edge/models"
)

// Demo, as model.path or a region's model, picks the int8 Fashion-MNIST
// model embedded in the binary; as camera.source (a file without
// cameras:) a video of Fashion-MNIST test images, classified whole; as a
// camera's source under cameras: the demo scene (demo.DemoScene), whose
// places DemoConfig names. Each is made once in the state directory.
const Demo = "demo"

// DemoCamera is the demo scene's camera in DemoConfig.
const DemoCamera = "demo"

// demoEvery and demoConfirm are the demo regions' periodic check and
// debouncing: a change is published after 3 agreeing results, at most a
// few seconds after it happened even where motion missed it.
const (
	demoEvery   = 3 * time.Second
	demoConfirm = 3
)

// DemoYAML is the configuration `coatnet run` runs without a file: the
// demo scene with a region per place of demo.DemoScene, classified on
// motion and every demoEvery, the embedded broker, and the rest of
// Defaults.
func DemoYAML() string {
	var b strings.Builder
	fmt.Fprintf(&b, "model: {path: %s}\ncameras:\n  %s:\n    source: %s\n    regions:\n", Demo, DemoCamera, Demo)
	for _, r := range demo.DemoScene().Regions {
		fmt.Fprintf(&b, "      %s: {rect_px: [%d, %d, %d, %d], on_motion: true, every: %v, confirm: %d}\n",
			r.Name, r.Rect.Min.X, r.Rect.Min.Y, r.Rect.Dx(), r.Rect.Dy(), demoEvery, demoConfirm)
	}
	return b.String()
}

// DemoConfig is DemoYAML loaded as a file is.
func DemoConfig() (Config, error) { return ParseConfig([]byte(DemoYAML())) }

// resolveDemo replaces "demo" in cfg's model.path and camera.source by
// the files they stand for, writing them under <state_dir>/demo the first
// time. With cameras:, camera is the camera being opened (the runtime
// copies a camera's plan into it): "demo" there is the demo scene, whose
// schedule is logged, the ground truth to compare the states with;
// without, the whole-frame video, as before cameras:. A region's model
// is resolved the same way, as model.path of a copy.
func resolveDemo(cfg *Config, log *slog.Logger) error {
	dir := filepath.Join(cfg.StateDir, "demo")
	if cfg.Model.Path == Demo {
		path := filepath.Join(dir, models.DemoName)
		if err := writeIfChanged(path, models.Demo); err != nil {
			return fmt.Errorf("model.path: demo: %w", err)
		}
		cfg.Model.Path = path
	}
	if cfg.Camera.Source != Demo {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("camera.source: demo: %w", err)
	}
	if len(cfg.Cameras) > 0 {
		path, err := resolveDemoScene(dir, log)
		if err != nil {
			return fmt.Errorf("camera.source: demo: %w", err)
		}
		cfg.Camera.Source = path
		return nil
	}
	log.Info("preparing the demo video (made once)", "dir", dir)
	v, err := demo.EnsureVideo(filepath.Join(dir, demo.DefaultName), "", demo.DefaultCount)
	if err != nil {
		return fmt.Errorf("camera.source: demo: %w", err)
	}
	log.Info("demo video", "path", v.Path, "frames", len(v.Labels), "fps", v.FPS,
		"ground_truth", v.Path+demo.LabelsSuffix)
	cfg.Camera.Source = v.Path
	return nil
}

// resolveDemoScene makes the demo scene's video in dir (once) and logs
// what it shows when.
func resolveDemoScene(dir string, log *slog.Logger) (string, error) {
	log.Info("preparing the demo scene (made once)", "dir", dir)
	v, err := demo.EnsureScene(filepath.Join(dir, demo.SceneName), demo.DemoScene(), "")
	if err != nil {
		return "", err
	}
	log.Info("demo scene", "path", v.Path, "frames", v.Frames, "fps", v.FPS,
		"loops_every", time.Duration(float64(v.Frames)/v.FPS*float64(time.Second)),
		"ground_truth", v.Path+demo.SceneInfoSuffix)
	for _, t := range v.Regions {
		log.Info("demo scene schedule", "region", t.Name, "rect_px",
			fmt.Sprintf("[%d, %d, %d, %d]", t.Rect.Min.X, t.Rect.Min.Y, t.Rect.Dx(), t.Rect.Dy()),
			"shows", t.Schedule(v.FPS))
	}
	return v.Path, nil
}

// writeIfChanged writes b to path unless the file already holds it,
// through a temporary file so a reader never sees half of it.
func writeIfChanged(path string, b []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
