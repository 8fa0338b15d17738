package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
)

// The helper agent: this test binary re-executed with COATNET_HELPER_AGENT
// set runs a Publisher in its own process, so a test can SIGKILL it.
// Commands on stdin: "publish N" publishes N labels and answers
// "published"; it answers "connected" once connected.
func TestHelperAgentProcess(t *testing.T) {
	if os.Getenv("COATNET_HELPER_AGENT") == "" {
		t.Skip("only runs as the helper of TestPublisherSurvivesAgentCrash")
	}
	cfg := Defaults()
	cfg.Device = "crash-cam"
	cfg.MQTT.Broker = os.Getenv("COATNET_HELPER_BROKER")
	cfg.StateDir = os.Getenv("COATNET_HELPER_STATE")
	p, err := NewPublisher(context.Background(), cfg, NewControl(cfg.Pipeline), nil, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("connected")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var n int
		if _, err := fmt.Sscanf(in.Text(), "publish %d", &n); err == nil {
			for range n {
				p.PublishLabels(LabelsMessage{Time: time.Now(), Camera: "crash", Labels: []Label{{Label: "Shirt", Score: 1}}})
			}
			fmt.Println("published")
		}
	}
	select {} // until killed
}

// helperAgent is a running helper process.
type helperAgent struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines *bufio.Scanner
}

func startHelperAgent(t *testing.T, brokerURL, stateDir string) *helperAgent {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestHelperAgentProcess$")
	cmd.Env = append(os.Environ(), "COATNET_HELPER_AGENT=1", "COATNET_HELPER_BROKER="+brokerURL, "COATNET_HELPER_STATE="+stateDir)
	cmd.Stderr = io.Discard
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		if errors.Is(err, syscall.ENOEXEC) {
			// Under qemu-user without binfmt_misc an arm64 test binary
			// cannot start itself again.
			t.Skipf("cannot re-execute the test binary here: %v", err)
		}
		t.Fatal(err)
	}
	h := &helperAgent{cmd: cmd, stdin: stdin, lines: bufio.NewScanner(stdout)}
	t.Cleanup(h.kill)
	h.expect(t, "connected")
	return h
}

func (h *helperAgent) expect(t *testing.T, want string) {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		if h.lines.Scan() {
			got <- h.lines.Text()
		} else {
			got <- "(no output)"
		}
	}()
	select {
	case line := <-got:
		if line != want {
			t.Fatalf("helper agent said %q, want %q", line, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("helper agent did not say %q", want)
	}
}

// kill sends SIGKILL: no offline message, no disconnect, nothing flushed.
func (h *helperAgent) kill() {
	if h.cmd.Process != nil {
		h.cmd.Process.Kill()
		h.cmd.Wait()
	}
}

// TestPublisherSurvivesAgentCrash: an agent publishes QoS 1 labels while
// the broker is down, so they wait in its file store, and is killed with
// SIGKILL. Started again with the same state directory once the broker is
// back, it delivers every one of them. Killed again while connected, its
// will tells subscribers it is offline.
func TestPublisherSurvivesAgentCrash(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	state := t.TempDir()
	sub := subscribe(t, b.URL, "coatnet/crash-cam/#")
	online := func() bool {
		sub.mu.Lock()
		defer sub.mu.Unlock()
		return len(sub.statuses) > 0 && sub.statuses[len(sub.statuses)-1] == "online"
	}
	first := startHelperAgent(t, b.URL, state)
	waitFor(t, "online", online)
	b.Kill()
	const n = 100
	fmt.Fprintf(first.stdin, "publish %d\n", n)
	first.expect(t, "published")
	first.kill()
	if got := len(sub.missing(n)); got != n {
		t.Fatalf("%d labels arrived with the broker down", n-got)
	}
	files, err := os.ReadDir(state + "/mqtt-store")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d messages in the crashed agent's store", len(files))

	b.Start()
	second := startHelperAgent(t, b.URL, state)
	waitFor(t, "the stored labels", func() bool { return len(sub.missing(n)) == 0 })
	waitFor(t, "online again", online)
	second.kill()
	waitFor(t, "the will", func() bool {
		sub.mu.Lock()
		defer sub.mu.Unlock()
		return sub.statuses[len(sub.statuses)-1] == "offline"
	})
}
