package agent

import (
	"context"
	"encoding/csv"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
)

// TestRunEndToEnd runs the agent on the shipped int8 demo model with the
// sample pictures as its camera and a real mosquitto: every label message
// reaches a subscriber, numbered without gaps, the labels are as accurate
// as the model is on these pictures, and the clean stop says offline.
func TestRunEndToEnd(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	cfg.Pipeline.MaxRate = 20
	cfg.Pipeline.TopK = 2
	cfg.MQTT.StatsInterval = 200 * time.Millisecond
	sub := subscribe(t, b.URL, cfg.MQTT.Prefix+"/"+cfg.Device+"/#")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := Run(ctx, cfg, Options{}, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "offline", func() bool {
		sub.mu.Lock()
		defer sub.mu.Unlock()
		return len(sub.statuses) > 0 && sub.statuses[len(sub.statuses)-1] == "offline"
	})
	truth := sampleLabels(t)
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if len(sub.labels) == 0 {
		t.Fatal("no labels arrived")
	}
	correct := 0
	for i, l := range sub.labels {
		if l.Seq != uint64(i+1) {
			t.Fatalf("message %d has sequence number %d", i, l.Seq)
		}
		if len(l.Labels) != 2 || l.Model != "fmnist-pre" || l.Frame < 0 || int(l.Frame) >= len(truth) {
			t.Fatalf("message %d: %+v", i, l)
		}
		if l.Labels[0].Label == truth[l.Frame] {
			correct++
		}
	}
	// The model gets 28 of the 30 pictures right; frames replaced by newer
	// ones before classification are skipped, so allow those 2 misses.
	if wrong := len(sub.labels) - correct; wrong > 2 {
		t.Errorf("%d of %d labels wrong", wrong, len(sub.labels))
	}
	if len(sub.stats) == 0 {
		t.Fatal("no stats arrived")
	}
	last := sub.stats[len(sub.stats)-1]
	if last.Classified == 0 || last.FramesRead < last.Classified || last.InferenceP50Ms <= 0 || last.UptimeSeconds <= 0 {
		t.Errorf("last stats: %+v", last)
	}
	t.Logf("%d label messages, %d correct; %d stats messages, the last %+v", len(sub.labels), correct, len(sub.stats), last)
}

// sampleLabels is the true class of each sample picture, in file order.
func sampleLabels(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("../testdata/fashion/labels.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	rows = rows[1:]
	// Folder plays the files in name order; labels.csv lists them by class.
	byName := map[string]string{}
	var names []string
	for _, r := range rows {
		byName[r[0]] = r[2]
		names = append(names, r[0])
	}
	slices.Sort(names)
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = byName[n]
	}
	return out
}

// TestRunBadInput: each problem is one clear error naming its key. (A
// camera that does not open is no such problem: it may come later, see
// TestRunCameraMissingAtStart.)
func TestRunBadInput(t *testing.T) {
	base := testConfig(t, "mqtt://127.0.0.1:1")
	corrupt := t.TempDir() + "/corrupt.coatnet"
	if err := os.WriteFile(corrupt, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		edit func(*Config)
		key  string
	}{
		"missing model": {func(c *Config) { c.Model.Path = "/nonexistent.coatnet" }, "model.path"},
		"corrupt model": {func(c *Config) { c.Model.Path = corrupt }, "model.path"},
		"no broker":     {func(c *Config) {}, "mqtt.broker"},
		"bad value":     {func(c *Config) { c.Pipeline.TopK = 0 }, "pipeline.top_k"},
	} {
		cfg := base
		c.edit(&cfg)
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		err := Run(ctx, cfg, Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		cancel()
		if err == nil || !strings.Contains(err.Error(), c.key) {
			t.Errorf("%s: %v, want an error naming %s", name, err, c.key)
		}
	}
}
