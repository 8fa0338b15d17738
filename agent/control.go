package agent

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Settings are what the set topics change while the agent runs; the
// retained state topic mirrors them.
type Settings struct {
	Paused    bool    `json:"paused"`
	Threshold float64 `json:"threshold"`
	MaxRate   float64 `json:"max_rate"` // classifications per second, 0: no limit
	// ThermalLimit caps the rate while the CPU is hot (thermal.*); 0:
	// not limited. Commands cannot set it.
	ThermalLimit float64 `json:"thermal_limit,omitempty"`
}

// Rate is the classification rate in force: MaxRate, capped by
// ThermalLimit; 0 is no limit.
func (s Settings) Rate() float64 {
	switch {
	case s.ThermalLimit == 0:
		return s.MaxRate
	case s.MaxRate == 0:
		return s.ThermalLimit
	}
	return min(s.MaxRate, s.ThermalLimit)
}

// Control holds the live Settings. The pipeline reads them every frame and
// waits on Changed while paused or rate-limited, so a command takes effect
// at once.
type Control struct {
	mu      sync.Mutex
	s       Settings
	changed chan struct{} // closed and replaced on every change
}

// NewControl starts from the configured threshold and rate, not paused.
func NewControl(p PipelineConfig) *Control {
	return &Control{s: Settings{Threshold: p.Threshold, MaxRate: p.MaxRate}, changed: make(chan struct{})}
}

// Get returns the settings and a channel closed at their next change.
func (c *Control) Get() (Settings, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.s, c.changed
}

// Update changes the settings with edit and returns the result.
func (c *Control) Update(edit func(*Settings)) Settings {
	c.mu.Lock()
	defer c.mu.Unlock()
	edit(&c.s)
	close(c.changed)
	c.changed = make(chan struct{})
	return c.s
}

// maxRateLimit matches pipeline.max_rate's bound in the configuration.
const maxRateLimit = 1000

// minRate is the least non-zero rate: one frame an hour. Far smaller ones
// would overflow the interval between frames (time.Duration).
const minRate = 1.0 / 3600

// maxCommandBytes caps a command payload before it is parsed: the longest
// command, a JSON object setting all three fields, is under 100 bytes.
const maxCommandBytes = 4096

// ParseCommand reads one command: on the topic <prefix>/<device>/set the
// payload is "pause", "resume" or a JSON object of Settings fields; on
// .../set/paused it is ON/OFF (as Home Assistant's switch sends),
// true/false or 1/0; on .../set/threshold a number in [0, 1]; on
// .../set/rate 0 (no limit) or a number in [1/3600, 1000]. Payloads over
// maxCommandBytes are refused unread. sub is the topic after .../set ("",
// "paused", "threshold" or "rate"). The returned edit applies it.
func ParseCommand(sub string, payload []byte) (func(*Settings), error) {
	if len(payload) > maxCommandBytes {
		return nil, fmt.Errorf("payload of %d bytes: commands are at most %d bytes", len(payload), maxCommandBytes)
	}
	text := strings.TrimSpace(string(payload))
	switch sub {
	case "":
		switch strings.ToLower(text) {
		case "pause":
			return func(s *Settings) { s.Paused = true }, nil
		case "resume":
			return func(s *Settings) { s.Paused = false }, nil
		}
		if !strings.HasPrefix(text, "{") {
			return nil, errors.New(`want "pause", "resume" or a JSON object such as {"threshold": 0.5}`)
		}
		var cmd struct {
			Paused    *bool    `json:"paused"`
			Threshold *float64 `json:"threshold"`
			MaxRate   *float64 `json:"max_rate"`
		}
		dec := json.NewDecoder(bytes.NewReader(payload))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cmd); err != nil {
			return nil, fmt.Errorf("JSON: %w (fields: paused, threshold, max_rate)", err)
		}
		if cmd.Threshold != nil {
			if err := checkThreshold(*cmd.Threshold); err != nil {
				return nil, err
			}
		}
		if cmd.MaxRate != nil {
			if err := checkRate(*cmd.MaxRate); err != nil {
				return nil, err
			}
		}
		if cmd.Paused == nil && cmd.Threshold == nil && cmd.MaxRate == nil {
			return nil, errors.New("the JSON object sets nothing (fields: paused, threshold, max_rate)")
		}
		return func(s *Settings) {
			if cmd.Paused != nil {
				s.Paused = *cmd.Paused
			}
			if cmd.Threshold != nil {
				s.Threshold = *cmd.Threshold
			}
			if cmd.MaxRate != nil {
				s.MaxRate = *cmd.MaxRate
			}
		}, nil
	case "paused":
		switch strings.ToLower(text) {
		case "on", "true", "1":
			return func(s *Settings) { s.Paused = true }, nil
		case "off", "false", "0":
			return func(s *Settings) { s.Paused = false }, nil
		}
		return nil, errors.New("want ON or OFF")
	case "threshold":
		v, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, errors.New("want a number in [0, 1]")
		}
		if err := checkThreshold(v); err != nil {
			return nil, err
		}
		return func(s *Settings) { s.Threshold = v }, nil
	case "rate":
		v, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, fmt.Errorf("want a number of frames per second in [0, %d]", maxRateLimit)
		}
		if err := checkRate(v); err != nil {
			return nil, err
		}
		return func(s *Settings) { s.MaxRate = v }, nil
	}
	return nil, errors.New("unknown command topic (set, set/paused, set/threshold, set/rate, set/model)")
}

