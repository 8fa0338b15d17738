package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
	"github.com/coatnet-edge/coatnet-edge/internal/thermal"
)

// haAbbreviations expands the abbreviated discovery keys, as Home
// Assistant's MQTT integration does (abbreviations.py: ABBREVIATIONS,
// DEVICE_ABBREVIATIONS, ORIGIN_ABBREVIATIONS); a key not listed is taken
// as it is. Only the keys a schema below names are needed.
var haAbbreviations = map[string]string{
	"p": "platform", "uniq_id": "unique_id", "avty": "availability", "avty_mode": "availability_mode",
	"avty_t": "availability_topic", "avty_tpl": "availability_template", "pl_avail": "payload_available",
	"pl_not_avail": "payload_not_available", "dev": "device", "o": "origin", "cmps": "components",
	"en": "enabled_by_default", "ent_cat": "entity_category", "ent_pic": "entity_picture", "ic": "icon",
	"json_attr_t": "json_attributes_topic", "json_attr_tpl": "json_attributes_template", "obj_id": "object_id",
	"def_ent_id": "default_entity_id", "e": "encoding", "stat_t": "state_topic", "val_tpl": "value_template",
	"cmd_t": "command_topic", "cmd_tpl": "command_template", "ret": "retain", "dev_cla": "device_class",
	"exp_aft": "expire_after", "frc_upd": "force_update", "lrst_val_tpl": "last_reset_value_template",
	"ops": "options", "sug_dsp_prc": "suggested_display_precision", "stat_cla": "state_class",
	"unit_of_meas": "unit_of_measurement", "off_dly": "off_delay", "pl_on": "payload_on", "pl_off": "payload_off",
	"pl_rst": "payload_reset", "opt": "optimistic", "stat_on": "state_on", "stat_off": "state_off",
	// In dev and o.
	"ids": "identifiers", "cns": "connections", "mf": "manufacturer", "mdl": "model", "mdl_id": "model_id",
	"hw": "hw_version", "sw": "sw_version", "sn": "serial_number", "sa": "suggested_area", "cu": "configuration_url",
	"url": "support_url",
}

// haSchemas are the keys Home Assistant's discovery accepts per platform
// (homeassistant/components/mqtt: MQTT_ENTITY_COMMON_SCHEMA and the
// availability schema in schemas.py, MQTT_RO_SCHEMA and MQTT_RW_SCHEMA in
// config.py, and each platform's _PLATFORM_SCHEMA_BASE), true where
// required. Discovery drops keys it does not know without a word
// (vol.REMOVE_EXTRA), so a misspelt key would only be lost.
var haSchemas = func() map[string]map[string]bool {
	common := []string{"platform", "name", "unique_id", "availability", "availability_mode", "availability_topic",
		"availability_template", "payload_available", "payload_not_available", "device", "origin",
		"enabled_by_default", "entity_category", "entity_picture", "icon", "json_attributes_topic",
		"json_attributes_template", "object_id", "default_entity_id", "qos", "encoding"}
	ro := []string{"state_topic!", "value_template"}
	rw := []string{"command_topic!", "retain", "state_topic"}
	platforms := map[string][]string{
		"sensor": append(slices.Clone(ro), "device_class", "expire_after", "force_update", "last_reset_value_template",
			"options", "suggested_display_precision", "state_class", "unit_of_measurement"),
		"binary_sensor": append(slices.Clone(ro), "device_class", "expire_after", "force_update", "off_delay",
			"payload_off", "payload_on"),
		"number": append(slices.Clone(rw), "command_template", "device_class", "max", "min", "mode", "payload_reset",
			"step", "unit_of_measurement", "value_template"),
		"switch": append(slices.Clone(rw), "device_class", "optimistic", "payload_off", "payload_on", "state_off",
			"state_on", "value_template"),
	}
	out := map[string]map[string]bool{}
	for p, keys := range platforms {
		out[p] = map[string]bool{}
		for _, k := range append(common, keys...) {
			name, required := strings.CutSuffix(k, "!")
			out[p][name] = required
		}
	}
	return out
}()

