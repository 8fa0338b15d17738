package sdnotify

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listen binds a datagram socket the way systemd binds its notify socket,
// through the net package rather than the code under test.
func listen(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listen on %s: %v", name, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func recv(t *testing.T, l *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, 4096)
	l.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := l.Read(buf)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return string(buf[:n])
}

func requireLinux(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("sd_notify is Linux-only")
	}
}

func abstractName(t *testing.T) string {
	b := make([]byte, 8)
	rand.Read(b)
	return "@coatnet-test-" + hex.EncodeToString(b)
}

// Each helper must put exactly its assignments in one datagram, through a
// socket named by a path and by an abstract name.
func TestMessages(t *testing.T) {
	requireLinux(t)
	names := map[string]string{
		"path":     filepath.Join(t.TempDir(), "notify"),
		"abstract": abstractName(t),
	}
	for kind, name := range names {
		t.Run(kind, func(t *testing.T) {
			l := listen(t, name)
			t.Setenv("NOTIFY_SOCKET", name)
			n, err := New()
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			if !n.Enabled() || n.Socket() != name {
				t.Fatalf("Enabled() = %v, Socket() = %q; want true, %q", n.Enabled(), n.Socket(), name)
			}
			for _, tc := range []struct {
				send func() error
				want string
			}{
				{n.Ready, "READY=1"},
				{n.Stopping, "STOPPING=1"},
				{n.Watchdog, "WATCHDOG=1"},
				{func() error { return n.Status("12.5 fps, 0 dropped") }, "STATUS=12.5 fps, 0 dropped"},
				{func() error { return n.Status("two\nlines\nREADY=1") }, "STATUS=two lines READY=1"},
				{func() error { return n.Status("") }, "STATUS="},
				{func() error { return n.Notify("READY=1\nSTATUS=up") }, "READY=1\nSTATUS=up"},
			} {
				if err := tc.send(); err != nil {
					t.Fatalf("sending %q: %v", tc.want, err)
				}
				if got := recv(t, l); got != tc.want {
					t.Errorf("datagram %q, want %q", got, tc.want)
				}
			}
		})
	}
}

// The abstract name must really be abstract: listed by the kernel with its
// '@', and no file of that name created anywhere.
func TestAbstractIsAbstract(t *testing.T) {
	requireLinux(t)
	name := abstractName(t)
	listen(t, name)
	if _, err := os.Stat(name); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a file %s exists (err %v): the name was bound as a path", name, err)
	}
	unixTable, err := os.ReadFile("/proc/net/unix")
	if err != nil {
		t.Skipf("cannot cross-check in /proc/net/unix: %v", err)
	}
	if !strings.Contains(string(unixTable), " "+name+"\n") {
		t.Fatalf("/proc/net/unix does not list %s", name)
	}
	// A path-style send to the same name without the '@' must not reach it.
	t.Setenv("NOTIFY_SOCKET", "/"+name[1:])
	n, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := n.Ready(); err == nil {
		t.Fatal("sending to the path /" + name[1:] + " succeeded")
	}
}

func TestDisabled(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	os.Unsetenv("NOTIFY_SOCKET")
	n, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if n.Enabled() {
		t.Fatal("enabled without NOTIFY_SOCKET")
	}
	for _, f := range []func() error{n.Ready, n.Reloading, n.Stopping, n.Watchdog, func() error { return n.Status("x") }, n.Close, n.Ready} {
		if err := f(); err != nil {
			t.Fatalf("disabled notifier: %v", err)
		}
	}
	var zero Notifier
	if zero.Enabled() || zero.Ready() != nil || zero.Close() != nil {
		t.Fatal("the zero Notifier is not a disabled one")
	}
}

func TestErrors(t *testing.T) {
	requireLinux(t)
	missing := filepath.Join(t.TempDir(), "no-such-socket")
	t.Setenv("NOTIFY_SOCKET", missing)
	n, err := New()
	if err != nil {
		t.Fatal(err)
	}
	err = n.Ready()
	if err == nil || !strings.Contains(err.Error(), missing) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Ready to a missing socket: %v; want ENOENT naming %s", err, missing)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := n.Ready(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Ready after Close: %v, want os.ErrClosed", err)
	}

	for _, bad := range []string{"relative/notify", "@", "/", "vsock:2:1234", "/" + strings.Repeat("x", 107)} {
		t.Setenv("NOTIFY_SOCKET", bad)
		if n, err := New(); err == nil || !strings.Contains(err.Error(), strconv.Quote(bad)) {
			if n != nil {
				n.Close()
			}
			t.Errorf("NOTIFY_SOCKET=%q: error %v, want one quoting it", bad, err)
		}
	}
	// The longest name a sockaddr_un holds is accepted and reaches its listener.
	long := "@" + strings.Repeat("y", 106)
	l := listen(t, long)
	t.Setenv("NOTIFY_SOCKET", long)
	n, err = New()
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := n.Watchdog(); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, l); got != "WATCHDOG=1" {
		t.Fatalf("got %q", got)
	}
}

func TestWatchdogInterval(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	for _, tc := range []struct {
		usec, pid string // "-" leaves the variable unset
		want      time.Duration
		ok        bool
	}{
		{"-", "-", 0, false},
		{"30000000", "-", 30 * time.Second, true},
		{"30000000", self, 30 * time.Second, true},
		{"1", self, time.Microsecond, true},
		{"30000000", strconv.Itoa(os.Getpid() + 1), 0, false},
		{"30000000", "1", 0, false},
		{"30000000", "self", 0, false},
		{"30000000", "", 0, false},
		{"0", self, 0, false},
		{"", self, 0, false},
		{"-5", self, 0, false},
		{"30s", self, 0, false},
		{" 30000000", self, 0, false},
		{"9223372036854775807", self, 0, false},
		{"9223372036854775", self, 9223372036854775 * time.Microsecond, true},
	} {
		for k, v := range map[string]string{"WATCHDOG_USEC": tc.usec, "WATCHDOG_PID": tc.pid} {
			t.Setenv(k, v)
			if v == "-" {
				os.Unsetenv(k)
			}
		}
		got, ok := WatchdogInterval()
		if got != tc.want || ok != tc.ok {
			t.Errorf("WATCHDOG_USEC=%q WATCHDOG_PID=%q: %v, %v; want %v, %v", tc.usec, tc.pid, got, ok, tc.want, tc.ok)
		}
	}
}
