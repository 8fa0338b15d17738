package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/coatnet-edge/coatnet-edge/internal/boundedio"
	"github.com/coatnet-edge/coatnet-edge/preprocess"
)

// hfConfig is what convert takes from the config.json that timm's
// push_to_hf_hub writes beside the weights: the model name, the labels and
// the pretrained_cfg's preprocessing. Other keys (num_features,
// first_conv, ...) are ignored. global_pool is kept too: no tensor shows
// whether the head pools by the mean or the maximum.
type hfConfig struct {
	path         string
	Architecture string `json:"architecture"`
	NumClasses   int    `json:"num_classes"`
	GlobalPool   string `json:"global_pool"`
	// LabelNames is a list, or an object from class index to name.
	LabelNames json.RawMessage `json:"label_names"`
	Pretrained struct {
		Tag           string    `json:"tag"`
		InputSize     []int     `json:"input_size"` // C, H, W
		Interpolation string    `json:"interpolation"`
		CropPct       float64   `json:"crop_pct"`
		CropMode      string    `json:"crop_mode"`
		Mean          []float32 `json:"mean"`
		Std           []float32 `json:"std"`
		NumClasses    int       `json:"num_classes"`
	} `json:"pretrained_cfg"`

	labels []string
}

// maxHFConfigBytes bounds config.json: ImageNet-21k's label names and
// descriptions are a few MiB.
const maxHFConfigBytes = 16 << 20

// readHFConfig reads file, or config.json beside the checkpoint when file
// is empty; (nil, nil) when there is none beside it.
func readHFConfig(ckptPath, file string) (*hfConfig, error) {
	path := file
	if path == "" {
		path = filepath.Join(filepath.Dir(ckptPath), "config.json")
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
	}
	raw, err := boundedio.ReadFile(path, maxHFConfigBytes)
	if err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	var h hfConfig
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("%s: not a timm config.json: %w", path, err)
	}
	h.path = path
	if err := h.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &h, nil
}

// check validates the values on their own; conflicts with the weights are
// found by convert.
func (h *hfConfig) check() error {
	var errs []error
	p := &h.Pretrained
	if len(h.LabelNames) > 0 && string(h.LabelNames) != "null" {
		var list []string
		var byIndex map[string]string
		if json.Unmarshal(h.LabelNames, &list) == nil {
			h.labels = list
		} else if json.Unmarshal(h.LabelNames, &byIndex) == nil {
			h.labels = make([]string, len(byIndex))
			for k, v := range byIndex {
				i, err := strconv.Atoi(k)
				if err != nil || i < 0 || i >= len(byIndex) {
					errs = append(errs, fmt.Errorf("label_names: key %q is not a class index in [0, %d)", k, len(byIndex)))
					continue
				}
				h.labels[i] = v
			}
		} else {
			errs = append(errs, errors.New("label_names: want a list of strings or an object from class index to name"))
		}
		for i, l := range h.labels {
			if l == "" {
				errs = append(errs, fmt.Errorf("label_names: class %d has no name", i))
				break
			}
		}
	}
	if h.NumClasses > 0 && p.NumClasses > 0 && h.NumClasses != p.NumClasses {
		errs = append(errs, fmt.Errorf("num_classes %d, but pretrained_cfg.num_classes %d", h.NumClasses, p.NumClasses))
	}
	if n := h.classes(); n > 0 && h.labels != nil && len(h.labels) != n {
		errs = append(errs, fmt.Errorf("%d label_names for num_classes %d", len(h.labels), n))
	}
	if p.InputSize != nil && (len(p.InputSize) != 3 || p.InputSize[1] != p.InputSize[2] || p.InputSize[0] < 1 || p.InputSize[1] < 1) {
		errs = append(errs, fmt.Errorf("pretrained_cfg.input_size %v: want [channels, size, size]", p.InputSize))
	}
	switch h.GlobalPool {
	case "", "avg", "max":
	default:
		errs = append(errs, fmt.Errorf("global_pool %q: the CoAtNet head pools by avg or max", h.GlobalPool))
	}
	switch preprocess.Interpolation(p.Interpolation) {
	case "", preprocess.Bicubic, preprocess.Bilinear:
	default:
		errs = append(errs, fmt.Errorf("pretrained_cfg.interpolation %q: only bicubic and bilinear are supported", p.Interpolation))
	}
	switch preprocess.CropMode(p.CropMode) {
	case "", preprocess.CropCenter, preprocess.CropSquash:
	default:
		errs = append(errs, fmt.Errorf("pretrained_cfg.crop_mode %q: only center and squash are supported", p.CropMode))
	}
	if p.CropPct < 0 || p.CropPct > 1 {
		errs = append(errs, fmt.Errorf("pretrained_cfg.crop_pct %v: want a fraction in (0, 1]", p.CropPct))
	}
	if len(p.Mean) != len(p.Std) {
		errs = append(errs, fmt.Errorf("pretrained_cfg: %d mean values but %d std values", len(p.Mean), len(p.Std)))
	}
	return errors.Join(errs...)
}

// classes is the class count the file states, 0 if none (a headless
// feature extractor says 0 too).
func (h *hfConfig) classes() int { return max(h.NumClasses, h.Pretrained.NumClasses) }

// size is the input size the file states, 0 if none.
func (h *hfConfig) size() int {
	if len(h.Pretrained.InputSize) == 3 {
		return h.Pretrained.InputSize[1]
	}
	return 0
}