// Home Assistant's enumerations that the discovery message uses: the
// units each sensor device class takes (SensorDeviceClass and
// DEVICE_CLASS_UNITS), binary sensor classes, state classes, entity
// categories and number modes.
var (
	haSensorUnits = map[string][]string{
		"duration":    {"d", "h", "min", "s", "ms", "µs"},
		"temperature": {"°C", "°F", "K"},
	}
	haBinaryClasses = []string{"battery", "battery_charging", "carbon_monoxide", "cold", "connectivity", "door",
		"garage_door", "gas", "heat", "light", "lock", "moisture", "motion", "moving", "occupancy", "opening", "plug",
		"power", "presence", "problem", "running", "safety", "smoke", "sound", "tamper", "update", "vibration", "window"}
	haStateClasses = []string{"measurement", "measurement_angle", "total", "total_increasing"}
	haCategories   = []string{"config", "diagnostic"}
	haNumberModes  = []string{"auto", "box", "slider"}
)

// expandKeys is a discovery object with its keys spelt out.
func expandKeys(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if full, ok := haAbbreviations[k]; ok {
			k = full
		}
		out[k] = v
	}
	return out
}

// valueJSONPath finds the fields a template reads: value_json.a.b[0].c.
var valueJSONPath = regexp.MustCompile(`value_json((?:\.[A-Za-z_][A-Za-z0-9_]*|\[[0-9]+\])+)`)

// templatePaths lists the JSON paths tpl reads, each as its steps.
func templatePaths(tpl string) [][]string {
	var out [][]string
	step := regexp.MustCompile(`\.([A-Za-z_][A-Za-z0-9_]*)|\[([0-9]+)\]`)
	for _, m := range valueJSONPath.FindAllStringSubmatch(tpl, -1) {
		var p []string
		for _, s := range step.FindAllStringSubmatch(m[1], -1) {
			p = append(p, s[1]+s[2])
		}
		out = append(out, p)
	}
	return out
}

