package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
)

// statsField decodes one field of a stats payload (nil: absent).
func statsField(p []byte, key string) any {
	var m map[string]any
	if json.Unmarshal(p, &m) != nil {
		return nil
	}
	return m[key]
}

// copyPictures puts the sample pictures at dir in one step (a rename), so
// that a camera reading dir never sees half of them.
func copyPictures(t *testing.T, dir string) {
	t.Helper()
	tmp := dir + ".tmp"
	if err := os.CopyFS(tmp, os.DirFS("../testdata/fashion")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		t.Fatal(err)
	}
}

// TestRunCameraMissingAtStart: a camera that is not there at the start (a
// folder created later) does not stop the agent: it connects, says online
// and reports the camera unavailable in stats, and labels flow once the
// camera appears.
func TestRunCameraMissingAtStart(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	pictures := filepath.Join(t.TempDir(), "camera")
	cfg.Camera = CameraConfig{Source: pictures, Loop: true, StallTimeout: time.Second,
		ReopenBackoff: 50 * time.Millisecond, ReopenBackoffMax: 200 * time.Millisecond}
	cfg.Pipeline.MaxRate = 20
	cfg.MQTT.StatsInterval = 100 * time.Millisecond
	topics := TopicsFor(&cfg)
	rec := record(t, b.URL, "test-recorder", topics.Labels, topics.Stats, topics.Status)
	log, stop := startAgent(t, cfg, Options{})
	waitFor(t, "online", func() bool { return string(rec.last(topics.Status)) == "online" })
	waitFor(t, "the camera unavailable in stats", func() bool {
		p := rec.last(topics.Stats)
		return statsField(p, "camera_available") == false && statsField(p, "camera_stalled") == true
	})
	if !strings.Contains(log.String(), "camera unavailable") {
		t.Errorf("the missing camera was not logged:\n%s", log)
	}
	if n := rec.count(topics.Labels); n != 0 {
		t.Fatalf("%d labels without a camera", n)
	}
	copyPictures(t, pictures)
	waitFor(t, "labels once the camera is there", func() bool { return rec.count(topics.Labels) > 5 })
	waitFor(t, "the camera available in stats", func() bool {
		p := rec.last(topics.Stats)
		return statsField(p, "camera_available") == true && statsField(p, "camera_stalled") == false
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "offline", func() bool { return string(rec.last(topics.Status)) == "offline" })
	noGaps(t, rec.labels(t, topics.Labels))
}

// TestReloadCameraGone: a reload while the camera is gone, to a camera
// that does not open either, keeps the agent running: the running camera
// is retried in the background and labels flow again once it is back.
func TestReloadCameraGone(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	dir := t.TempDir()
	pictures := filepath.Join(dir, "camera")
	copyPictures(t, pictures)
	cfg.Camera = CameraConfig{Source: pictures, Loop: true, StallTimeout: time.Second,
		ReopenBackoff: 50 * time.Millisecond, ReopenBackoffMax: 200 * time.Millisecond}
	cfg.Pipeline.MaxRate = 20
	cfg.MQTT.StatsInterval = 100 * time.Millisecond
	topics := TopicsFor(&cfg)
	rec := record(t, b.URL, "test-recorder", topics.Labels, topics.Stats, topics.Status)
	reload := make(chan struct{})
	next := cfg
	next.Camera.Source = filepath.Join(dir, "other-camera")
	log, stop := startAgent(t, cfg, Options{Reload: reload, LoadConfig: func() (Config, error) { return next, nil }})
	waitFor(t, "labels", func() bool { return rec.count(topics.Labels) > 5 })
	if err := os.Rename(pictures, pictures+".away"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the camera stalled in stats", func() bool {
		return statsField(rec.last(topics.Stats), "camera_stalled") == true
	})
	reload <- struct{}{}
	waitFor(t, "the reload", func() bool { return strings.Contains(log.String(), "configuration reloaded") })
	if !strings.Contains(log.String(), "going back to the old one") {
		t.Errorf("the failed new camera was not logged:\n%s", log)
	}
	if err := os.Rename(pictures+".away", pictures); err != nil {
		t.Fatal(err)
	}
	from := rec.count(topics.Labels)
	waitFor(t, "labels once the camera is back", func() bool { return rec.count(topics.Labels) > from+5 })
	if err := stop(); err != nil {
		t.Fatalf("the agent exited: %v", err)
	}
	if strings.Contains(log.String(), "Run: ") {
		t.Errorf("Run ended with an error:\n%s", log)
	}
}

