package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
	"github.com/coatnet-edge/coatnet-edge/internal/thermal"
)

// recorder keeps every message of a topic filter, by topic.
type recorder struct {
	mu      sync.Mutex
	client  mqtt.Client
	byTopic map[string][][]byte
}

func record(t *testing.T, url, id string, filters ...string) *recorder {
	t.Helper()
	r := &recorder{byTopic: map[string][][]byte{}}
	opts := mqtt.NewClientOptions().AddBroker(pahoURL(url)).SetClientID(id).SetOrderMatters(true)
	r.client = mqtt.NewClient(opts)
	if tok := r.client.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("recorder connect: %v", tok.Error())
	}
	t.Cleanup(func() { r.client.Disconnect(100) })
	subs := map[string]byte{}
	for _, f := range filters {
		subs[f] = 1
	}
	tok := r.client.SubscribeMultiple(subs, func(_ mqtt.Client, m mqtt.Message) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.byTopic[m.Topic()] = append(r.byTopic[m.Topic()], bytes.Clone(m.Payload()))
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("recorder subscribe: %v", tok.Error())
	}
	return r
}

// count is how many messages arrived on topic.
func (r *recorder) count(topic string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byTopic[topic])
}

// last is the newest message on topic, nil before any.
func (r *recorder) last(topic string) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.byTopic[topic]
	if len(m) == 0 {
		return nil
	}
	return m[len(m)-1]
}

// labels decodes every labels message.
func (r *recorder) labels(t *testing.T, topic string) []LabelsMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []LabelsMessage
	for _, p := range r.byTopic[topic] {
		var l LabelsMessage
		if err := json.Unmarshal(p, &l); err != nil {
			t.Fatalf("labels %q: %v", p, err)
		}
		out = append(out, l)
	}
	return out
}

func (r *recorder) send(t *testing.T, topic, payload string) {
	t.Helper()
	if tok := r.client.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// state is the newest settings on the state topic.
func (r *recorder) state(t *testing.T, topic string) Settings {
	var s Settings
	if p := r.last(topic); p != nil {
		if err := json.Unmarshal(p, &s); err != nil {
			t.Fatalf("state %q: %v", p, err)
		}
	}
	return s
}

// startAgent runs the agent on the looping sample pictures until the test
// ends, and returns its log.
func startAgent(t *testing.T, cfg Config, opts Options) (*syncLog, func() error) {
	t.Helper()
	log := &syncLog{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		err := Run(ctx, cfg, opts, slog.New(slog.NewTextHandler(log, nil)))
		if err != nil {
			log.Write([]byte("Run: " + err.Error() + "\n"))
		}
		done <- err
	}()
	stop := sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			return errors.New("the agent did not stop")
		}
	})
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("agent log:\n%s", log.String())
		}
	})
	return log, stop
}

// noGaps fails unless the messages are numbered 1, 2, ... in order.
func noGaps(t *testing.T, msgs []LabelsMessage) {
	t.Helper()
	for i, m := range msgs {
		if m.Seq != uint64(i+1) {
			t.Fatalf("message %d has sequence number %d", i, m.Seq)
		}
	}
}

