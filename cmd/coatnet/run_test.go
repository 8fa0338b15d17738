package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/coatnet-edge/coatnet-edge/internal/mqtttest"
)

// TestMain lets a test run this binary as the coatnet command itself
// (COATNET_AS_MAIN=1), so signals reach a real process.
func TestMain(m *testing.M) {
	if os.Getenv("COATNET_AS_MAIN") == "1" {
		os.Args = append([]string{"coatnet"}, strings.Fields(os.Getenv("COATNET_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// watcher records the retained state and status and counts labels.
type watcher struct {
	mu             sync.Mutex
	statuses       []string
	state          string
	labels, models map[string]int
}

func watch(t *testing.T, url, filter string) *watcher {
	t.Helper()
	w := &watcher{labels: map[string]int{}, models: map[string]int{}}
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(strings.Replace(url, "mqtt://", "tcp://", 1)).
		SetClientID("test-watcher").SetOrderMatters(true))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	tok := c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		w.mu.Lock()
		defer w.mu.Unlock()
		switch {
		case strings.HasSuffix(m.Topic(), "/status"):
			w.statuses = append(w.statuses, string(m.Payload()))
		case strings.HasSuffix(m.Topic(), "/state"):
			w.state = string(m.Payload())
		case strings.HasSuffix(m.Topic(), "/labels"):
			var l struct{ Model string }
			json.Unmarshal(m.Payload(), &l)
			w.models[l.Model]++
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return w
}

func (w *watcher) until(t *testing.T, what string, cond func(w *watcher) bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		w.mu.Lock()
		ok := cond(w)
		w.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRunSignals runs `coatnet run --config FILE` as a process: SIGHUP
// reloads the file (a new model and threshold, the MQTT session kept),
// SIGTERM publishes offline and exits with status 0.
func TestRunSignals(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	dir := t.TempDir()
	config := filepath.Join(dir, "agent.yaml")
	write := func(model string, threshold float64) {
		text := fmt.Sprintf("device: sig-cam\nstate_dir: %s\nmodel: {path: %s, threads: 1}\n"+
			"camera: {source: %s, loop: true}\npipeline: {max_rate: 20, threshold: %v}\nmqtt: {broker: %q}\n",
			dir, model, abs(t, "../../testdata/fashion"), threshold, b.URL)
		if err := os.WriteFile(config, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(abs(t, "../../models/fmnist-pre-int8.coatnet"), 0)
	w := watch(t, b.URL, "coatnet/sig-cam/#")

	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "COATNET_AS_MAIN=1", "COATNET_ARGS=run --config "+config)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		if errors.Is(err, syscall.ENOEXEC) {
			// Under qemu-user without binfmt_misc an arm64 test binary
			// cannot start itself again.
			t.Skipf("cannot re-execute the test binary here: %v", err)
		}
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	w.until(t, "labels of the first model", func(w *watcher) bool { return w.models["fmnist-pre"] > 3 })

	write(abs(t, "../../models/fmnist-post-int8.coatnet"), 0.25)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	w.until(t, "labels of the reloaded model", func(w *watcher) bool { return w.models["fmnist-post"] > 3 })
	w.until(t, "the reloaded threshold", func(w *watcher) bool { return strings.Contains(w.state, `"threshold":0.25`) })

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit 30 s after SIGTERM\n%s", stderr.String())
	}
	w.until(t, "offline", func(w *watcher) bool { return len(w.statuses) > 0 && w.statuses[len(w.statuses)-1] == "offline" })
	w.mu.Lock()
	defer w.mu.Unlock()
	if online := strings.Count(strings.Join(w.statuses, " "), "online"); online != 1 {
		t.Errorf("statuses %q: the reload dropped the MQTT session", w.statuses)
	}
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "level=ERROR") {
			t.Errorf("error logged: %s", sc.Text())
		}
	}
}

func abs(t *testing.T, path string) string {
	t.Helper()
	p, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
