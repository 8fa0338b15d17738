package agent

import (
	"encoding/json"
	"fmt"
)

// haComponent is one entity of a Home Assistant device discovery message,
// in the abbreviated keys Home Assistant documents (p: platform, stat_t:
// state topic, cmd_t: command topic, val_tpl: value template, ...).
type haComponent map[string]any

// DiscoveryTopic is where Home Assistant's device-based discovery reads
// this agent's device: <discovery_prefix>/device/<client id>/config.
func DiscoveryTopic(cfg *Config) string {
	return cfg.MQTT.DiscoveryPrefix + "/device/" + cfg.ClientID() + "/config"
}

// DiscoveryPayload is DeviceDiscovery of a configuration without
// cameras: (today's one camera, its entities as before regions).
func DiscoveryPayload(cfg *Config, modelName, version string) ([]byte, error) {
	return DeviceDiscovery(cfg, DiscoveryOptions{Model: modelName, Version: version})
}

// DiscoveryOptions is what the discovery message needs besides the
// configuration: what the loaded models say of themselves.
type DiscoveryOptions struct {
	Model   string // the device's model (dev.mdl): the model's name from its metadata
	Version string // the agent's
	// Labels are the labels of each model file that a region names (the
	// RegionPlan.Model of the cfg passed), as the model's metadata lists
	// them: a region's enum sensor offers them as its options.
	Labels map[string][]string
}