// TestRunQueuesBeforeFirstConnection: with the broker down at the start,
// the agent classifies from its first frame and keeps the QoS 1 labels in
// its store; once the broker is there every one is delivered, the first
// message being the first frame.
func TestRunQueuesBeforeFirstConnection(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	cfg.Camera.Loop = true
	cfg.Pipeline.MaxRate = 20
	cfg.LogLabels = true
	sub := subscribe(t, b.URL, cfg.MQTT.Prefix+"/"+cfg.Device+"/labels")
	// mosquitto saves its database after every change; once it holds the
	// subscription, the subscriber's session survives the kill.
	filter := cfg.MQTT.Prefix + "/" + cfg.Device + "/labels"
	waitFor(t, "the subscription saved", func() bool {
		db, err := os.ReadFile(filepath.Join(b.Dir, "mosquitto.db"))
		return err == nil && bytes.Contains(db, []byte(filter))
	})
	b.Kill()
	log, stop := startAgent(t, cfg, Options{})
	const n = 10
	waitFor(t, "labels classified with the broker down", func() bool { return strings.Contains(log.String(), "seq="+strconv.Itoa(n)+" ") })
	b.Start()
	deadline := time.Now().Add(30 * time.Second)
	for len(sub.missing(n)) != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if m := sub.missing(n); len(m) != 0 {
		sub.mu.Lock()
		t.Fatalf("missing %v; got %d labels", m, len(sub.labels))
	}
	sub.mu.Lock()
	for _, l := range sub.labels {
		if l.Seq == 1 && l.Frame != 0 {
			t.Errorf("the first message is frame %d, not the first frame", l.Frame)
		}
	}
	sub.mu.Unlock()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "mqtt: cannot connect; retrying") {
		t.Errorf("the failed connects were not logged:\n%s", log)
	}
}

// TestRunFinalStats: the last stats message, published after the pipeline
// drained at a clean end, has the counts of the final log line: every
// label the subscriber got.
func TestRunFinalStats(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL) // 30 pictures, once
	cfg.Pipeline.MaxRate = 50
	cfg.MQTT.StatsInterval = time.Hour // only the final one
	sub := subscribe(t, b.URL, cfg.MQTT.Prefix+"/"+cfg.Device+"/#")
	log := &syncLog{}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := Run(ctx, cfg, Options{}, slog.New(slog.NewTextHandler(log, nil))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "offline", func() bool {
		sub.mu.Lock()
		defer sub.mu.Unlock()
		return len(sub.statuses) > 0 && sub.statuses[len(sub.statuses)-1] == "offline"
	})
	m := regexp.MustCompile(`msg="agent stopped" classified=(\d+) published=(\d+)`).FindStringSubmatch(log.String())
	if m == nil {
		t.Fatalf("no final log line:\n%s", log)
	}
	classified, _ := strconv.Atoi(m[1])
	published, _ := strconv.Atoi(m[2])
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if len(sub.stats) == 0 {
		t.Fatalf("no stats arrived; the log says classified=%d published=%d", classified, published)
	}
	last := sub.stats[len(sub.stats)-1]
	if last.Classified != int64(classified) || last.Published != int64(published) || len(sub.labels) != published {
		t.Errorf("last stats classified=%d published=%d, the log %d and %d, %d labels received",
			last.Classified, last.Published, classified, published, len(sub.labels))
	}
}
