package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
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

// TestRunSignals runs `coatnet run --config FILE` as a process: every
// thread is on the CPU cpu_affinity names, SIGHUP reloads the file (a new
// model and threshold, the MQTT session kept, cpu_affinity dropped: every
// CPU again), SIGTERM publishes offline and exits with status 0.
func TestRunSignals(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	dir := t.TempDir()
	config := filepath.Join(dir, "agent.yaml")
	write := func(cpus, model string, threshold float64) {
		text := fmt.Sprintf("device: sig-cam\ncpu_affinity: %q\nstate_dir: %s\nmodel: {path: %s, threads: 1}\n"+
			"camera: {source: %s, loop: true}\npipeline: {max_rate: 20, threshold: %v}\nmqtt: {broker: %q}\n",
			cpus, dir, model, abs(t, "../../testdata/fashion"), threshold, b.URL)
		if err := os.WriteFile(config, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("0", abs(t, "../../models/fmnist-pre-int8.coatnet"), 0)
	w := watch(t, b.URL, "coatnet/sig-cam/#")

	cmd, stderr := startRun(t, config)
	w.until(t, "labels of the first model", func(w *watcher) bool { return w.models["fmnist-pre"] > 3 })
	// cpu_affinity pinned every thread of the process to CPU 0.
	threadsOn(t, cmd.Process.Pid, "0")
	write("", abs(t, "../../models/fmnist-post-int8.coatnet"), 0.25)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	w.until(t, "labels of the reloaded model", func(w *watcher) bool { return w.models["fmnist-post"] > 3 })
	w.until(t, "the reloaded threshold", func(w *watcher) bool { return strings.Contains(w.state, `"threshold":0.25`) })
	// Without cpu_affinity the threads are back on every CPU they started with.
	mine, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(mine), "Cpus_allowed_list:\t")
	all, _, _ := strings.Cut(rest, "\n")
	threadsOn(t, cmd.Process.Pid, all)

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
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "level=ERROR") {
			t.Errorf("error logged: %s", sc.Text())
		}
	}
}

// startRun starts `coatnet run --config config` as a process (this test
// binary as main) with env added; it is killed at the end of the test, and
// its log shown if the test failed.
func startRun(t *testing.T, config string, env ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(append(os.Environ(), "COATNET_AS_MAIN=1", "COATNET_ARGS=run --config "+config), env...)
	stderr := &bytes.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		if errors.Is(err, syscall.ENOEXEC) {
			// Under qemu-user without binfmt_misc an arm64 test binary
			// cannot start itself again.
			t.Skipf("cannot re-execute the test binary here: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Stopped first, so that its log is complete and no longer written.
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("agent log:\n%s", stderr.String())
		}
	})
	return cmd, stderr
}

// threadsOn fails unless every thread of process pid may run on exactly
// the CPUs of list (as /proc shows them: "0", "0-1").
func threadsOn(t *testing.T, pid int, list string) {
	t.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, task.Name()))
		if err != nil {
			continue // the thread ended
		}
		if !strings.Contains(string(status), "Cpus_allowed_list:\t"+list+"\n") {
			t.Fatalf("thread %s is not on CPUs %s:\n%s", task.Name(), list, status)
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

// notifications collects what a process sends to its NOTIFY_SOCKET.
type notifications struct {
	mu   sync.Mutex
	msgs []string
	at   []time.Time
}

func listenNotify(t *testing.T) (string, *notifications) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	n := &notifications{}
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				return
			}
			n.mu.Lock()
			n.msgs = append(n.msgs, string(buf[:k]))
			n.at = append(n.at, time.Now())
			n.mu.Unlock()
		}
	}()
	return path, n
}

// find is the index of the first message from index from on that starts
// with prefix, or -1.
func (n *notifications) find(from int, prefix string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i := from; i < len(n.msgs); i++ {
		if strings.HasPrefix(n.msgs[i], prefix) {
			return i
		}
	}
	return -1
}

// count is how many messages from index from on start with prefix.
func (n *notifications) count(from int, prefix string) int {
	c := 0
	for i := n.find(from, prefix); i >= 0; i = n.find(i+1, prefix) {
		c++
	}
	return c
}

func (n *notifications) len() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.msgs)
}

