package agent

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/coatnet-edge/coatnet-edge/demo"
	"github.com/coatnet-edge/coatnet-edge/models"
)

// Demo, as model.path or camera.source, picks the built-in demo: the int8
// Fashion-MNIST model embedded in the binary, and a video of Fashion-MNIST
// test images made once in the state directory.
const Demo = "demo"

// resolveDemo replaces "demo" in cfg by the files it stands for, writing
// them under <state_dir>/demo the first time.
func resolveDemo(cfg *Config, log *slog.Logger) error {
	dir := filepath.Join(cfg.StateDir, "demo")
	if cfg.Model.Path == Demo {
		path := filepath.Join(dir, models.DemoName)
		if err := writeIfChanged(path, models.Demo); err != nil {
			return fmt.Errorf("model.path: demo: %w", err)
		}
		cfg.Model.Path = path
	}
	if cfg.Camera.Source == Demo {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("camera.source: demo: %w", err)
		}
		log.Info("preparing the demo video (made once)", "dir", dir)
		v, err := demo.EnsureVideo(filepath.Join(dir, demo.DefaultName), "", demo.DefaultCount)
		if err != nil {
			return fmt.Errorf("camera.source: demo: %w", err)
		}
		log.Info("demo video", "path", v.Path, "frames", len(v.Labels), "fps", v.FPS,
			"ground_truth", v.Path+demo.LabelsSuffix)
		cfg.Camera.Source = v.Path
	}
	return nil
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
