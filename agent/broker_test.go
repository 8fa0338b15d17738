package agent

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"testing"
	"time"
)

// broker is a mosquitto process on a loopback port, for as long as the test.
type broker struct {
	t    testing.TB
	bin  string
	url  string
	port int
	cmd  *exec.Cmd
	conf string
	log  bytes.Buffer // mosquitto's messages, shown if the test fails
}

// startBroker runs Debian's mosquitto on a free loopback port with
// persistence in a temporary folder. Without mosquitto the test is
// skipped, except under CI=true (the Makefile installs it).
func startBroker(t testing.TB) *broker {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		for _, p := range []string{"/usr/sbin/mosquitto"} {
			if _, serr := os.Stat(p); serr == nil {
				bin, err = p, nil
			}
		}
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("mosquitto is not installed")
		}
		t.Skip("mosquitto is not installed (apt-get install mosquitto)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	conf := filepath.Join(dir, "mosquitto.conf")
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	// user: mosquitto started as root drops to user mosquitto, who may not
	// write the persistence folder; stay who we are.
	text := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\nuser %s\npersistence true\npersistence_location %s/\n"+
		"autosave_interval 1\nautosave_on_changes true\nlog_dest stderr\nlog_type error\n", port, me.Username, dir)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	b := &broker{t: t, bin: bin, url: fmt.Sprintf("mqtt://127.0.0.1:%d", port), port: port, conf: conf}
	t.Cleanup(func() {
		b.kill()
		if t.Failed() {
			t.Logf("mosquitto:\n%s", b.log.String())
		}
	})
	b.start()
	return b
}

// start runs mosquitto and waits until it listens.
func (b *broker) start() {
	b.t.Helper()
	b.cmd = exec.Command(b.bin, "-c", b.conf)
	b.cmd.Stderr = &b.log
	if err := b.cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", b.port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("mosquitto did not listen on port %d: %v", b.port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill stops mosquitto with SIGKILL: no chance to save or say goodbye.
func (b *broker) kill() {
	if b.cmd != nil && b.cmd.Process != nil {
		b.cmd.Process.Kill()
		b.cmd.Wait()
	}
	b.cmd = nil
}
