package agent

import "time"

// RegionTopics are the topics of one region of one camera, under
// <prefix>/<device>/<camera>/<region>/. Camera and region names are
// validated (see checkPlaceName) so that they never collide with the
// device-wide topics of [Topics].
type RegionTopics struct {
	State    string // retained confirmed state (RegionState), published only on a change
	Snapshot string // retained JPEG of the region at its last confirmed change, raw bytes
	Frame    string // the same of the whole frame with the regions drawn, for regions whose snapshot.frame is set
	Labels   string // one message per classification, for regions whose labels are not "off"
}

// RegionTopicsFor derives the topics of region on camera.
func RegionTopicsFor(cfg *Config, camera, region string) RegionTopics {
	base := cfg.MQTT.Prefix + "/" + cfg.Device + "/" + camera + "/" + region + "/"
	return RegionTopics{State: base + "state", Snapshot: base + "snapshot", Frame: base + "frame", Labels: base + "labels"}
}

// MotionTopic is the retained topic of camera's motion: [MotionOn] or
// [MotionOff], published when it changes.
func MotionTopic(cfg *Config, camera string) string {
	return cfg.MQTT.Prefix + "/" + cfg.Device + "/" + camera + "/motion"
}

// The payloads of [MotionTopic]: Home Assistant's binary_sensor defaults.
const (
	MotionOn  = "ON"
	MotionOff = "OFF"
)

// RegionState is the payload of [RegionTopics].State: a region's confirmed
// state (see [Debouncer]), JSON, retained.
type RegionState struct {
	Camera   string    `json:"camera"`
	Region   string    `json:"region"`
	Label    string    `json:"label"`
	Score    float64   `json:"score"`              // the lowest score of the confirming results
	Since    time.Time `json:"since"`              // when the confirming run began
	Previous string    `json:"previous,omitempty"` // the state before; empty for the first
	Seq      uint64    `json:"seq"`                // the region's state changes in this run, from 1
	Model    string    `json:"model"`              // the model that classified it
}
