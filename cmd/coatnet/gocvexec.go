package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"

	"github.com/coatnet-edge/coatnet-edge/agent"
	"github.com/coatnet-edge/coatnet-edge/camera"
	"github.com/coatnet-edge/coatnet-edge/internal/redact"
)

// gocvHelper is the GoCV build of coatnet that this pure-Go build hands a
// camera over to, so that every other command starts without loading
// OpenCV's shared libraries (and Qt through them). The Makefile stamps it
// (-X main.gocvHelper=...): a relative path is taken from the directory of
// this executable, so one binary serves every PREFIX and DESTDIR. Empty (go
// build, go test) runs everything in this process.
var gocvHelper string

// needsGoCV reports whether the agent's camera source is one that only a
// GoCV build opens: the demo video, a device, a stream, a pipeline or a
// video file. A folder of pictures is read in Go; a path that is not there
// yet may become a video file, which the GoCV build reads too.
func needsGoCV(source string) bool {
	return !camera.GoCV && (source == agent.Demo || !camera.IsFolder(source))
}

// gocvSource is the first camera source of cfg (camera:, or any of
// cameras:) that needsGoCV.
func gocvSource(cfg agent.Config) (string, bool) {
	for _, p := range cfg.Plan() {
		if needsGoCV(p.Camera.Source) {
			return p.Camera.Source, true
		}
	}
	return "", false
}

// helperPath is gocvHelper as an absolute path.
func helperPath() (string, error) {
	if filepath.IsAbs(gocvHelper) {
		return gocvHelper, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding the GoCV build of coatnet next to this one: %w", err)
	}
	return filepath.Join(filepath.Dir(exe), gocvHelper), nil
}

// execGoCV replaces this process with the GoCV helper, with the same
// arguments and environment, when any of cfg's cameras needs OpenCV: the PID, and
// with it systemd's Type=notify main process, its signals and its journal
// stream, stay the same. It returns nil where this process runs the agent
// itself, and never returns when the exec succeeds.
func execGoCV(cfg agent.Config) error {
	if gocvHelper == "" {
		return nil
	}
	source, need := gocvSource(cfg)
	if !need {
		return nil
	}
	helper, err := helperPath()
	if err != nil {
		return err
	}
	st, err := os.Stat(helper)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		err = errors.New("it is not installed")
	case err == nil && (st.IsDir() || st.Mode()&0o111 == 0):
		err = errors.New("it is not an executable")
	case err == nil:
		if self, serr := os.Stat("/proc/self/exe"); serr == nil && os.SameFile(self, st) {
			err = errors.New("it is this build, without GoCV (a wrong -X main.gocvHelper)")
		}
	}
	if err != nil {
		return fmt.Errorf("camera.source %q needs OpenCV, which this coatnet leaves to its GoCV build, %s: %w; "+
			"install it: apt-get install --reinstall coatnet-edge (or make install in the source tree)",
			redact.Source(source), helper, err)
	}
	slog.Debug("handing the camera to the GoCV build", "helper", helper)
	err = syscall.Exec(helper, os.Args, os.Environ())
	return fmt.Errorf("running the GoCV build of coatnet, %s: %w", helper, err)
}