// wait waits for a message starting with prefix from index from on and
// returns the index after it, where the next expected message may be.
func (n *notifications) wait(t *testing.T, from int, prefix string) int {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if i := n.find(from, prefix); i >= 0 {
			return i + 1
		}
		if time.Now().After(deadline) {
			n.mu.Lock()
			defer n.mu.Unlock()
			t.Fatalf("no %s from message %d on; got %q", prefix, from, n.msgs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRunNotifiesSystemd runs the agent under a fake NOTIFY_SOCKET with a
// 400 ms watchdog: READY=1 after start, STATUS= lines, WATCHDOG=1 while
// frames flow and none while the camera is gone (its pictures deleted),
// pings again once it is back, RELOADING=1 then READY=1 on SIGHUP, and
// STOPPING=1 on SIGTERM.
func TestRunNotifiesSystemd(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	dir := t.TempDir()
	pictures := filepath.Join(dir, "camera")
	if err := os.CopyFS(pictures, os.DirFS(abs(t, "../../testdata/fashion"))); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "agent.yaml")
	text := fmt.Sprintf("device: notify-cam\nstate_dir: %s\nmodel: {path: %s, threads: 1}\n"+
		"camera: {source: %s, loop: true, stall_timeout: 300ms, reopen_backoff: 100ms, reopen_backoff_max: 200ms}\n"+
		"pipeline: {max_rate: 20}\nmqtt: {broker: %q}\n",
		dir, abs(t, "../../models/fmnist-pre-int8.coatnet"), pictures, b.URL)
	if err := os.WriteFile(config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	socket, notes := listenNotify(t)
	cmd, _ := startRun(t, config, "NOTIFY_SOCKET="+socket, "WATCHDOG_USEC=400000")

	at := notes.wait(t, 0, "READY=1")
	at = notes.wait(t, at, "WATCHDOG=1")
	notes.wait(t, 0, "STATUS=camera")

	// The camera goes away: after the pings already due, none for a while.
	hidden := filepath.Join(dir, "hidden")
	if err := os.Rename(pictures, hidden); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(pictures, 0o755); err != nil {
		t.Fatal(err)
	}
	// Pings stop half an interval after the last frame, checked every
	// quarter interval; the rest is slack for a loaded machine.
	time.Sleep(800 * time.Millisecond)
	quiet := notes.len()
	time.Sleep(1200 * time.Millisecond)
	if n := notes.count(quiet, "WATCHDOG=1"); n != 0 {
		t.Fatalf("%d watchdog pings while the camera gave no frames", n)
	}
	os.Remove(pictures)
	if err := os.Rename(hidden, pictures); err != nil {
		t.Fatal(err)
	}
	notes.wait(t, quiet, "WATCHDOG=1")

	at = notes.len()
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	at = notes.wait(t, at, "RELOADING=1")
	notes.wait(t, at, "READY=1")

	at = notes.len()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	notes.wait(t, at, "STOPPING=1")
}

// TestRunCheck runs `coatnet run --check` as a process: "FILE: ok" and
// status 0 for a good file and for the defaults, every problem in the
// file's terms and status 1 for a bad one, and nothing started either way.
func TestRunCheck(t *testing.T) {
	dir := t.TempDir()
	check := func(args string) (stdout, stderr string, code int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0])
		cmd.Env = append(os.Environ(), "COATNET_AS_MAIN=1", "COATNET_ARGS=run --check "+args,
			"XDG_STATE_HOME="+dir, "STATE_DIRECTORY=")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var exit *exec.ExitError
		switch {
		case errors.Is(err, syscall.ENOEXEC):
			t.Skipf("cannot re-execute the test binary here: %v", err)
		case ctx.Err() != nil:
			t.Fatalf("run --check %s still running after 2 minutes: it runs the agent?\n%s", args, errb.String())
		case errors.As(err, &exit):
			return out.String(), errb.String(), exit.ExitCode()
		case err != nil:
			t.Fatal(err)
		}
		return out.String(), errb.String(), 0
	}
	write := func(name, text string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}

	good := write("good.yaml", fmt.Sprintf("device: check-cam\nmodel: {path: %s}\ncamera: {source: %s}\n"+
		"mqtt: {broker: mqtt://127.0.0.1:1}\n", abs(t, "../../models/fmnist-pre-int8.coatnet"), abs(t, "../../testdata/fashion")))
	if out, errs, code := check("--config " + good); code != 0 || out != good+": ok\n" {
		t.Errorf("good file: status %d, stdout %q, stderr %q", code, out, errs)
	}
	if out, errs, code := check(""); code != 0 || out != "the defaults (the demo): ok\n" {
		t.Errorf("defaults: status %d, stdout %q, stderr %q", code, out, errs)
	}

	bad := write("bad.yaml", "model:\n  path: "+filepath.Join(dir, "missing.coatnet")+"\n  thread: 2\n"+
		"camera: {stall_timeout: 10, lop: true}\npipeline: {top_k: 0}\n")
	out, errs, code := check("--config " + bad)
	if code != 1 || out != "" {
		t.Errorf("bad file: status %d, stdout %q", code, out)
	}
	for _, want := range []string{bad + ": config: 5 problems:",
		"\n  line 2: model.path: modelfile: open " + filepath.Join(dir, "missing.coatnet") + ": no such file or directory\n",
		"\n  line 3: model.thread: unknown key; did you mean threads?\n",
		"\n  line 4: camera.stall_timeout: want a duration such as 10s, not \"10\"\n",
		"\n  line 4: camera.lop: unknown key; did you mean loop?\n",
		"\n  line 5: pipeline.top_k: 0 must be in [1, 100]\n"} {
		if !strings.Contains(errs, want) {
			t.Errorf("bad file: stderr lacks %q:\n%s", want, errs)
		}
	}

	// A valid file whose model is not a model file.
	notModel := write("not-model.yaml", "model: {path: "+bad+"}\ncamera: {source: /dev/video97}\n")
	if out, errs, code := check("--config " + notModel); code != 1 || out != "" ||
		!strings.Contains(errs, "model.path: ") || !strings.Contains(errs, "not a coatnet model file") {
		t.Errorf("not a model: status %d, stdout %q, stderr %q", code, out, errs)
	}
	if _, errs, code := check("--config " + filepath.Join(dir, "missing.yaml")); code != 1 || !strings.Contains(errs, "no such file") {
		t.Errorf("missing file: status %d, stderr %q", code, errs)
	}
}

func TestRunHelpShowsCheck(t *testing.T) {
	out, _, err := run(t, "run", "--help")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "coatnet run --check --config /etc/coatnet/agent.yaml") {
		t.Errorf("run --help has no --check example:\n%s", out)
	}
}

