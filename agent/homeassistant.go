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

// DiscoveryPayload is the retained discovery message: one device (the
// agent) with its top label and score, inference latency and frame rate
// from stats, and the pause switch and threshold and rate numbers that
// the set topics drive, all unavailable while the status topic says
// offline.
func DiscoveryPayload(cfg *Config, modelName, version string) ([]byte, error) {
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
	msg := map[string]any{
		"dev":    map[string]any{"ids": []string{id}, "name": cfg.Device, "mf": "coatnet-edge", "mdl": modelName, "sw": version},
		"o":      map[string]any{"name": "coatnet-edge", "sw": version, "url": "https://github.com/coatnet-edge/coatnet-edge"},
		"avty_t": t.Status, "pl_avail": "online", "pl_not_avail": "offline",
		"qos": cfg.MQTT.LabelsQoS,
		"cmps": map[string]haComponent{
			"label": sensor("label", "Label", t.Labels,
				"{{ value_json.labels[0].label if value_json.labels else 'none' }}",
				haComponent{"json_attr_t": t.Labels, "icon": "mdi:label-outline"}),
			"score": sensor("score", "Score", t.Labels,
				"{{ (100 * value_json.labels[0].score) | round(1) if value_json.labels else 0 }}",
				haComponent{"unit_of_meas": "%", "stat_cla": "measurement"}),
			"inference": sensor("inference", "Inference p50", t.Stats, "{{ value_json.inference_p50_ms }}",
				haComponent{"unit_of_meas": "ms", "stat_cla": "measurement", "ent_cat": diag}),
			"fps": sensor("fps", "Classified per second", t.Stats, "{{ value_json.classified_per_s }}",
				haComponent{"unit_of_meas": "fps", "stat_cla": "measurement", "ent_cat": diag}),
			"paused": c("switch", "paused", "Paused", haComponent{"cmd_t": t.Set + "/paused", "stat_t": t.State,
				"val_tpl": "{{ 'ON' if value_json.paused else 'OFF' }}", "pl_on": "ON", "pl_off": "OFF"}),
			"threshold": c("number", "threshold", "Score threshold", haComponent{"cmd_t": t.Set + "/threshold",
				"stat_t": t.State, "val_tpl": "{{ value_json.threshold }}", "min": 0, "max": 1, "step": 0.01,
				"ent_cat": "config"}),
			"rate": c("number", "rate", "Max rate", haComponent{"cmd_t": t.Set + "/rate", "stat_t": t.State,
				"val_tpl": "{{ value_json.max_rate }}", "min": 0, "max": max(30, cfg.Pipeline.MaxRate), "step": 0.5, "unit_of_meas": "fps",
				"ent_cat": "config"}),
		},
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("mqtt: discovery: %w", err)
	}
	return b, nil
}
