package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
)

// haImageSchema is Home Assistant's MQTT image platform (image.py:
// PLATFORM_SCHEMA_BASE, image_topic and url_topic exclusive) with the
// common keys; schemas.py requires neither topic alone.
var haImageSchema = func() map[string]bool {
	out := map[string]bool{}
	for k := range haSchemas["switch"] {
		out[k] = false
	}
	for _, k := range []string{"command_topic", "retain", "state_topic", "device_class", "optimistic", "payload_off",
		"payload_on", "state_off", "state_on", "value_template"} {
		delete(out, k) // a switch's own
	}
	for _, k := range []string{"content_type", "image_encoding", "image_topic", "url_template", "url_topic"} {
		out[k] = false
	}
	return out
}()

// placesLabels are the labels of camerasExample's two model files.
var placesLabels = map[string][]string{
	"/opt/m/gate.coatnet": {"open", "closed"},
	"m/bins.coatnet":      {"out", "in", "none"},
}

// TestHomeAssistantDiscoveryPlaces: per region of every camera an enum
// sensor of the region's confirmed state whose options are its model's
// labels, and an image of its snapshot; per camera with motion detection
// a motion binary sensor; each keyed and identified by device, camera and
// region, each valid in Home Assistant's schema for its platform, and no
// attribute that changes without the state. The legacy labels topic's
// label and score are not there: a file with cameras: publishes none.
func TestHomeAssistantDiscoveryPlaces(t *testing.T) {
	cfg, err := ParseConfig([]byte(camerasExample))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Device = "yard"
	payload, err := DeviceDiscovery(&cfg, DiscoveryOptions{Model: "gate", Version: "v-test", Labels: placesLabels})
	if err != nil {
		t.Fatal(err)
	}
	device, cmps := discoveryComponents(t, payload)
	if device["availability_topic"] != TopicsFor(&cfg).Status {
		t.Errorf("availability %v", device["availability_topic"])
	}
	id := cfg.ClientID()
	type entity struct {
		platform string
		fields   map[string]any
	}
	want := map[string]entity{
		"drive:motion": {"binary_sensor", map[string]any{"state_topic": MotionTopic(&cfg, "drive"),
			"device_class": "motion", "payload_on": MotionOn, "payload_off": MotionOff}},
	}
	for _, r := range []struct {
		camera, region string
		labels         []string
	}{{"drive", "gate", placesLabels["/opt/m/gate.coatnet"]}, {"drive", "bins", placesLabels["m/bins.coatnet"]},
		{"porch", "step", placesLabels["/opt/m/gate.coatnet"]}} {
		rt := RegionTopicsFor(&cfg, r.camera, r.region)
		opts := make([]any, len(r.labels))
		for i, l := range r.labels {
			opts[i] = l
		}
		want[r.camera+":"+r.region+":state"] = entity{"sensor", map[string]any{"state_topic": rt.State,
			"device_class": "enum", "options": opts, "value_template": "{{ value_json.label }}",
			"json_attributes_topic": rt.State}}
		want[r.camera+":"+r.region+":snapshot"] = entity{"image", map[string]any{"image_topic": rt.Snapshot,
			"content_type": "image/jpeg"}}
	}
	// bins asks for the whole frame too (snapshot.frame).
	want["drive:bins:frame"] = entity{"image", map[string]any{"image_topic": RegionTopicsFor(&cfg, "drive", "bins").Frame,
		"content_type": "image/jpeg"}}
	for _, k := range []string{"inference", "fps", "cpu_temp", "throttled", "under_voltage", "paused", "threshold", "rate"} {
		want[k] = entity{platform: cmps[k]["platform"].(string)} // as for one camera (TestHomeAssistantDiscoverySchema)
	}
	for key := range cmps {
		if _, ok := want[key]; !ok {
			t.Errorf("component %s is not expected (porch has no motion detection; label and score read the legacy labels topic)", key)
		}
	}
	ids := map[any]string{}
	for key, w := range want {
		c := cmps[key]
		if c == nil {
			t.Errorf("no component %s", key)
			continue
		}
		schema := haSchemas[w.platform]
		if w.platform == "image" {
			schema = haImageSchema
		}
		if c["platform"] != w.platform {
			t.Errorf("component %s: platform %v, want %s", key, c["platform"], w.platform)
		}
		for k := range c {
			if _, ok := schema[k]; !ok {
				t.Errorf("component %s: key %q is not in Home Assistant's %s schema", key, k, w.platform)
			}
		}
		for k, required := range schema {
			if required && c[k] == nil {
				t.Errorf("component %s: %s is required", key, k)
			}
		}
		for k, v := range w.fields {
			if !reflect.DeepEqual(c[k], v) {
				t.Errorf("component %s: %s is %#v, want %#v", key, k, c[k], v)
			}
		}
		uid, _ := c["unique_id"].(string)
		if other, taken := ids[uid]; taken || uid != id+"_"+key || c["name"] == nil {
			t.Errorf("component %s: unique_id %q (also %s's), want %q; name %v", key, uid, other, id+"_"+key, c["name"])
		}
		ids[uid] = key
		if w.platform == "sensor" && c["device_class"] == "enum" {
			// Home Assistant refuses an enum sensor with a unit or a
			// state class.
			if c["unit_of_measurement"] != nil || c["state_class"] != nil {
				t.Errorf("component %s: enum with unit %v, state class %v", key, c["unit_of_measurement"], c["state_class"])
			}
		}
	}

	// The state sensors render the label from a real state message, and
	// attributes that change only with the state.
	gate := RegionTopicsFor(&cfg, "drive", "gate")
	state := func(seq uint64, label, previous string, since time.Time) string {
		b, err := json.Marshal(RegionState{Camera: "drive", Region: "gate", Label: label, Score: 0.91, Since: since,
			Previous: previous, Seq: seq, Model: "gate"})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	first, second := state(1, "open", "", now), state(7, "open", "closed", now.Add(time.Hour))
	c := cmps["drive:gate:state"]
	attrs, _ := c["json_attributes_template"].(string)
	for _, path := range templatePaths(attrs) {
		if f := path[0]; f == "seq" || f == "since" || f == "time" || f == "frame" {
			t.Errorf("the state sensor's attributes carry %s, which changes without the state: %s", f, attrs)
		}
	}
	t.Run("jinja2", func(t *testing.T) {
		out := renderJinja(t, []jinjaRequest{{c["value_template"].(string), first}, {attrs, first}, {attrs, second}})
		if out[0] != "open" {
			t.Errorf("the state renders %q, want open", out[0])
		}
		var a map[string]any
		if err := json.Unmarshal([]byte(out[2]), &a); err != nil || a["previous"] != "closed" || a["score"] != 0.91 {
			t.Errorf("attributes %q: %v", out[2], err)
		}
		if err := json.Unmarshal([]byte(out[1]), &a); err != nil || a["previous"] != "" {
			t.Errorf("attributes of the first state %q: %v", out[1], err)
		}
	})
	if gate.State == gate.Snapshot || !strings.HasPrefix(gate.State, cfg.MQTT.Prefix+"/yard/drive/gate/") {
		t.Errorf("topics %+v", gate)
	}
}

// TestHomeAssistantDiscoveryLegacy: without cameras: the message is
// today's whether or not it is asked for through DeviceDiscovery: the
// legacy camera publishes no region state, so it gets no region entities.
func TestHomeAssistantDiscoveryLegacy(t *testing.T) {
	cfg := testConfig(t, "mqtt://127.0.0.1:1")
	old, err := DiscoveryPayload(&cfg, "fmnist", "v1")
	if err != nil {
		t.Fatal(err)
	}
	same, err := DeviceDiscovery(&cfg, DiscoveryOptions{Model: "fmnist", Version: "v1",
		Labels: map[string][]string{cfg.Model.Path: {"a"}}})
	if err != nil || !bytes.Equal(old, same) {
		t.Fatalf("DeviceDiscovery differs from DiscoveryPayload (%v):\n%s\n%s", err, old, same)
	}
	_, oldCmps := discoveryComponents(t, old)
	if oldCmps["label"] == nil || oldCmps["score"] == nil {
		t.Fatalf("no label or score: %v", oldCmps)
	}
	for k := range oldCmps {
		if strings.HasPrefix(k, LegacyCamera+":") {
			t.Errorf("the legacy camera has a region entity %s", k)
		}
	}
}

// TestHomeAssistantDiscoveryPlacesMissingLabels: a region whose model's
// labels are not given is an error naming the region and the model,
// never an enum sensor without options (Home Assistant refuses it).
func TestHomeAssistantDiscoveryPlacesMissingLabels(t *testing.T) {
	cfg, err := ParseConfig([]byte(camerasExample))
	if err != nil {
		t.Fatal(err)
	}
	_, err = DeviceDiscovery(&cfg, DiscoveryOptions{Labels: map[string][]string{"/opt/m/gate.coatnet": {"open"}}})
	if err == nil || !strings.Contains(err.Error(), "cameras.drive.regions.bins") || !strings.Contains(err.Error(), "m/bins.coatnet") {
		t.Errorf("err %v, want one naming cameras.drive.regions.bins and m/bins.coatnet", err)
	}
	if _, err := DiscoveryPayload(&cfg, "m", "v"); err == nil {
		t.Error("DiscoveryPayload of a file with cameras: (no labels) succeeded")
	}
}

// TestHomeAssistantDiscoveryPlacesRetained: the places discovery message
// (about 6 KiB for three regions) goes through the publisher to a real
// mosquitto and comes back, retained, byte for byte.
func TestHomeAssistantDiscoveryPlacesRetained(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg, err := ParseConfig([]byte(camerasExample))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Device, cfg.MQTT.Broker, cfg.StateDir = "yard", b.URL, t.TempDir()
	payload, err := DeviceDiscovery(&cfg, DiscoveryOptions{Model: "gate", Version: "v-test", Labels: placesLabels})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := NewPublisher(ctx, cfg, NewControl(cfg.Pipeline), payload, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	disc := DiscoveryTopic(&cfg)
	var rec *recorder
	waitFor(t, "the retained discovery message", func() bool {
		// A late subscriber: only a retained message reaches it.
		if rec == nil {
			rec = record(t, b.URL, "test-late", disc)
		}
		return rec.last(disc) != nil
	})
	if got := rec.last(disc); !bytes.Equal(got, payload) {
		t.Errorf("the broker gave back %d bytes, not the %d published", len(got), len(payload))
	}
}
