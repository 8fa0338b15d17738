package agent

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
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
	if !reflect.DeepEqual(got, Defaults()) {
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
	wantProblems(t, err, "line 2: devcie: unknown key; did you mean device?",
		"line 4: camera.sourse: unknown key; did you mean source?", "line 7: mqtt.qos: unknown key; did you mean labels_qos?")
}

func TestWrongTypesAreAllReported(t *testing.T) {
	_, err := ParseConfig([]byte(`
model: {threads: many}
camera: {stall_timeout: soon}
pipeline: {top_k: [1]}
`))
	wantProblems(t, err, `line 2: model.threads: want an integer, not "many"`,
		`line 3: camera.stall_timeout: want a duration such as 10s, not "soon"`, "line 4: pipeline.top_k: want an integer, not a list")
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
	f.Add([]byte("camera: {<<: [{loop: false}, *a], stall_timeout: 10, stall_timeout: 1s}\nx: &a {y: 1}\n"))
	f.Add([]byte("model:\n  thread: 2\n  path: {p: 1}\n? [k]\n: v\n"))
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
	wantProblems(t, err, "line 1: devcie: unknown key; did you mean device?", "line 2: pipeline.top_k: 0 must be in [1, 100]")
}

// TestProblemsSpeakConfig: each problem names its dotted key and its line
// and says what is wanted, in the file's terms rather than Go's.
func TestProblemsSpeakConfig(t *testing.T) {
	for name, c := range map[string]struct {
		text  string
		wants []string
	}{
		"misspelt key": {"model:\n  path: demo\n  thread: 2\n",
			[]string{"line 3: model.thread: unknown key; did you mean threads?"}},
		"key in the wrong section": {"threads: 2\ncamera: {max_rate: 3}\n",
			[]string{"line 1: threads: unknown key; did you mean model.threads?",
				"line 2: camera.max_rate: unknown key; did you mean pipeline.max_rate?"}},
		"a number for a duration": {"camera:\n  stall_timeout: 10\n",
			[]string{`line 2: camera.stall_timeout: want a duration such as 10s, not "10"`}},
		// Each key of a flow-style line on its own, naming only itself.
		"flow style": {"device: cam\ncamera: {stall_timeout: 10, lop: true, source: [0]}\n",
			[]string{`line 2: camera.stall_timeout: want a duration such as 10s, not "10"`,
				"line 2: camera.lop: unknown key; did you mean loop?",
				"line 2: camera.source: want a string, not a list"}},
		// An unknown section is one problem, not one per key inside it.
		"unknown sections": {"mqtt:\n  tls:\n    ca: x\n    cert: y\ncmaera:\n  source: 0\n",
			[]string{"line 2: mqtt.tls: unknown key (the keys here: broker, embedded_listen,",
				"line 5: cmaera: unknown key; did you mean camera?"}},
		"a list for a section": {"camera: [0]\nthermal: 80\n",
			[]string{"line 1: camera: want a mapping of keys, not a list",
				`line 2: thermal: want a mapping of keys, not "80"`}},
		"a mapping for a value": {"pipeline:\n  top_k: {a: 1}\nlog_labels: maybe\nmodel: {path: {x: 1}}\n",
			[]string{"line 2: pipeline.top_k: want an integer, not a mapping",
				`line 3: log_labels: want true or false, not "maybe"`,
				"line 4: model.path: want a string, not a mapping"}},
		"a key set twice": {"camera:\n  source: a\n  source: b\n",
			[]string{"line 3: camera.source: set twice (first on line 2)"}},
		"a key that is not a name": {"? [a, b]\n: 1\n",
			[]string{"line 1: a key must be a name, not a list"}},
		"not a mapping": {"- a\n- b\n",
			[]string{"line 1: want a mapping of keys, not a list"}},
		// Invalid values name the line that sets them.
		"invalid value": {"device: cam\npipeline:\n  top_k: 0\n",
			[]string{"line 3: pipeline.top_k: 0 must be in [1, 100]"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseConfig([]byte(c.text))
			if err == nil {
				t.Fatalf("accepted:\n%s", c.text)
			}
			msg := err.Error()
			for _, w := range c.wants {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not say %q:\n%s", w, msg)
				}
			}
			lines := strings.Split(msg, "\n")
			if len(lines) > 1 {
				lines = lines[1:] // "config: N problems:"
			}
			if len(lines) != len(c.wants) {
				t.Errorf("%d problems, want %d:\n%s", len(lines), len(c.wants), msg)
			}
			for _, l := range lines {
				// One key per problem; no Go types or decoder words.
				if n := strings.Count(l, ": "); n > 3 {
					t.Errorf("%q: more than one key?", l)
				}
				for _, goSpeak := range []string{"unmarshal", "time.Duration", "agent.", "!!", "not found in type"} {
					if strings.Contains(l, goSpeak) {
						t.Errorf("%q speaks Go (%q)", l, goSpeak)
					}
				}
			}
		})
	}
}

// TestEveryFieldIsAKey: the keys come from the struct, so a file setting
// every field (as yaml writes Defaults) is accepted and changes nothing;
// a field added later is a key without further work.
func TestEveryFieldIsAKey(t *testing.T) {
	text, err := yaml.Marshal(Defaults())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig(text)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if !reflect.DeepEqual(cfg, Defaults()) {
		t.Errorf("a file of the defaults changed them:\n%s", text)
	}
	for _, key := range []string{"device:", "model:", "    threads:", "    stall_timeout:", "    discovery_prefix:"} {
		if !bytes.Contains(text, []byte("\n"+key)) && !bytes.HasPrefix(text, []byte(key)) {
			t.Errorf("no %q in\n%s", key, text)
		}
	}
}

