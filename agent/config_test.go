package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultsAreValid(t *testing.T) {
	cfg := Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	got, err := ParseConfig(nil)
	if err != nil {
		t.Fatalf("empty file: %v", err)
	}
	if got != Defaults() {
		t.Errorf("an empty file changed the defaults: %+v", got)
	}
}

func TestParseConfigOverridesDefaults(t *testing.T) {
	cfg, err := ParseConfig([]byte(`
device: porch-cam
model: {path: /opt/m.coatnet, threads: 2}
camera:
  source: rtsp://10.0.0.5/stream
  stall_timeout: 4s
pipeline: {publish: change, hysteresis: 5, threshold: 0.4}
mqtt:
  broker: mqtts://broker.lan:8883
  username: cam
  password_file: /etc/coatnet/password
  labels_qos: 2
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Device != "porch-cam" || cfg.Model.Threads != 2 || cfg.Camera.StallTimeout != 4*time.Second ||
		cfg.Pipeline.Publish != "change" || cfg.Pipeline.Hysteresis != 5 || cfg.MQTT.LabelsQoS != 2 {
		t.Errorf("values not applied: %+v", cfg)
	}
	// Keys the file leaves out keep their defaults, also inside a section.
	d := Defaults()
	if cfg.Camera.ReopenBackoff != d.Camera.ReopenBackoff || cfg.Pipeline.TopK != d.Pipeline.TopK || cfg.MQTT.Prefix != d.MQTT.Prefix {
		t.Errorf("defaults lost: %+v", cfg)
	}
	if cfg.ClientID() != "coatnet-porch-cam" {
		t.Errorf("client id %q", cfg.ClientID())
	}
}

// wantProblems checks that err lists each fragment, and its problem count.
func wantProblems(t *testing.T, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q", fragments)
	}
	msg := err.Error()
	for _, f := range fragments {
		if !strings.Contains(msg, f) {
			t.Errorf("error does not mention %q:\n%s", f, msg)
		}
	}
	if n := strings.Count(msg, "\n  "); n != len(fragments) {
		t.Errorf("%d problems listed, want %d:\n%s", n, len(fragments), msg)
	}
}

func TestUnknownKeysAreAllReported(t *testing.T) {
	_, err := ParseConfig([]byte(`
devcie: x
camera:
  sourse: 0
mqtt:
  broker: mqtt://localhost
  qos: 1
`))
	wantProblems(t, err, "(devcie): field devcie not found", "(camera.sourse): field sourse not found", "(mqtt.qos): field qos not found")
}

func TestWrongTypesAreAllReported(t *testing.T) {
	_, err := ParseConfig([]byte(`
model: {threads: many}
camera: {stall_timeout: soon}
pipeline: {top_k: [1]}
`))
	wantProblems(t, err, "(model.threads): cannot unmarshal !!str `many`", "(camera.stall_timeout): cannot unmarshal !!str `soon`",
		"(pipeline.top_k): cannot unmarshal !!seq")
}

func TestInvalidValuesAreAllReported(t *testing.T) {
	_, err := ParseConfig([]byte(`
device: "front door"
model: {path: "", threads: -1}
camera: {source: " ", stall_timeout: 0s, reopen_backoff: 5s, reopen_backoff_max: 1s}
pipeline: {max_rate: -1, top_k: 0, threshold: 1.5, publish: sometimes, hysteresis: 0}
mqtt:
  broker: http://broker
  client_id: "a/b"
  prefix: "/coatnet/"
  labels_qos: 3
  stats_interval: -1s
  keep_alive: 10ms
  store_limit: 70000
  cert_file: /etc/cert.pem
  password_file: /etc/pw
  discovery_prefix: "#"
state_dir: ""
log_level: loud
cpu_affinity: "3-1"
thermal: {limit_above: 200, resume_below: 250, limited_rate: 0, interval: 1ms}
`))
	wantProblems(t, err, "cpu_affinity:", "thermal.limit_above:", "thermal.resume_below:", "thermal.limited_rate:",
		"thermal.interval:", "device:", "model.path:", "model.threads:", "camera.source:", "camera.stall_timeout:",
		"camera.reopen_backoff_max:", "pipeline.max_rate:", "pipeline.top_k:", "pipeline.threshold:",
		"pipeline.publish:", "pipeline.hysteresis:", "mqtt.broker:", "mqtt.client_id:", "mqtt.prefix:",
		"mqtt.labels_qos:", "mqtt.stats_interval:", "mqtt.keep_alive:", "mqtt.store_limit:", "mqtt.cert_file:",
		"mqtt.password_file:", "mqtt.discovery_prefix:", "state_dir:", "log_level:")
}

func TestMalformedFiles(t *testing.T) {
	for name, text := range map[string]string{
		"two documents": "device: a\n---\ndevice: b\n",
		"not a mapping": "- a\n- b\n",
		"bad syntax":    "device: [a\n",
	} {
		if _, err := ParseConfig([]byte(text)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadConfig(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("a missing file gave no error")
	}
	path := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(path, []byte("pipeline: {top_k: 0}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadConfig(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "pipeline.top_k") {
		t.Errorf("error should name the file and the key: %v", err)
	}
}

// FuzzParseConfig: any input gives a config or an error, never a panic,
// and an accepted config is valid.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("device: a\nmqtt: {broker: mqtt://h:1883}\n"))
	f.Add([]byte("camera: {stall_timeout: 1s}\npipeline: {top_k: [1]}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data)
		if err == nil {
			if verr := cfg.Validate(); verr != nil {
				t.Fatalf("accepted an invalid config: %v", verr)
			}
		}
	})
}

// TestDecodeAndValueProblemsTogether: a file with an unknown key and a
// bad value gets both in one error.
func TestDecodeAndValueProblemsTogether(t *testing.T) {
	_, err := ParseConfig([]byte("devcie: x\npipeline: {top_k: 0}\n"))
	wantProblems(t, err, "(devcie): field devcie not found", "pipeline.top_k: 0 must be in [1, 100]")
}