// TestCommands drives a running agent through its set topics: pause stops
// the labels and resume restarts them, the threshold filters them, each
// change shows on the retained state topic, and malformed commands are
// each one log line and a count in stats while nothing is lost.
func TestCommands(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	cfg.Camera.Loop = true
	cfg.Pipeline.MaxRate = 25
	cfg.MQTT.StatsInterval = 100 * time.Millisecond
	topics := TopicsFor(&cfg)
	rec := record(t, b.URL, "test-recorder", cfg.MQTT.Prefix+"/#")
	log, stop := startAgent(t, cfg, Options{})

	waitFor(t, "the state", func() bool { return rec.last(topics.State) != nil })
	if s := rec.state(t, topics.State); s != (Settings{Threshold: 0, MaxRate: 25}) {
		t.Fatalf("initial state %+v", s)
	}
	waitFor(t, "labels", func() bool { return rec.count(topics.Labels) > 5 })

	rec.send(t, topics.Set, "pause")
	waitFor(t, "paused in the state", func() bool { return rec.state(t, topics.State).Paused })
	// One frame may have been in the model when the command came.
	time.Sleep(100 * time.Millisecond)
	before := rec.count(topics.Labels)
	time.Sleep(500 * time.Millisecond)
	if n := rec.count(topics.Labels); n != before {
		t.Fatalf("%d labels published while paused", n-before)
	}
	rec.send(t, topics.Set+"/paused", "OFF")
	waitFor(t, "labels after resuming", func() bool { return rec.count(topics.Labels) > before+5 })

	rec.send(t, topics.Set+"/threshold", "0.9")
	waitFor(t, "the threshold in the state", func() bool { return rec.state(t, topics.State).Threshold == 0.9 })
	time.Sleep(100 * time.Millisecond)
	from := rec.count(topics.Labels)
	waitFor(t, "labels after the threshold", func() bool { return rec.count(topics.Labels) > from+10 })
	for _, m := range rec.labels(t, topics.Labels)[from:] {
		for _, l := range m.Labels {
			if l.Score < 0.9 {
				t.Fatalf("message %d has %s at %.3f, under the threshold", m.Seq, l.Label, l.Score)
			}
		}
	}

	bad := []struct{ topic, payload string }{
		{topics.Set, "explode"},
		{topics.Set + "/threshold", "2"},
		{topics.Set + "/rate", "fast"},
		{topics.Set, `{"treshold": 0.5}`},
	}
	states := rec.count(topics.State)
	for _, c := range bad {
		rec.send(t, c.topic, c.payload)
	}
	// Each command, good or bad, is answered on the state topic.
	waitFor(t, "the state after the bad commands", func() bool { return rec.count(topics.State) >= states+len(bad) })
	if s := rec.state(t, topics.State); s != (Settings{Threshold: 0.9, MaxRate: 25}) {
		t.Errorf("bad commands changed the state to %+v", s)
	}
	waitFor(t, "the rejections in stats", func() bool {
		var st AgentStats
		return json.Unmarshal(rec.last(topics.Stats), &st) == nil && st.CommandsRejected == int64(len(bad))
	})
	if n := strings.Count(log.String(), "command ignored"); n != len(bad) {
		t.Errorf("%d log lines for %d bad commands:\n%s", n, len(bad), log.String())
	}

	rec.send(t, topics.Set, `{"max_rate": 50, "threshold": 0}`)
	waitFor(t, "the rate in the state", func() bool { return rec.state(t, topics.State).MaxRate == 50 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "offline", func() bool { return string(rec.last(topics.Status)) == "offline" })
	noGaps(t, rec.labels(t, topics.Labels))
}

// TestHomeAssistantDiscovery: the retained discovery message describes the
// device and its entities, and is sent again when Home Assistant comes
// online.
func TestHomeAssistantDiscovery(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	cfg.Camera.Loop = true
	topic := DiscoveryTopic(&cfg)
	if topic != "homeassistant/device/coatnet-test-cam/config" {
		t.Fatalf("discovery topic %s", topic)
	}
	rec := record(t, b.URL, "test-recorder", "homeassistant/#")
	startAgent(t, cfg, Options{Version: "v-test"})
	waitFor(t, "discovery", func() bool { return rec.count(topic) == 1 })
	var d struct {
		Dev   map[string]any            `json:"dev"`
		O     map[string]any            `json:"o"`
		AvtyT string                    `json:"avty_t"`
		Cmps  map[string]map[string]any `json:"cmps"`
	}
	if err := json.Unmarshal(rec.last(topic), &d); err != nil {
		t.Fatal(err)
	}
	topics := TopicsFor(&cfg)
	if d.AvtyT != topics.Status || d.O["name"] != "coatnet-edge" || d.Dev["sw"] != "v-test" || d.Dev["mdl"] != "fmnist-pre" {
		t.Errorf("device %+v, origin %+v, availability %s", d.Dev, d.O, d.AvtyT)
	}
	ids := map[string]bool{}
	for key, c := range d.Cmps {
		id, _ := c["unique_id"].(string)
		if c["p"] == nil || id == "" || ids[id] {
			t.Errorf("component %s: %+v", key, c)
		}
		ids[id] = true
		if cmd, ok := c["cmd_t"].(string); ok && !strings.HasPrefix(cmd, topics.Set+"/") {
			t.Errorf("component %s commands %s", key, cmd)
		}
	}
	for _, key := range []string{"label", "score", "paused", "threshold", "rate"} {
		if d.Cmps[key] == nil {
			t.Errorf("no %s component", key)
		}
	}
	// A late subscriber gets it too: it is retained.
	late := record(t, b.URL, "test-late", topic)
	waitFor(t, "the retained discovery", func() bool { return late.count(topic) == 1 })

	rec.send(t, "homeassistant/status", "online")
	waitFor(t, "discovery again", func() bool { return rec.count(topic) == 2 })
	rec.send(t, "homeassistant/status", "offline")
	time.Sleep(200 * time.Millisecond)
	if n := rec.count(topic); n != 2 {
		t.Errorf("discovery sent %d times; offline must not trigger it", n)
	}
}

// TestReload applies a new configuration to a running agent: the new model
// labels the frames from then on, the MQTT session and the numbering
// carry on (no offline, no reconnect, no gap), and a configuration that
// does not load leaves the agent running as it was.
func TestReload(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	cfg.Camera.Loop = true
	cfg.Pipeline.MaxRate = 25
	cfg.MQTT.StatsInterval = 100 * time.Millisecond
	topics := TopicsFor(&cfg)
	rec := record(t, b.URL, "test-recorder", cfg.MQTT.Prefix+"/#")

	var mu sync.Mutex
	next := func() (Config, error) { return Config{}, errors.New("config: line 3: bad") }
	reload := make(chan struct{})
	log, stop := startAgent(t, cfg, Options{Reload: reload, LoadConfig: func() (Config, error) {
		mu.Lock()
		defer mu.Unlock()
		return next()
	}})
	waitFor(t, "labels", func() bool { return rec.count(topics.Labels) > 5 })

	// A file that does not load, then one naming a missing model.
	reload <- struct{}{}
	waitFor(t, "the failed reload", func() bool { return strings.Count(log.String(), "reload failed") == 1 })
	mu.Lock()
	next = func() (Config, error) {
		c := cfg
		c.Model.Path = "../models/missing.coatnet"
		return c, nil
	}
	mu.Unlock()
	reload <- struct{}{}
	waitFor(t, "the second failed reload", func() bool { return strings.Count(log.String(), "reload failed") == 2 })
	from := rec.count(topics.Labels)
	waitFor(t, "labels after the failed reloads", func() bool { return rec.count(topics.Labels) > from+5 })

	mu.Lock()
	next = func() (Config, error) {
		c := cfg
		c.Model.Path = "../models/fmnist-post-int8.coatnet"
		c.Pipeline.TopK = 1
		c.Pipeline.Threshold = 0.01
		return c, nil
	}
	mu.Unlock()
	reload <- struct{}{}
	waitFor(t, "labels of the new model", func() bool {
		msgs := rec.labels(t, topics.Labels)
		return len(msgs) > 0 && msgs[len(msgs)-1].Model == "fmnist-post"
	})
	waitFor(t, "the new threshold in the state", func() bool { return rec.state(t, topics.State).Threshold == 0.01 })
	waitFor(t, "the reload in stats", func() bool {
		var st AgentStats
		return json.Unmarshal(rec.last(topics.Stats), &st) == nil && st.Reloads == 1
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "offline", func() bool { return string(rec.last(topics.Status)) == "offline" })
	msgs := rec.labels(t, topics.Labels)
	noGaps(t, msgs)
	switched := false
	for _, m := range msgs {
		if m.Model == "fmnist-post" {
			switched = true
		} else if switched {
			t.Fatalf("message %d is from the old model after the new one", m.Seq)
		}
		if switched && len(m.Labels) > 1 {
			t.Fatalf("message %d has %d labels, the new top_k is 1", m.Seq, len(m.Labels))
		}
	}
	rec.mu.Lock()
	statuses := rec.byTopic[topics.Status]
	rec.mu.Unlock()
	if len(statuses) != 2 || string(statuses[0]) != "online" {
		t.Errorf("status messages %q: the session was dropped", statuses)
	}
	var st AgentStats
	if err := json.Unmarshal(rec.last(topics.Stats), &st); err != nil || st.Reconnects != 0 {
		t.Errorf("stats %+v (%v): the MQTT session reconnected", st, err)
	}
}

// TestThermalLimit: a hot CPU (a fake sysfs) caps the rate, shown on the
// state topic and in stats; cooling below resume_below lifts the cap.
func TestThermalLimit(t *testing.T) {
	sys := t.TempDir()
	zone := filepath.Join(sys, "sys/class/thermal/thermal_zone0")
	if err := os.MkdirAll(zone, 0o755); err != nil {
		t.Fatal(err)
	}
	setTemp := func(milli string) {
		if err := os.WriteFile(filepath.Join(zone, "type"), []byte("cpu-thermal\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(zone, "temp"), []byte(milli+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	setTemp("52000")
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	cfg.Camera.Loop = true
	cfg.Pipeline.MaxRate = 20
	cfg.MQTT.StatsInterval = 100 * time.Millisecond
	cfg.Thermal = ThermalConfig{LimitAbove: 80, ResumeBelow: 70, LimitedRate: 2, Interval: 100 * time.Millisecond}
	topics := TopicsFor(&cfg)
	rec := record(t, b.URL, "test-recorder", cfg.MQTT.Prefix+"/#")
	startAgent(t, cfg, Options{Thermal: thermal.NewRoot(sys)})
	lastStats := func() AgentStats {
		var st AgentStats
		json.Unmarshal(rec.last(topics.Stats), &st)
		return st
	}
	waitFor(t, "the temperature in stats", func() bool {
		st := lastStats()
		return st.Thermal != nil && st.Thermal.TempC == 52
	})
	setTemp("85500")
	waitFor(t, "the thermal limit in the state", func() bool { return rec.state(t, topics.State).ThermalLimit == 2 })
	waitFor(t, "the limit in stats", func() bool { st := lastStats(); return st.Thermal != nil && st.Thermal.Limited })
	// Classification slows to the limited rate (2/s, against 20/s before).
	time.Sleep(300 * time.Millisecond)
	from := rec.count(topics.Labels)
	time.Sleep(1500 * time.Millisecond)
	if n := rec.count(topics.Labels) - from; n > 5 {
		t.Errorf("%d labels in 1.5 s at a limit of 2 a second", n)
	}
	setTemp("75000") // below limit_above, above resume_below: still limited
	time.Sleep(300 * time.Millisecond)
	if s := rec.state(t, topics.State); s.ThermalLimit != 2 {
		t.Errorf("the limit was lifted above resume_below: %+v", s)
	}
	setTemp("65000")
	waitFor(t, "the limit lifted", func() bool { return rec.state(t, topics.State).ThermalLimit == 0 })
	// Faster than the limit again: at 2 a second, 8 labels take at least
	// 3.5 s; at 20 a second 0.35 s, which leaves a busy machine room.
	from, lifted := rec.count(topics.Labels), time.Now()
	waitFor(t, "8 labels after cooling down", func() bool { return rec.count(topics.Labels)-from >= 8 })
	if d := time.Since(lifted); d >= 3500*time.Millisecond {
		t.Errorf("8 labels took %v after cooling down: still limited to 2 a second?", d)
	}
}

// TestCameraGoneAndBack: a camera that disappears (its folder moved away)
// is reported in the log and in stats while the agent stays up, and is
// reopened with back-off once it is back.
func TestCameraGoneAndBack(t *testing.T) {
	dir := t.TempDir()
	pictures := filepath.Join(dir, "camera")
	if err := os.CopyFS(pictures, os.DirFS("../testdata/fashion")); err != nil {
		t.Fatal(err)
	}
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	cfg.Camera = CameraConfig{Source: pictures, Loop: true, StallTimeout: 300 * time.Millisecond,
		ReopenBackoff: 50 * time.Millisecond, ReopenBackoffMax: 200 * time.Millisecond}
	cfg.Pipeline.MaxRate = 50
	cfg.MQTT.StatsInterval = 100 * time.Millisecond
	topics := TopicsFor(&cfg)
	rec := record(t, b.URL, "test-recorder", topics.Labels, topics.Stats)
	log, stop := startAgent(t, cfg, Options{})
	stats := func() AgentStats {
		var st AgentStats
		json.Unmarshal(rec.last(topics.Stats), &st)
		return st
	}
	waitFor(t, "labels", func() bool { return rec.count(topics.Labels) > 5 })
	if err := os.Rename(pictures, pictures+".away"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stall in stats", func() bool { st := stats(); return st.CameraStalled && st.CameraStalls > 0 })
	if !strings.Contains(log.String(), "camera failed, reopening") {
		t.Errorf("the failure was not logged:\n%s", log.String())
	}
	if err := os.Rename(pictures+".away", pictures); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the camera back in stats", func() bool { st := stats(); return !st.CameraStalled && st.CameraReopens > 0 })
	from := rec.count(topics.Labels)
	waitFor(t, "labels again", func() bool { return rec.count(topics.Labels) > from+5 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	noGaps(t, rec.labels(t, topics.Labels))
}

// TestEmbeddedBrokerDefault: with no mqtt.broker the agent runs its own
// broker on mqtt.embedded_listen; where a broker already listens there
// (Debian's mosquitto on 1883), it uses that one instead.
func TestEmbeddedBrokerDefault(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := l.Addr().String()
	l.Close()
	cfg := testConfig(t, "")
	cfg.MQTT.Broker, cfg.MQTT.EmbeddedListen = "", free
	cfg.Camera.Loop = true
	topics := TopicsFor(&cfg)
	log, stop := startAgent(t, cfg, Options{})
	waitFor(t, "the embedded broker", func() bool { return strings.Contains(log.String(), "embedded MQTT broker listening") })
	rec := record(t, "mqtt://"+free, "test-recorder", topics.Labels)
	waitFor(t, "labels through the embedded broker", func() bool { return rec.count(topics.Labels) > 3 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	b := mqtttest.Start(t, mqtttest.Options{})
	cfg.MQTT.EmbeddedListen = fmt.Sprintf("127.0.0.1:%d", b.Port)
	cfg.StateDir = t.TempDir()
	rec = record(t, b.URL, "test-recorder-2", topics.Labels)
	log, _ = startAgent(t, cfg, Options{})
	waitFor(t, "labels through the broker already there", func() bool { return rec.count(topics.Labels) > 3 })
	if !strings.Contains(log.String(), "using the MQTT broker already listening there") {
		t.Errorf("the fallback was not logged:\n%s", log.String())
	}
}
