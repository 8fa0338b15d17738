// Package preprocess turns pictures into the normalised float input a model
// expects. The recipe (Spec) travels inside the model file so that classify,
// eval and the camera path all prepare frames the same way the model was
// trained.
package preprocess

import (
	"errors"
	"fmt"
	"math"
)

// Colour is the channel layout the network reads.
type Colour string

const (
	// RGB feeds three channels in R, G, B order (timm's convention).
	RGB Colour = "rgb"
	// Grey feeds one luma channel (ITU-R 601-2, as PIL's "L" mode).
	Grey Colour = "grey"
)

// CropMode says how the resized picture is cut to the network size.
type CropMode string

const (
	// CropCenter resizes the short side to Size/CropPct and cuts the centre
	// Size x Size square (timm's default eval transform).
	CropCenter CropMode = "center"
	// CropSquash resizes both sides to Size/CropPct, ignoring the aspect
	// ratio, then cuts the centre (timm's crop_mode="squash").
	CropSquash CropMode = "squash"
)

// Interpolation is the resampling filter used when resizing.
type Interpolation string

const (
	// Bicubic is PIL's bicubic filter (a = -0.5) with antialiasing on
	// downscale, as torchvision applies it to PIL images.
	Bicubic Interpolation = "bicubic"
	// Bilinear is PIL's triangle filter with antialiasing on downscale.
	Bilinear Interpolation = "bilinear"
)

// Spec is the complete preprocessing recipe of a model.
type Spec struct {
	// Size is the square network input in pixels (the model's img_size).
	Size int `json:"size"`
	// CropPct is the fraction of the resized picture kept by the crop:
	// the resize target is floor(Size / CropPct).
	CropPct float64 `json:"crop_pct"`
	// CropMode is "center" or "squash".
	CropMode CropMode `json:"crop_mode"`
	// Interpolation is "bicubic" or "bilinear".
	Interpolation Interpolation `json:"interpolation"`
	// Colour is "rgb" or "grey".
	Colour Colour `json:"colour"`
	// Invert replaces every 8-bit value v with 255 - v, so a dark object on
	// a light background looks like training data that had a light object
	// on a dark background. It applies after the colour conversion and
	// before the resize; since the resize rounds to 8 bits, the other
	// order can differ by one level.
	Invert bool `json:"invert"`
	// Mean and Std normalise each channel: x = (v/255 - Mean[c]) / Std[c].
	Mean []float32 `json:"mean"`
	Std  []float32 `json:"std"`
}

// Channels is the number of channels the recipe produces.
func (s *Spec) Channels() int {
	if s.Colour == Grey {
		return 1
	}
	return 3
}

// Len is the number of float32 values one preprocessed picture fills:
// Channels() x Size x Size.
func (s *Spec) Len() int {
	return s.Channels() * s.Size * s.Size
}

// ResizeTarget is the size the picture is resized to before cropping:
// floor(Size / CropPct), as timm computes scale_size. It is only meaningful
// for a spec that passes Validate.
func (s *Spec) ResizeTarget() int {
	return int(math.Floor(float64(s.Size) / s.CropPct))
}

// MaxSide bounds Size, the resize target and the sides of input pictures.
// It keeps every size exact in PIL's float32 box arithmetic and every
// index well inside int32, and turns absurd inputs into errors instead of
// huge allocations.
const MaxSide = 1 << 15

// Validate reports every problem with the recipe at once.
func (s *Spec) Validate() error {
	var errs []error
	if s.Size < 1 {
		errs = append(errs, fmt.Errorf("size %d: must be at least 1", s.Size))
	}
	if s.Size > MaxSide {
		errs = append(errs, fmt.Errorf("size %d: must be at most %d", s.Size, MaxSide))
	}
	if !(s.CropPct > 0 && s.CropPct <= 1) {
		errs = append(errs, fmt.Errorf("crop_pct %v: must be in (0, 1]", s.CropPct))
	} else if s.Size >= 1 && float64(s.Size)/s.CropPct >= MaxSide+1 {
		errs = append(errs, fmt.Errorf("crop_pct %v: resize target floor(%d / %v) exceeds %d", s.CropPct, s.Size, s.CropPct, MaxSide))
	}
	switch s.CropMode {
	case CropCenter, CropSquash:
	default:
		errs = append(errs, fmt.Errorf("crop_mode %q: want %q or %q", s.CropMode, CropCenter, CropSquash))
	}
	switch s.Interpolation {
	case Bicubic, Bilinear:
	default:
		errs = append(errs, fmt.Errorf("interpolation %q: want %q or %q", s.Interpolation, Bicubic, Bilinear))
	}
	switch s.Colour {
	case RGB, Grey:
	default:
		errs = append(errs, fmt.Errorf("colour %q: want %q or %q", s.Colour, RGB, Grey))
	}
	c := s.Channels()
	if len(s.Mean) != c {
		errs = append(errs, fmt.Errorf("mean has %d values, colour %q needs %d", len(s.Mean), s.Colour, c))
	}
	if len(s.Std) != c {
		errs = append(errs, fmt.Errorf("std has %d values, colour %q needs %d", len(s.Std), s.Colour, c))
	}
	for i, v := range s.Mean {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			errs = append(errs, fmt.Errorf("mean[%d] = %v: must be finite", i, v))
		}
	}
	for i, v := range s.Std {
		if !(v > 0) || math.IsInf(float64(v), 0) {
			errs = append(errs, fmt.Errorf("std[%d] = %v: must be positive and finite", i, v))
		}
	}
	return errors.Join(errs...)
}

// TimmDefault is timm's CoAtNet recipe: bicubic, centre crop, mean = std =
// 0.5, RGB.
func TimmDefault(size int, cropPct float64) Spec {
	return Spec{
		Size:          size,
		CropPct:       cropPct,
		CropMode:      CropCenter,
		Interpolation: Bicubic,
		Colour:        RGB,
		Mean:          []float32{0.5, 0.5, 0.5},
		Std:           []float32{0.5, 0.5, 0.5},
	}
}

// ImageNet mean and standard deviation, used by coatnet_bn_0_rw.
var (
	ImageNetMean = []float32{0.485, 0.456, 0.406}
	ImageNetStd  = []float32{0.229, 0.224, 0.225}
)
