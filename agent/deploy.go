package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/coatnet-edge/coatnet-edge/model/modelfile"
)

// deploy is set/model: the model file req names is loaded aside and
// checked (a regular file within modelfile.MaxReadLen, a model that opens
// with a classifier for the camera's pictures, the sha256 asked), then
// put in force the way a reload swaps (swap, swapPlaces), keeping the
// settings commands made. With cameras: it replaces model.path, the
// default of every region that names no model of its own. Whatever fails
// keeps the model in force, logged, counted as a rejected command and
// published as model_error on the state topic. The deployed file stays
// over model.path through reloads (reload says so) until another
// set/model, or a file that names it; a restart goes back to model.path.
func (a *agent) deploy(ctx context.Context, req ModelRequest, stop context.CancelFunc, done <-chan error) (bool, error) {
	stopped, err := a.deployModel(ctx, req, stop, done)
	var refused refusal
	if errors.As(err, &refused) {
		a.log.Error("set/model refused; the model in force stays", "path", req.Path, "err", refused.err)
		a.pub.rejectModel(refused.err)
		return false, nil
	}
	if err != nil || !stopped {
		return stopped, err
	}
	a.mu.Lock()
	a.deployed = req.Path
	if req.Path == a.fileModel {
		a.deployed = "" // back to the file's model
	}
	a.mu.Unlock()
	m := a.modelState()
	a.pub.SetModel(m)
	a.log.Info("model deployed", "model", m.Model, "path", m.ModelPath, "sha256", m.ModelSHA256)
	return true, nil
}

// refusal is a set/model that changed nothing.
type refusal struct{ err error }

func (r refusal) Error() string { return r.err.Error() }

func (a *agent) deployModel(ctx context.Context, req ModelRequest, stop context.CancelFunc, done <-chan error) (bool, error) {
	fi, err := os.Stat(req.Path)
	switch {
	case err != nil:
		return false, refusal{err}
	case !fi.Mode().IsRegular():
		return false, refusal{fmt.Errorf("%s is not a regular file (%s)", req.Path, fi.Mode().Type())}
	case fi.Size() > modelfile.MaxReadLen:
		return false, refusal{fmt.Errorf("%s has %d bytes, more than a model file may (%d)", req.Path, fi.Size(),
			int64(modelfile.MaxReadLen))}
	}
	a.mu.Lock()
	cfg := a.cfg
	a.mu.Unlock()
	cfg.Model.Path = req.Path
	if a.places != nil {
		engines, err := a.places.openEngines(cfg, a.places.engines)
		if err != nil {
			return false, refusal{err}
		}
		e := engines[req.Path]
		if err := checkSum(e, req); err != nil {
			for m, e := range engines {
				if a.places.engines[m] == nil {
					e.inf.close()
				}
			}
			return false, refusal{err}
		}
		return a.swapPlaces(ctx, cfg, engines, stop, done)
	}
	resolved := cfg
	if err := resolveDemo(&resolved, a.log); err != nil {
		return false, refusal{err}
	}
	inf, err := openInference(resolved)
	if err != nil {
		return false, refusal{err}
	}
	if err := checkSum(&modelEngine{inf: inf}, req); err != nil {
		inf.close()
		return false, refusal{err}
	}
	return a.swap(ctx, cfg, resolved, inf, stop, done)
}

// checkSum checks that e (nil: no region uses model.path) is the file req
// asks for.
func checkSum(e *modelEngine, req ModelRequest) error {
	switch {
	case e == nil:
		return errors.New("every region names its own model; set/model replaces model.path, which none uses")
	case req.SHA256 != "" && e.inf.sha256 != req.SHA256:
		return fmt.Errorf("%s has sha256 %s, not %s", req.Path, e.inf.sha256, req.SHA256)
	}
	return nil
}

// modelState names the model in force for the state topic: the legacy
// camera's, or with cameras: model.path's engine (the first model's if no
// region uses model.path).
func (a *agent) modelState() ModelState {
	a.mu.Lock()
	path := a.cfg.Model.Path
	inf := a.inf
	a.mu.Unlock()
	if a.places != nil {
		a.places.mu.Lock()
		e := a.places.engines[cleanModelPath(path)]
		if e == nil {
			for _, m := range sortedKeys(a.places.engines) {
				path, e = m, a.places.engines[m]
				break
			}
		}
		a.places.mu.Unlock()
		if e == nil {
			return ModelState{}
		}
		inf = e.inf
	}
	return ModelState{Model: inf.md.Name, ModelPath: path, ModelSHA256: inf.sha256}
}

// cleanModelPath is a model.path as RegionPlan.Model spells it.
func cleanModelPath(p string) string {
	if p == Demo || p == "" {
		return p
	}
	return filepath.Clean(p)
}
