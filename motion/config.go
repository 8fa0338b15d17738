package motion

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Config tunes a Detector. Start from Defaults: every field must be set.
type Config struct {
	// Width is the most pixels across of the grey picture motion is looked
	// for in: frames are shrunk by averaging whole blocks of pixels (the
	// frame's width divided by a whole number, never enlarged), which also
	// averages sensor noise away. Cost grows with its square.
	Width int `yaml:"width"`
	// Threshold is how many grey levels (of 255) a pixel of the shrunk,
	// blurred picture must lie outside the background of every pixel
	// within two of it to count as changed. The neighbours make a camera
	// shaking by a pixel or two no motion.
	Threshold float64 `yaml:"threshold"`
	// MinArea is the smallest motion box kept, as the fraction of the
	// frame's area its changed pixels cover: smaller blobs are noise.
	MinArea float64 `yaml:"min_area"`
	// Adapt is how much of each frame goes into the running background
	// (an exponential average), in (0, 1]: light that changes slowly, and
	// a change that stays (a parked car), become background. At 0.05 a
	// change of 200 grey levels falls below Threshold 30 after about 37
	// frames.
	Adapt float64 `yaml:"adapt"`
	// Hold is how long the camera's motion stays on after the last frame
	// with a motion box (by the frames' capture times), so that it does
	// not flap on and off.
	Hold time.Duration `yaml:"hold"`
}

// Defaults are settings that suit a fixed camera from 320x240 to 1080p
// at 5 to 30 frames a second.
func Defaults() Config {
	return Config{Width: 160, Threshold: 30, MinArea: 0.002, Adapt: 0.05, Hold: 2 * time.Second}
}

// Limits of Width: below minWidth a region is a few pixels; maxWidth bounds
// the memory a configuration can ask for.
const (
	minWidth = 16
	maxWidth = 4096
)

// Validate reports every bad setting at once.
func (c Config) Validate() error {
	var errs []error
	if c.Width < minWidth || c.Width > maxWidth {
		errs = append(errs, fmt.Errorf("motion: width %d is not %d to %d pixels", c.Width, minWidth, maxWidth))
	}
	if !(c.Threshold > 0 && c.Threshold < 255) {
		errs = append(errs, fmt.Errorf("motion: threshold %v is not above 0 and below 255 grey levels", c.Threshold))
	}
	if !(c.MinArea >= 0 && c.MinArea < 1) || math.IsNaN(c.MinArea) {
		errs = append(errs, fmt.Errorf("motion: min_area %v is not a fraction of the frame from 0 to below 1", c.MinArea))
	}
	if !(c.Adapt > 0 && c.Adapt <= 1) {
		errs = append(errs, fmt.Errorf("motion: adapt %v is not above 0 and at most 1", c.Adapt))
	}
	if c.Hold < 0 {
		errs = append(errs, fmt.Errorf("motion: hold %v is negative", c.Hold))
	}
	return errors.Join(errs...)
}
