//go:build !nogocv

package agent

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/dataset"
	"github.com/coatnet-edge/coatnet-edge/demo"
)

// TestResolveDemoScene: the demo configuration resolves to the scene video
// (made once: a second start finds it and its info file and leaves them),
// and the scene's schedule is logged for a viewer to compare with.
func TestResolveDemoScene(t *testing.T) {
	if _, err := os.Stat(dataset.FashionMNISTDir); err != nil {
		t.Skip("dataset-fashion-mnist is not installed")
	}
	cfg, err := DemoConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.StateDir = t.TempDir()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	video := filepath.Join(cfg.StateDir, "demo", demo.SceneName)
	resolve := func() {
		t.Helper()
		one := cfg
		one.Camera = cfg.Plan()[0].Camera
		if err := resolveDemo(&one, log); err != nil {
			t.Fatal(err)
		}
		if one.Camera.Source != video {
			t.Errorf("the demo camera reads %s, want %s", one.Camera.Source, video)
		}
	}
	resolve()
	st, err := os.Stat(video)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.ReadFile(video + demo.SceneInfoSuffix)
	if err != nil || !json.Valid(info) {
		t.Fatalf("info file: %v\n%s", err, info)
	}
	for _, r := range demo.DemoScene().Regions {
		if !strings.Contains(logs.String(), `msg="demo scene schedule" region=`+r.Name+" ") {
			t.Errorf("no schedule logged for region %s:\n%s", r.Name, logs.String())
		}
	}
	resolve()
	if st2, err := os.Stat(video); err != nil || !st2.ModTime().Equal(st.ModTime()) {
		t.Errorf("the scene video was made again (%v)", err)
	}
}