func checkThreshold(v float64) error {
	if !(v >= 0 && v <= 1) {
		return fmt.Errorf("threshold %v is outside [0, 1]", v)
	}
	return nil
}

func checkRate(v float64) error {
	if !(v >= 0 && v <= maxRateLimit) || math.IsInf(v, 0) {
		return fmt.Errorf("rate %v is outside [0, %d] frames per second", v, maxRateLimit)
	}
	if v > 0 && v < minRate {
		return fmt.Errorf("rate %v is below %.6f frames per second (one an hour); 0 is no limit", v, minRate)
	}
	return nil
}

// ModelState names the model in force on the retained state topic, beside
// the Settings: the agent sets it at every load; commands cannot.
type ModelState struct {
	Model       string `json:"model,omitempty"`        // its name (metadata)
	ModelPath   string `json:"model_path,omitempty"`   // the file it was loaded from
	ModelSHA256 string `json:"model_sha256,omitempty"` // of the bytes loaded, hex
	// ModelError is why the last set/model was refused (the model above
	// stays); empty after one that succeeded.
	ModelError string `json:"model_error,omitempty"`
}

// ModelRequest is a set/model command: the model file to load instead of
// model.path, and the checksum it must have ("" for any).
type ModelRequest struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// ParseModelCommand reads a set/model payload, {"path": "/abs/file.coatnet",
// "sha256": "<64 hex digits>"} (sha256 optional). Only a path on the device
// is taken: fetching a URL is left out on purpose (see the README).
func ParseModelCommand(payload []byte) (ModelRequest, error) {
	var r ModelRequest
	if len(payload) > maxCommandBytes {
		return r, fmt.Errorf("payload of %d bytes: commands are at most %d bytes", len(payload), maxCommandBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return ModelRequest{}, fmt.Errorf(`want a JSON object such as {"path": "/var/lib/coatnet/models/x.coatnet", "sha256": "..."}: %w`, err)
	}
	if dec.More() {
		return ModelRequest{}, errors.New("trailing data after the JSON object")
	}
	switch {
	case r.Path == "":
		return ModelRequest{}, errors.New(`"path" is missing`)
	case !filepath.IsAbs(r.Path):
		return ModelRequest{}, fmt.Errorf("path %q is not absolute", r.Path)
	}
	r.Path = filepath.Clean(r.Path)
	r.SHA256 = strings.ToLower(r.SHA256)
	if r.SHA256 != "" {
		if b, err := hex.DecodeString(r.SHA256); err != nil || len(b) != sha256.Size {
			return ModelRequest{}, errors.New("sha256 is not 64 hex digits")
		}
	}
	return r, nil
}
