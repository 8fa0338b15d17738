//go:build linux

package agent

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/coatnet-edge/coatnet-edge/internal/mqtttest"
)

// TestDiskFullStateDir runs the agent with its state directory on a 64 KiB
// tmpfs and the broker down, so the QoS 1 labels it queues fill the disk:
// paho's FileStore panics there; the agent must log the failure, count the
// lost messages in stats, keep classifying, and deliver again once the
// broker is back and the store drains. Mounting needs root (or
// CAP_SYS_ADMIN); elsewhere the test is skipped.
func TestDiskFullStateDir(t *testing.T) {
	state := t.TempDir()
	if err := unix.Mount("tmpfs", state, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("cannot mount a small tmpfs for the state directory: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(state, unix.MNT_DETACH) })

	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	cfg.StateDir = state
	cfg.Camera.Loop = true
	cfg.Pipeline.MaxRate = 100
	cfg.MQTT.StatsInterval = 200 * time.Millisecond
	cfg.MQTT.Discovery = false
	topics := TopicsFor(&cfg)
	rec := record(t, b.URL, "test-recorder", topics.Labels, topics.Stats)
	log, stop := startAgent(t, cfg, Options{})
	waitFor(t, "labels", func() bool { return rec.count(topics.Labels) > 10 })

	b.Kill()
	waitFor(t, "the store failing", func() bool { return strings.Contains(log.String(), "no space left on device") })
	time.Sleep(500 * time.Millisecond) // classification goes on meanwhile
	b.Start()
	rec2 := record(t, b.URL, "test-recorder-2", topics.Labels, topics.Stats)
	var st AgentStats
	waitFor(t, "stats counting the lost messages after the broker is back", func() bool {
		return json.Unmarshal(rec2.last(topics.Stats), &st) == nil && st.StoreDropped > 0
	})
	from := rec2.count(topics.Labels)
	waitFor(t, "labels again", func() bool { return rec2.count(topics.Labels) > from+20 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(log.String(), "panic") {
		t.Errorf("a panic was logged:\n%s", log.String())
	}
	// One line per 10 s, not one per lost message.
	if n := strings.Count(log.String(), "no space left"); n != 1 {
		t.Errorf("%d log lines for %d lost messages", n, st.StoreDropped)
	}
	line := ""
	for l := range strings.Lines(log.String()) {
		if strings.Contains(l, "no space left") {
			line = l
			break
		}
	}
	t.Logf("stats after recovery: store dropped %d, classified %d, published %d; the log said: %s",
		st.StoreDropped, st.Classified, st.Published, line)
}