// TestMergeKeysAndAliases: YAML's anchors, aliases and merge keys work,
// and aliases cannot make the work grow without bound.
func TestMergeKeysAndAliases(t *testing.T) {
	if _, err := ParseConfig([]byte("x: &t {stall_timeout: 3s}\n")); err == nil || !strings.Contains(err.Error(), "line 1: x: unknown key") {
		t.Errorf("an anchor on an unknown key: %v", err)
	}
	cfg, err := ParseConfig([]byte("thermal: &th {limit_above: 70, resume_below: 60}\n" +
		"camera:\n  <<: {stall_timeout: 3s, reopen_backoff: 2s}\n  reopen_backoff: 4s\n  reopen_backoff_max: &m 8s\n" +
		"mqtt: {keep_alive: *m}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Camera.StallTimeout != 3*time.Second || cfg.Camera.ReopenBackoff != 4*time.Second ||
		cfg.MQTT.KeepAlive != 8*time.Second || cfg.Thermal.LimitAbove != 70 {
		t.Errorf("merge or alias not applied: %+v", cfg)
	}
	// Each level aliases the one before ten times: 10^6 mappings to merge.
	var b strings.Builder
	b.WriteString("a0: &a0 {x: 1}\n")
	for i := 1; i <= 6; i++ {
		fmt.Fprintf(&b, "a%d: &a%d {<<: [", i, i)
		for j := 0; j < 10; j++ {
			fmt.Fprintf(&b, "*a%d, ", i-1)
		}
		b.WriteString("]}\n")
	}
	b.WriteString("camera: {<<: *a6}\n")
	if _, err := ParseConfig([]byte(b.String())); err == nil || !strings.Contains(err.Error(), "aliases") {
		t.Errorf("alias bomb: %v", err)
	}
}

// TestBadBytes: binary, non-UTF-8 and huge input is a plain error.
func TestBadBytes(t *testing.T) {
	for name, data := range map[string][]byte{
		"binary":    {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0},
		"latin-1":   []byte("device: caf\xe9\n"),
		"nul":       []byte("device: a\x00b\n"),
		"too large": append([]byte("device: a\n"), bytes.Repeat([]byte("# padding padding padding\n"), 50000)...),
	} {
		_, err := ParseConfig(data)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if name == "latin-1" && !strings.Contains(err.Error(), "line 1: not UTF-8 text") {
			t.Errorf("%s: %v", name, err)
		}
		if name == "too large" && !strings.Contains(err.Error(), "over the 1 MiB") {
			t.Errorf("%s: %v", name, err)
		}
	}
	// LoadConfig reads no more than the limit from a file that never ends.
	done := make(chan error, 1)
	go func() { _, err := LoadConfig("/dev/zero"); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "/dev/zero") {
			t.Errorf("/dev/zero: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("LoadConfig(/dev/zero) still reading after 60 s")
	}
}

// TestHTTPConfig: http: defaults to the loopback page, "" turns it off,
// and every bad value is reported with its key.
func TestHTTPConfig(t *testing.T) {
	d := Defaults()
	if d.HTTP.Listen != "127.0.0.1:8080" || d.HTTP.StreamFPS != 5 || d.HTTP.MaxStreams != 8 ||
		d.HTTP.MaxConnections != 64 || d.HTTP.AuthFile != "" || d.HTTP.PublicURL != "" {
		t.Errorf("defaults %+v", d.HTTP)
	}
	cfg, err := ParseConfig([]byte("http: {listen: \"\", stream_fps: 2.5}\n"))
	if err != nil || cfg.HTTP.Listen != "" || cfg.HTTP.StreamFPS != 2.5 || cfg.HTTP.MaxStreams != 8 {
		t.Errorf("off: %+v, %v", cfg.HTTP, err)
	}
	cfg, err = ParseConfig([]byte("http:\n  listen: \"[::]:80\"\n  auth_file: /etc/coatnet/http-auth\n" +
		"  public_url: https://porch.example/coatnet/\n  max_streams: 2\n  max_connections: 4\n"))
	if err != nil || cfg.HTTP.Listen != "[::]:80" || cfg.HTTP.AuthFile != "/etc/coatnet/http-auth" ||
		cfg.HTTP.PublicURL != "https://porch.example/coatnet/" || cfg.HTTP.MaxStreams != 2 || cfg.HTTP.MaxConnections != 4 {
		t.Errorf("set: %+v, %v", cfg.HTTP, err)
	}
	_, err = ParseConfig([]byte(`
http: {listen: "8080", public_url: "ftp://x/", stream_fps: 0, max_streams: 0, max_connections: 1}
`))
	wantProblems(t, err, "http.listen:", "http.public_url:", "http.stream_fps:", "http.max_streams:",
		"http.max_connections:")
	for _, bad := range []string{`{listen: "127.0.0.1:http"}`, `{listen: "127.0.0.1:70000"}`, `{stream_fps: 31}`,
		`{stream_fps: .nan}`, `{public_url: "https://user:pw@host/"}`, `{public_url: "/page"}`,
		`{max_streams: 64}`, `{max_connections: 5000}`} {
		if _, err := ParseConfig([]byte("http: " + bad + "\n")); err == nil || !strings.Contains(err.Error(), "http.") {
			t.Errorf("http: %s: %v", bad, err)
		}
	}
}