// lookup follows path through a decoded JSON value.
func lookup(v any, path []string) (any, bool) {
	for _, s := range path {
		switch x := v.(type) {
		case map[string]any:
			if v = x[s]; v == nil {
				if _, ok := x[s]; !ok {
					return nil, false
				}
			}
		case []any:
			i, err := strconv.Atoi(s)
			if err != nil || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// jinjaScript renders templates as Home Assistant does (Jinja2 in an
// immutable sandbox, with value and value_json), but with StrictUndefined:
// where Home Assistant logs a warning for a field that is not there, the
// test gets an error.
const jinjaScript = `
import json, sys
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
env = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
out = []
for r in json.load(sys.stdin):
    try:
        out.append({"out": env.from_string(r["tpl"]).render(value=r["payload"], value_json=json.loads(r["payload"])).strip()})
    except Exception as e:
        out.append({"err": repr(e)})
json.dump(out, sys.stdout)
`

type jinjaRequest struct {
	Tpl     string `json:"tpl"`
	Payload string `json:"payload"`
}

// renderJinja renders each template against its payload with Python's
// Jinja2 (python3-jinja2), skipping the test where it is missing.
func renderJinja(t *testing.T, reqs []jinjaRequest) []string {
	t.Helper()
	// The python3 first on PATH may be one of its own (pyenv) without
	// Debian's packages; make test installs python3-jinja2 for Debian's.
	py := ""
	for _, name := range []string{"python3", "/usr/bin/python3"} {
		if p, err := exec.LookPath(name); err == nil && exec.Command(p, "-c", "import jinja2").Run() == nil {
			py = p
			break
		}
	}
	if py == "" {
		t.Skip("no python3 with jinja2 (apt-get install python3-jinja2) to render the templates")
	}
	in, err := json.Marshal(reqs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", jinjaScript)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	outb, err := cmd.Output()
	if err != nil {
		t.Fatalf("jinja2: %v\n%s", err, stderr.String())
	}
	var res []struct{ Out, Err string }
	if err := json.Unmarshal(outb, &res); err != nil || len(res) != len(reqs) {
		t.Fatalf("jinja2 output %q: %v", outb, err)
	}
	out := make([]string, len(res))
	for i, r := range res {
		if r.Err != "" {
			t.Errorf("template %q on %s: %s", reqs[i].Tpl, reqs[i].Payload, r.Err)
		}
		out[i] = r.Out
	}
	return out
}

// fakeSys is a sysfs with a CPU at 61.5 °C that is throttled now (bit 2 of
// get_throttled) without under-voltage.
func fakeSys(t *testing.T) *thermal.Reader {
	sys := t.TempDir()
	zone := filepath.Join(sys, "sys/class/thermal/thermal_zone0")
	fw := filepath.Join(sys, "sys/devices/platform/soc/soc:firmware")
	for _, d := range []string{zone, fw} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for path, text := range map[string]string{filepath.Join(zone, "type"): "cpu-thermal\n",
		filepath.Join(zone, "temp"): "61500\n", filepath.Join(fw, "get_throttled"): "0x4\n"} {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return thermal.NewRoot(sys)
}

// discoveryComponents decodes the discovery message's components, keys
// spelt out.
func discoveryComponents(t *testing.T, payload []byte) (map[string]any, map[string]map[string]any) {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(payload, &d); err != nil {
		t.Fatal(err)
	}
	d = expandKeys(d)
	cmps := map[string]map[string]any{}
	raw, _ := d["components"].(map[string]any)
	for key, c := range raw {
		m, ok := c.(map[string]any)
		if !ok {
			t.Fatalf("component %s is %T", key, c)
		}
		cmps[key] = expandKeys(m)
	}
	return d, cmps
}

// TestHomeAssistantDiscoverySchema checks every entity of the discovery
// message field by field against Home Assistant's discovery schema for its
// platform, and renders its templates against the messages the agent
// really publishes on the topics they read: each must give the value the
// message holds (unknown, "None", where a board has no sensor).
func TestHomeAssistantDiscoverySchema(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	cfg.Camera.Loop = true
	cfg.Pipeline.MaxRate = 10
	cfg.MQTT.StatsInterval = 100 * time.Millisecond
	cfg.Thermal.Interval = 100 * time.Millisecond
	topics := TopicsFor(&cfg)
	disc := DiscoveryTopic(&cfg)
	rec := record(t, b.URL, "test-recorder", cfg.MQTT.Prefix+"/#", disc)
	startAgent(t, cfg, Options{Version: "v-test", Thermal: fakeSys(t)})
	waitFor(t, "discovery, labels, state and stats with the temperature", func() bool {
		var st AgentStats
		return rec.last(disc) != nil && rec.last(topics.Labels) != nil && rec.last(topics.State) != nil &&
			json.Unmarshal(rec.last(topics.Stats), &st) == nil && st.Thermal != nil && st.Thermal.TempC == 61.5 &&
			st.InferenceP50Ms > 0
	})
	payloads := map[string]string{topics.Labels: string(rec.last(topics.Labels)), topics.Stats: string(rec.last(topics.Stats)),
		topics.State: string(rec.last(topics.State))}
	device, cmps := discoveryComponents(t, rec.last(disc))

	// The device level (DEVICE_DISCOVERY_SCHEMA).
	deviceKeys := []string{"device", "origin", "components", "availability", "availability_mode", "availability_topic",
		"availability_template", "payload_available", "payload_not_available", "state_topic", "command_topic", "qos", "encoding"}
	for k := range device {
		if !slices.Contains(deviceKeys, k) {
			t.Errorf("device-level key %q is not in Home Assistant's device discovery schema", k)
		}
	}
	for name, keys := range map[string][]string{
		"device": {"identifiers", "connections", "manufacturer", "model", "model_id", "name", "hw_version", "serial_number",
			"sw_version", "via_device", "suggested_area", "configuration_url"},
		"origin": {"name", "sw_version", "support_url"},
	} {
		m, _ := device[name].(map[string]any)
		if m == nil || m["name"] == nil {
			t.Errorf("%s %v has no name", name, device[name])
		}
		for k := range expandKeys(m) {
			if !slices.Contains(keys, k) {
				t.Errorf("%s key %q is not in Home Assistant's schema", name, k)
			}
		}
	}
	if device["availability_topic"] != topics.Status {
		t.Errorf("availability %v", device["availability_topic"])
	}

	// Per entity: its platform, the fields this agent means it to have,
	// and the value its template must render from the real messages.
	var labels LabelsMessage
	var stats AgentStats
	var state Settings
	for topic, v := range map[string]any{topics.Labels: &labels, topics.Stats: &stats, topics.State: &state} {
		if err := json.Unmarshal([]byte(payloads[topic]), v); err != nil {
			t.Fatal(err)
		}
	}
	if stats.Thermal == nil || stats.Thermal.Throttled == nil || !*stats.Thermal.Throttled || stats.Thermal.UnderVoltage == nil {
		t.Fatalf("the fake get_throttled did not reach stats: %+v", stats.Thermal)
	}
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	onOff := func(b *bool) string {
		if b != nil && *b {
			return "ON"
		}
		return "OFF"
	}
	want := map[string]struct {
		platform, topic string
		fields          map[string]any
		value           string  // what the value template renders
		tol             float64 // for a number
	}{
		"label": {"sensor", topics.Labels, map[string]any{"json_attributes_topic": topics.Labels}, labels.Labels[0].Label, 0},
		"score": {"sensor", topics.Labels, map[string]any{"unit_of_measurement": "%", "state_class": "measurement"},
			num(100 * labels.Labels[0].Score), 0.05},
		"inference": {"sensor", topics.Stats, map[string]any{"device_class": "duration", "unit_of_measurement": "ms",
			"state_class": "measurement", "entity_category": "diagnostic"}, num(stats.InferenceP50Ms), 0},
		"fps": {"sensor", topics.Stats, map[string]any{"state_class": "measurement", "entity_category": "diagnostic"},
			num(stats.ClassifiedPerSecond), 1e-6},
		"cpu_temp": {"sensor", topics.Stats, map[string]any{"device_class": "temperature", "unit_of_measurement": "°C",
			"state_class": "measurement", "entity_category": "diagnostic"}, "61.5", 0},
		"throttled": {"binary_sensor", topics.Stats, map[string]any{"device_class": "problem",
			"entity_category": "diagnostic"}, onOff(stats.Thermal.Throttled), 0},
		"under_voltage": {"binary_sensor", topics.Stats, map[string]any{"device_class": "problem",
			"entity_category": "diagnostic"}, onOff(stats.Thermal.UnderVoltage), 0},
		"paused": {"switch", topics.State, map[string]any{"command_topic": topics.Set + "/paused"}, "OFF", 0},
		"threshold": {"number", topics.State, map[string]any{"command_topic": topics.Set + "/threshold", "min": 0.0,
			"max": 1.0, "entity_category": "config"}, num(state.Threshold), 0},
		"rate": {"number", topics.State, map[string]any{"command_topic": topics.Set + "/rate", "min": 0.0,
			"max": float64(maxRateLimit), "mode": "box", "unit_of_measurement": "fps", "entity_category": "config"},
			num(state.MaxRate), 0},
	}
	for key := range cmps {
		if _, ok := want[key]; !ok {
			t.Errorf("component %s: the test does not know it; add what it must render", key)
		}
	}
	var reqs []jinjaRequest
	type check struct {
		key, what, want string
		tol             float64
	}
	var checks []check
	ids := map[any]bool{}
	for key, w := range want {
		c := cmps[key]
		if c == nil {
			t.Errorf("no %s component", key)
			continue
		}
		p, _ := c["platform"].(string)
		schema := haSchemas[p]
		if p != w.platform || schema == nil {
			t.Errorf("component %s: platform %q, want %s", key, p, w.platform)
			continue
		}
		for k := range c {
			if _, ok := schema[k]; !ok {
				t.Errorf("component %s: key %q is not in Home Assistant's %s schema", key, k, p)
			}
		}
		for k, required := range schema {
			if required && c[k] == nil {
				t.Errorf("component %s: %s is required", key, k)
			}
		}
		if id := c["unique_id"]; id == nil || ids[id] || c["name"] == nil {
			t.Errorf("component %s: unique_id %v (taken: %v), name %v", key, id, ids[id], c["name"])
		}
		ids[c["unique_id"]] = true
		for k, v := range w.fields {
			if !reflect.DeepEqual(c[k], v) {
				t.Errorf("component %s: %s is %#v, want %#v", key, k, c[k], v)
			}
		}
		if dc, ok := c["device_class"].(string); ok {
			switch p {
			case "sensor":
				units, known := haSensorUnits[dc]
				if !known || !slices.Contains(units, fmt.Sprint(c["unit_of_measurement"])) {
					t.Errorf("component %s: device class %s with unit %v", key, dc, c["unit_of_measurement"])
				}
			case "binary_sensor":
				if !slices.Contains(haBinaryClasses, dc) {
					t.Errorf("component %s: binary sensor device class %s", key, dc)
				}
			}
		}
		for k, allowed := range map[string][]string{"state_class": haStateClasses, "entity_category": haCategories,
			"mode": haNumberModes} {
			if v, ok := c[k]; ok && !slices.Contains(allowed, fmt.Sprint(v)) {
				t.Errorf("component %s: %s %v", key, k, v)
			}
		}
		if p == "number" {
			lo, _ := c["min"].(float64)
			hi, _ := c["max"].(float64)
			step, _ := c["step"].(float64)
			if !(lo < hi) || step < 1e-3 {
				t.Errorf("component %s: min %v, max %v, step %v", key, c["min"], c["max"], c["step"])
			}
		}
		if c["state_topic"] != w.topic {
			t.Errorf("component %s reads %v, want %s", key, c["state_topic"], w.topic)
			continue
		}
		// The fields the templates read are in the message (this runs
		// without Python too).
		var msg any
		json.Unmarshal([]byte(payloads[w.topic]), &msg)
		for _, k := range []string{"value_template", "json_attributes_template"} {
			tpl, _ := c[k].(string)
			for _, path := range templatePaths(tpl) {
				if _, ok := lookup(msg, path); !ok {
					t.Errorf("component %s: %s reads value_json.%s, which %s does not have: %s", key, k,
						strings.Join(path, "."), w.topic, payloads[w.topic])
				}
			}
		}
		tpl, _ := c["value_template"].(string)
		if tpl == "" {
			t.Errorf("component %s has no value template", key)
			continue
		}
		reqs = append(reqs, jinjaRequest{tpl, payloads[w.topic]})
		checks = append(checks, check{key, "value", w.value, w.tol})
		if w.topic == topics.Stats && strings.Contains(tpl, "thermal") {
			// A board without the sensor: no thermal object in stats.
			var m map[string]any
			json.Unmarshal([]byte(payloads[w.topic]), &m)
			delete(m, "thermal")
			bare, _ := json.Marshal(m)
			reqs = append(reqs, jinjaRequest{tpl, string(bare)})
			checks = append(checks, check{key, "value without a sensor", "None", 0})
		}
		if at, ok := c["json_attributes_template"].(string); ok {
			reqs = append(reqs, jinjaRequest{at, payloads[w.topic]})
			checks = append(checks, check{key, "attributes", "", 0})
		}
	}
	if t.Failed() {
		return
	}
	t.Run("jinja2", func(t *testing.T) {
		out := renderJinja(t, reqs)
		for i, c := range checks {
			got := out[i]
			switch c.what {
			case "attributes":
				var m map[string]any
				if err := json.Unmarshal([]byte(got), &m); err != nil {
					t.Errorf("component %s: attributes %q are not a JSON object: %v", c.key, got, err)
				}
				continue
			}
			if w, err := strconv.ParseFloat(c.want, 64); err == nil {
				g, err := strconv.ParseFloat(got, 64)
				if err != nil || math.Abs(g-w) > c.tol+1e-9 {
					t.Errorf("component %s: %s renders %q, want %s", c.key, c.what, got, c.want)
				}
			} else if got != c.want {
				t.Errorf("component %s: %s renders %q, want %q", c.key, c.what, got, c.want)
			}
		}
	})
}

// haAttributes is what Home Assistant keeps as the attributes of an
// entity with json_attributes_topic for one message: the message itself,
// or what json_attributes_template makes of it. Without Python it is the
// fields the template reads.
func haAttributes(t *testing.T, c map[string]any, payload []byte) string {
	tpl, ok := c["json_attributes_template"].(string)
	if !ok {
		return string(payload)
	}
	var msg any
	json.Unmarshal(payload, &msg)
	var parts []string
	for _, path := range templatePaths(tpl) {
		v, _ := lookup(msg, path)
		parts = append(parts, fmt.Sprintf("%s=%v", strings.Join(path, "."), v))
	}
	return strings.Join(parts, " ")
}

// TestHomeAssistantAttributesSteady: Home Assistant writes a state row to
// its recorder whenever an entity's state or attributes change, so no
// attribute may change between frames whose state is the same (seq, time,
// frame, scores would make one row per frame: 430,000 a day at 5 fps).
// The labels message keeps every documented field for other subscribers.
func TestHomeAssistantAttributesSteady(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	cfg.Camera.Loop = true
	cfg.Pipeline.MaxRate = 50
	topics := TopicsFor(&cfg)
	disc := DiscoveryTopic(&cfg)
	rec := record(t, b.URL, "test-recorder", topics.Labels, disc)
	startAgent(t, cfg, Options{})
	// The sample pictures loop: labels come back, in other frames (on a
	// slow machine, such as under qemu, the newest-frame reader drops most
	// pictures, so a loop need not repeat any: wait for a repeat itself).
	waitFor(t, "a label in two frames", func() bool {
		seen := map[string]bool{}
		for _, m := range rec.labels(t, topics.Labels) {
			if len(m.Labels) > 0 {
				if seen[m.Labels[0].Label] {
					return true
				}
				seen[m.Labels[0].Label] = true
			}
		}
		return false
	})
	_, cmps := discoveryComponents(t, rec.last(disc))
	rec.mu.Lock()
	raw := slices.Clone(rec.byTopic[topics.Labels])
	rec.mu.Unlock()
	var first map[string]any
	if err := json.Unmarshal(raw[0], &first); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"time", "seq", "camera", "frame", "loop", "labels", "inference_ms", "model"} {
		if _, ok := first[k]; !ok {
			t.Errorf("the labels message lost its documented field %s: %s", k, raw[0])
		}
	}
	// Two frames of each top label.
	byLabel := map[string][][]byte{}
	for _, p := range raw {
		var m LabelsMessage
		json.Unmarshal(p, &m)
		if len(m.Labels) > 0 {
			byLabel[m.Labels[0].Label] = append(byLabel[m.Labels[0].Label], p)
		}
	}
	var pairs [][2][]byte
	for _, ps := range byLabel {
		if len(ps) >= 2 {
			pairs = append(pairs, [2][]byte{ps[0], ps[len(ps)-1]})
		}
	}
	if len(pairs) == 0 {
		t.Fatal("no label came twice")
	}
	var reqs []jinjaRequest
	var keys []string
	for key, c := range cmps {
		if c["json_attributes_topic"] != topics.Labels {
			continue
		}
		for _, pair := range pairs {
			if a, b := haAttributes(t, c, pair[0]), haAttributes(t, c, pair[1]); a != b {
				t.Errorf("component %s: attributes change between two frames of the same label:\n%s\n%s", key, a, b)
			}
			if tpl, ok := c["json_attributes_template"].(string); ok {
				reqs = append(reqs, jinjaRequest{tpl, string(pair[0])}, jinjaRequest{tpl, string(pair[1])})
				keys = append(keys, key)
			}
		}
	}
	if len(reqs) == 0 || t.Failed() {
		return
	}
	t.Run("jinja2", func(t *testing.T) {
		out := renderJinja(t, reqs)
		for i := 0; i < len(out); i += 2 {
			if out[i] != out[i+1] {
				t.Errorf("component %s: attributes %s, then %s for the same label", keys[i/2], out[i], out[i+1])
			}
		}
	})
}

// TestChangeModeLabelsRetained: in change mode a label can stand for
// hours, so the last one is retained: Home Assistant restarting (or any
// subscriber connecting later) gets it at once instead of "unknown".
func TestChangeModeLabelsRetained(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	cfg.Camera.Loop = true
	cfg.Pipeline.MaxRate, cfg.Pipeline.Publish, cfg.Pipeline.Hysteresis = 25, "change", 1
	topics := TopicsFor(&cfg)
	rec := record(t, b.URL, "test-recorder", topics.Labels, topics.Status)
	_, stop := startAgent(t, cfg, Options{})
	waitFor(t, "label changes", func() bool { return rec.count(topics.Labels) >= 3 })

	// While it runs, a new subscriber gets the retained one first.
	live := lateSubscriber(t, b.URL, "test-live", topics.Labels)
	waitFor(t, "a message for the new subscriber", func() bool { return live.count() > 0 })
	if m := live.first(); !m.retained {
		t.Errorf("the first labels message to a new subscriber is not retained: %s", m.payload)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "offline", func() bool { return string(rec.last(topics.Status)) == "offline" })

	// After the agent stopped: the last label published, retained.
	late := lateSubscriber(t, b.URL, "test-late", topics.Labels)
	waitFor(t, "the retained label", func() bool { return late.count() > 0 })
	m := late.first()
	if !m.retained || !bytes.Equal(m.payload, rec.last(topics.Labels)) {
		t.Errorf("a late subscriber got %s (retained %v), want the last label %s", m.payload, m.retained,
			rec.last(topics.Labels))
	}
	var l LabelsMessage
	if err := json.Unmarshal(m.payload, &l); err != nil || len(l.Labels) == 0 || l.Seq == 0 {
		t.Errorf("retained label %s: %v", m.payload, err)
	}
}

type flaggedMessage struct {
	payload  []byte
	retained bool
}

// flagSubscriber keeps the messages of one subscription with their retain flag.
type flagSubscriber struct {
	mu   sync.Mutex
	msgs []flaggedMessage
}

func (s *flagSubscriber) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

func (s *flagSubscriber) first() flaggedMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.msgs[0]
}

// lateSubscriber connects a client that subscribes to filter now.
func lateSubscriber(t *testing.T, url, id, filter string) *flagSubscriber {
	t.Helper()
	s := &flagSubscriber{}
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(pahoURL(url)).SetClientID(id).SetOrderMatters(true))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	tok := c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.msgs = append(s.msgs, flaggedMessage{bytes.Clone(m.Payload()), m.Retained()})
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return s
}
