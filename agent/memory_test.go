package agent

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
	"github.com/coatnet-edge/coatnet-edge/model"
)

// fakeMemory makes memAvailable report the value it holds for the rest of
// the test.
func fakeMemory(t *testing.T, bytes int64) *atomic.Int64 {
	var v atomic.Int64
	v.Store(bytes)
	old := memAvailable
	memAvailable = func() (int64, error) { return v.Load(), nil }
	t.Cleanup(func() { memAvailable = old })
	return &v
}

// TestReloadRefusesModelBeyondMemory: a reload to a model that needs more
// memory than the machine has available is refused before it is built,
// with the sizes in the log, and the running model goes on labelling; with
// the memory there, the same reload applies.
func TestReloadRefusesModelBeyondMemory(t *testing.T) {
	avail := fakeMemory(t, 1<<40)
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	cfg.Camera.Loop = true
	cfg.Pipeline.MaxRate = 25
	cfg.Model.Threads = 1
	topics := TopicsFor(&cfg)
	rec := record(t, b.URL, "test-recorder", cfg.MQTT.Prefix+"/#")
	next := cfg
	next.Model.Path = "../models/fmnist-post-int8.coatnet"
	var mu sync.Mutex
	reload := make(chan struct{})
	log, stop := startAgent(t, cfg, Options{Reload: reload, LoadConfig: func() (Config, error) {
		mu.Lock()
		defer mu.Unlock()
		return next, nil
	}})
	waitFor(t, "labels", func() bool { return rec.count(topics.Labels) > 5 })

	m, err := model.Open(next.Model.Path)
	if err != nil {
		t.Fatal(err)
	}
	need := m.Need().Bytes(1)
	m.Close()
	avail.Store(need) // not the margin
	reload <- struct{}{}
	waitFor(t, "the refused reload", func() bool { return strings.Contains(log.String(), "reload failed") })
	if s := log.String(); !strings.Contains(s, "model.path") || !strings.Contains(s, "available") {
		t.Errorf("the log does not say the memory is short:\n%s", s)
	}
	from := rec.count(topics.Labels)
	waitFor(t, "labels of the running model", func() bool { return rec.count(topics.Labels) > from+5 })
	for _, l := range rec.labels(t, topics.Labels) {
		if l.Model != "fmnist-pre" {
			t.Fatalf("message %d is from %q after the refused reload", l.Seq, l.Model)
		}
	}

	avail.Store(1 << 40)
	reload <- struct{}{}
	waitFor(t, "labels of the new model", func() bool {
		msgs := rec.labels(t, topics.Labels)
		return len(msgs) > 0 && msgs[len(msgs)-1].Model == "fmnist-post"
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestStartRefusesModelBeyondMemory: at start, too little memory is an
// error naming model.path, not an out-of-memory kill later.
func TestStartRefusesModelBeyondMemory(t *testing.T) {
	fakeMemory(t, 1<<20)
	cfg := testConfig(t, "mqtt://127.0.0.1:1")
	_, err := openInference(cfg)
	if err == nil || !strings.Contains(err.Error(), "model.path") || !strings.Contains(err.Error(), "available") {
		t.Fatalf("openInference = %v, want a memory error naming model.path", err)
	}
}
