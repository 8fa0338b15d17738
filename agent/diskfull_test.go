//go:build linux

package agent

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
)

// smallTmpfs mounts a tmpfs of size ("64k") on a new folder, unmounted when
// the test ends: a disk that fills. Mounting needs root (or CAP_SYS_ADMIN).
func smallTmpfs(t *testing.T, size string) (string, error) {
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		return dir, err
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir, nil
}

// TestDiskFullStateDir runs the agent with its state directory on a 64 KiB
// tmpfs and the broker down, so the QoS 1 labels it queues fill the disk:
// paho's FileStore panics there; the agent must log the failure, count the
// lost messages in stats, keep classifying, and deliver again once the
// broker is back and the store drains, leaving no temporary file of a
// failed write behind. Mounting needs root (or
// CAP_SYS_ADMIN); elsewhere the test is skipped.
func TestDiskFullStateDir(t *testing.T) {
	state, err := smallTmpfs(t, "64k")
	if err != nil {
		t.Skipf("cannot mount a small tmpfs for the state directory: %v", err)
	}

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
	// paho creates o.N.tmp before it writes o.N: a failed write must not
	// leave one behind per lost message.
	tmps, err := filepath.Glob(filepath.Join(state, "mqtt-store", "*.tmp"))
	if err != nil || len(tmps) != 0 {
		t.Errorf("%d temporary files left in the store (%v), e.g. %q", len(tmps), err, tmps[:min(3, len(tmps))])
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

// TestStateDirUnusable: a state_dir the message store cannot be made in,
// or that is read-only while the store's folder already exists there, is
// an error at the start naming state_dir, not mqtt.broker. The read-only
// case mounts a tmpfs (root, or CAP_SYS_ADMIN; skipped elsewhere): a
// chmod does not stop root.
func TestStateDirUnusable(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	run := func(t *testing.T, stateDir string) error {
		cfg := testConfig(t, b.URL)
		cfg.StateDir = stateDir
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		return Run(ctx, cfg, Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	check := func(t *testing.T, err error, want string) {
		t.Helper()
		if err == nil || !strings.HasPrefix(err.Error(), "state_dir: ") || strings.Contains(err.Error(), "mqtt.broker") ||
			!strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want an error naming state_dir and saying %q", err, want)
		}
	}
	t.Run("under a file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		check(t, run(t, filepath.Join(file, "state")), "not a directory")
	})
	t.Run("read-only", func(t *testing.T) {
		state, err := smallTmpfs(t, "64k")
		if err != nil {
			t.Skipf("cannot mount a tmpfs for the state directory: %v", err)
		}
		if err := os.Mkdir(filepath.Join(state, "mqtt-store"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mount("tmpfs", state, "tmpfs", unix.MS_REMOUNT|unix.MS_RDONLY, "size=64k"); err != nil {
			t.Fatalf("remounting read-only: %v", err)
		}
		check(t, run(t, state), "read-only file system")
	})
}