// TestRunCameraMissingAtStart runs the agent as systemd would with a camera
// that is not there yet (a folder made later): no exit, READY=1, a STATUS=
// line saying the camera is unavailable, watchdog pings while it is only
// waited for (a restart would not bring it), and labels once it appears.
func TestRunCameraMissingAtStart(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	dir := t.TempDir()
	pictures := filepath.Join(dir, "camera")
	config := filepath.Join(dir, "agent.yaml")
	text := fmt.Sprintf("device: late-cam\nstate_dir: %s\nmodel: {path: %s, threads: 1}\n"+
		"camera: {source: %s, loop: true, reopen_backoff: 100ms, reopen_backoff_max: 200ms}\n"+
		"pipeline: {max_rate: 20}\nmqtt: {broker: %q}\n",
		dir, abs(t, "../../models/fmnist-pre-int8.coatnet"), pictures, b.URL)
	if err := os.WriteFile(config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	w := watch(t, b.URL, "coatnet/late-cam/#")
	socket, notes := listenNotify(t)
	cmd, stderr := startRun(t, config, "NOTIFY_SOCKET="+socket, "WATCHDOG_USEC=400000")
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	at := notes.wait(t, 0, "READY=1")
	notes.wait(t, 0, "STATUS=camera")
	w.until(t, "online", func(w *watcher) bool { return len(w.statuses) > 0 && w.statuses[len(w.statuses)-1] == "online" })
	// Well past the watchdog interval, the pings go on.
	for range 3 {
		at = notes.wait(t, at, "WATCHDOG=1")
	}
	select {
	case err := <-exited:
		t.Fatalf("the agent exited without a camera: %v\n%s", err, stderr.String())
	default:
	}
	notes.mu.Lock()
	if all := strings.Join(notes.msgs, "\n"); !strings.Contains(all, "; camera unavailable") {
		t.Errorf("no STATUS= line says the camera is unavailable: %q", notes.msgs)
	}
	notes.mu.Unlock()

	tmp := pictures + ".tmp"
	if err := os.CopyFS(tmp, os.DirFS(abs(t, "../../testdata/fashion"))); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, pictures); err != nil {
		t.Fatal(err)
	}
	w.until(t, "labels once the camera is there", func(w *watcher) bool { return w.models["fmnist-pre"] > 3 })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit 30 s after SIGTERM\n%s", stderr.String())
	}
}
