package agent

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
)

// TestCollectWholeFramesDiskFull runs the agent with pipeline.collect
// keeping every frame and its state directory on a 2 MiB tmpfs, under the
// 64 MiB the collector leaves to the message store: every sample is
// dropped and counted in stats, logged once, and the labels flow on; no
// picture or unfinished write is left. Mounting needs root (or
// CAP_SYS_ADMIN); elsewhere the test is skipped.
func TestCollectWholeFramesDiskFull(t *testing.T) {
	state, err := smallTmpfs(t, "2m")
	if err != nil {
		t.Skipf("cannot mount a small tmpfs for the state directory: %v", err)
	}
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	cfg.StateDir = state
	cfg.Camera.Loop = true
	cfg.Pipeline.MaxRate = 50
	cfg.Pipeline.Collect.Below = 1
	cfg.MQTT.StatsInterval = 100 * time.Millisecond
	topics := TopicsFor(&cfg)
	rec := record(t, b.URL, "test-recorder", topics.Labels, topics.Stats)
	log, stop := startAgent(t, cfg, Options{})
	var st AgentStats
	waitFor(t, "dropped samples in stats", func() bool {
		return json.Unmarshal(rec.last(topics.Stats), &st) == nil && st.CollectDropped >= 20
	})
	from := rec.count(topics.Labels)
	waitFor(t, "labels going on", func() bool { return rec.count(topics.Labels) > from+20 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if st.Collected != 0 {
		t.Errorf("%d collected on a full disk", st.Collected)
	}
	if files := collectFiles(t, filepath.Join(state, "collect")); len(files) != 0 {
		t.Errorf("files left: %v", files)
	}
	if n := strings.Count(log.String(), "collect: cannot keep a sample"); n != 1 {
		t.Errorf("%d log lines for %d dropped samples:\n%s", n, st.CollectDropped, log)
	}
}