// DeviceDiscovery is the retained discovery message: one device (the
// agent) with, for a configuration without cameras:, its top label and
// score; inference latency, frame rate, CPU temperature, throttling and
// under-voltage from stats; the pause switch and threshold and rate
// numbers that the set topics drive; per region of every camera its
// confirmed state (an enum sensor) and snapshot (an image); per camera
// with motion detection its motion (a binary sensor); all unavailable
// while the status topic says offline. The device links to the status
// page where others can reach it (PageURL).
//
// Home Assistant records a state row whenever an entity's state or
// attributes change, so attributes hold only what changes with the state
// (labelAttributes, regionAttributes): the topics themselves keep every
// field.
func DeviceDiscovery(cfg *Config, o DiscoveryOptions) ([]byte, error) {
	t := TopicsFor(cfg)
	id := cfg.ClientID()
	c := func(platform, key, name string, fields haComponent) haComponent {
		fields["p"], fields["name"], fields["unique_id"] = platform, name, id+"_"+key
		return fields
	}
	sensor := func(key, name, topic, tpl string, extra haComponent) haComponent {
		fields := haComponent{"stat_t": topic, "val_tpl": tpl}
		for k, v := range extra {
			fields[k] = v
		}
		return c("sensor", key, name, fields)
	}
	diag := "diagnostic"
	cmps := map[string]haComponent{
		"inference": sensor("inference", "Inference p50", t.Stats, "{{ value_json.inference_p50_ms }}",
			haComponent{"dev_cla": "duration", "unit_of_meas": "ms", "stat_cla": "measurement", "ent_cat": diag}),
		"fps": sensor("fps", "Classified per second", t.Stats, "{{ value_json.classified_per_s }}",
			haComponent{"unit_of_meas": "fps", "stat_cla": "measurement", "ent_cat": diag}),
		"cpu_temp": sensor("cpu_temp", "CPU temperature", t.Stats, thermalValue("cpu_temp_c", false),
			haComponent{"dev_cla": "temperature", "unit_of_meas": "°C", "stat_cla": "measurement", "ent_cat": diag}),
		"throttled": c("binary_sensor", "throttled", "Throttled", haComponent{"stat_t": t.Stats,
			"val_tpl": thermalValue("throttled", true), "dev_cla": "problem", "ent_cat": diag}),
		"under_voltage": c("binary_sensor", "under_voltage", "Under-voltage", haComponent{"stat_t": t.Stats,
			"val_tpl": thermalValue("under_voltage", true), "dev_cla": "problem", "ent_cat": diag}),
		"paused": c("switch", "paused", "Paused", haComponent{"cmd_t": t.Set + "/paused", "stat_t": t.State,
			"val_tpl": "{{ 'ON' if value_json.paused else 'OFF' }}", "pl_on": "ON", "pl_off": "OFF"}),
		"threshold": c("number", "threshold", "Score threshold", haComponent{"cmd_t": t.Set + "/threshold",
			"stat_t": t.State, "val_tpl": "{{ value_json.threshold }}", "min": 0, "max": 1, "step": 0.01,
			"ent_cat": "config"}),
		// A box, not a slider: 0 (no limit) and any rate the set
		// topic takes can be typed, up to its bound.
		"rate": c("number", "rate", "Max rate (0 = unlimited)", haComponent{"cmd_t": t.Set + "/rate", "stat_t": t.State,
			"val_tpl": "{{ value_json.max_rate }}", "min": 0, "max": maxRateLimit, "step": 0.01, "mode": "box",
			"unit_of_meas": "fps", "ent_cat": "config"}),
	}
	if len(cfg.Cameras) == 0 {
		// The legacy camera's labels topic; with cameras: each region
		// publishes its own.
		cmps["label"] = sensor("label", "Label", t.Labels,
			"{{ value_json.labels[0].label if value_json.labels else 'none' }}",
			haComponent{"json_attr_t": t.Labels, "json_attr_tpl": labelAttributes, "icon": "mdi:label-outline"})
		cmps["score"] = sensor("score", "Score", t.Labels,
			"{{ (100 * value_json.labels[0].score) | round(1) if value_json.labels else 0 }}",
			haComponent{"unit_of_meas": "%", "stat_cla": "measurement"})
	}
	// Place keys join names with ':', which no camera or region name
	// holds (placeName) and no device-wide key above does.
	for _, p := range cfg.Plan() {
		if p.Legacy {
			// Its labels topic is today's; it publishes no state.
			continue
		}
		if p.Motion.Enabled {
			key := p.Name + ":motion"
			cmps[key] = c("binary_sensor", key, p.Name+" motion", haComponent{"stat_t": MotionTopic(cfg, p.Name),
				"dev_cla": "motion", "pl_on": MotionOn, "pl_off": MotionOff})
		}
		for _, r := range p.Regions {
			labels := o.Labels[r.Model]
			if len(labels) == 0 {
				return nil, fmt.Errorf("mqtt: discovery: %s: no labels for its model %s", r.Key, r.Model)
			}
			rt := RegionTopicsFor(cfg, p.Name, r.Name)
			key, name := p.Name+":"+r.Name, p.Name+" "+r.Name
			cmps[key+":state"] = sensor(key+":state", name, rt.State, "{{ value_json.label }}",
				haComponent{"dev_cla": "enum", "options": labels, "json_attr_t": rt.State,
					"json_attr_tpl": regionAttributes, "icon": "mdi:label-outline"})
			cmps[key+":snapshot"] = c("image", key+":snapshot", name+" snapshot",
				haComponent{"image_topic": rt.Snapshot, "content_type": "image/jpeg"})
			if r.Snapshot.Frame {
				cmps[key+":frame"] = c("image", key+":frame", name+" frame",
					haComponent{"image_topic": rt.Frame, "content_type": "image/jpeg"})
			}
		}
	}
	dev := map[string]any{"ids": []string{id}, "name": cfg.Device, "mf": "coatnet-edge", "mdl": o.Model, "sw": o.Version}
	if u := PageURL(&cfg.HTTP); u != "" {
		// The device page's "Visit" link: the status page (cu:
		// configuration_url, which must be an http(s) URL).
		dev["cu"] = u
	}
	msg := map[string]any{
		"dev":    dev,
		"o":      map[string]any{"name": "coatnet-edge", "sw": o.Version, "url": "https://github.com/coatnet-edge/coatnet-edge"},
		"avty_t": t.Status, "pl_avail": "online", "pl_not_avail": "offline",
		"qos":  cfg.MQTT.LabelsQoS,
		"cmps": cmps,
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("mqtt: discovery: %w", err)
	}
	return b, nil
}

// regionAttributes are a region state sensor's attributes: the score and
// the state before, which change only with the state, and the model. Not
// seq nor since: Home Assistant keeps when the state changed itself.
const regionAttributes = "{{ {'score': value_json.score, 'previous': value_json.previous | default(''), " +
	"'model': value_json.model} | tojson }}"

// labelAttributes are the label sensor's attributes: the camera and the
// model, which change only with a reload. The per-frame fields (seq, time,
// frame, loop, scores, inference_ms) stay out: Home Assistant would write
// a recorder row for every frame (430,000 a day at 5 fps).
const labelAttributes = "{{ {'camera': value_json.camera, 'model': value_json.model} | tojson }}"

// thermalValue is the value template of a field of the stats' thermal
// object, as it is or (onOff) as ON/OFF, and None (Home Assistant's
// unknown) on a board without that sensor, where stats leave it out.
func thermalValue(field string, onOff bool) string {
	v := "value_json.thermal." + field
	out := v
	if onOff {
		out = "('ON' if " + v + " else 'OFF')"
	}
	return "{{ " + out + " if value_json.thermal is defined and " + v + " is defined else None }}"
}
