// Package mqtttest runs Debian's mosquitto for tests: a real broker on a
// free loopback port, with persistence, that a test can kill and start
// again.
package mqtttest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Options add to the broker's configuration.
type Options struct {
	// Listener is more mosquitto.conf lines for the listener: TLS
	// (cafile, certfile, keyfile, require_certificate).
	Listener string
	// Auth replaces "allow_anonymous true", e.g. with a password_file.
	Auth string
}

// Broker is a mosquitto process, for as long as the test.
type Broker struct {
	URL  string // mqtt://127.0.0.1:<Port>
	Port int
	Dir  string // its configuration and persistence folder
	t    testing.TB
	bin  string
	cmd  *exec.Cmd
	conf string
	mu   sync.Mutex
	log  bytes.Buffer // mosquitto's messages, shown if the test fails
}

// Start runs mosquitto with persistence in a temporary folder. Without
// mosquitto the test is skipped, except under CI=true (the Makefile
// installs it).
func Start(t testing.TB, opts Options) *Broker {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/mosquitto"); serr == nil {
			bin, err = "/usr/sbin/mosquitto", nil
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
	auth := opts.Auth
	if auth == "" {
		auth = "allow_anonymous true"
	}
	// user: mosquitto started as root drops to user mosquitto, who may not
	// write the persistence folder; stay who we are.
	text := fmt.Sprintf("per_listener_settings false\nlistener %d 127.0.0.1\n%s\n%s\nuser %s\npersistence true\n"+
		"persistence_location %s/\nautosave_interval 1\nautosave_on_changes true\nlog_dest stderr\nlog_type error\n",
		port, opts.Listener, auth, me.Username, dir)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	b := &Broker{t: t, bin: bin, URL: fmt.Sprintf("mqtt://127.0.0.1:%d", port), Port: port, Dir: dir, conf: conf}
	t.Cleanup(func() {
		b.Kill()
		if t.Failed() {
			t.Logf("mosquitto:\n%s", b.Log())
		}
	})
	b.Start()
	return b
}

// Start runs mosquitto and waits until it listens.
func (b *Broker) Start() {
	b.t.Helper()
	b.cmd = exec.Command(b.bin, "-c", b.conf)
	b.cmd.Stderr = lockedWriter{b}
	if err := b.cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", b.Port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("mosquitto did not listen on port %d: %v\n%s", b.Port, err, b.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill stops mosquitto with SIGKILL: no chance to save or say goodbye.
func (b *Broker) Kill() {
	if b.cmd != nil && b.cmd.Process != nil {
		b.cmd.Process.Kill()
		b.cmd.Wait()
	}
	b.cmd = nil
}

// Log is what mosquitto printed.
func (b *Broker) Log() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.log.String()
}

type lockedWriter struct{ b *Broker }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.b.mu.Lock()
	defer w.b.mu.Unlock()
	return w.b.log.Write(p)
}

// Reload sends mosquitto SIGHUP: it reads its password file again.
func (b *Broker) Reload() error {
	if b.cmd == nil || b.cmd.Process == nil {
		return fmt.Errorf("mqtttest: broker not running")
	}
	return b.cmd.Process.Signal(syscall.SIGHUP)
}

// PasswordAuth is an Options.Auth that lets in only user with password:
// a mosquitto password file made with mosquitto_passwd (skipped without
// it, except under CI=true).
func PasswordAuth(t testing.TB, user, password string) string {
	t.Helper()
	passwd, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("mosquitto_passwd is not installed")
		}
		t.Skip("no mosquitto_passwd (apt-get install mosquitto)")
	}
	users := filepath.Join(t.TempDir(), "users")
	if out, err := exec.Command(passwd, "-b", "-c", users, user, password).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v: %s", err, out)
	}
	return "allow_anonymous false\npassword_file " + users
}
