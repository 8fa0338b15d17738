// Package sdnotify tells systemd about the agent's state (sd_notify(3)), so
// a Type=notify unit starts its dependents only once the model is loaded and
// the camera open, and the watchdog restarts an agent whose frames stopped.
//
// Only what systemd 252 (Debian 12, Raspberry Pi OS Bookworm) understands is
// used: datagrams to the AF_UNIX socket named by $NOTIFY_SOCKET, a path or an
// abstract name written with a leading '@'.
package sdnotify

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Notifier sends state changes to systemd. The zero value, and what New
// returns outside systemd, is disabled: every method does nothing, so the
// agent can call them unconditionally. It is safe for concurrent use.
type Notifier struct {
	socket string // $NOTIFY_SOCKET; "" when disabled

	mu     sync.Mutex
	conn   *conn // nil when disabled
	closed bool
}

// New reads $NOTIFY_SOCKET. Unlike sd_notify's unset_environment it leaves
// the variable set: child processes (GStreamer helpers) inherit it, which is
// harmless because systemd's default NotifyAccess=main drops their messages.
func New() (*Notifier, error) {
	name := os.Getenv("NOTIFY_SOCKET")
	if name == "" {
		return &Notifier{}, nil
	}
	// systemd 252 accepts absolute paths and abstract names only; a
	// sockaddr_un holds 108 bytes including the path's NUL.
	if name[0] != '/' && name[0] != '@' || len(name) < 2 || len(name) > 107 {
		return nil, fmt.Errorf("sdnotify: NOTIFY_SOCKET=%q is not an absolute path or @abstract name of at most 107 bytes", name)
	}
	c, err := dial(name)
	if err != nil {
		return nil, fmt.Errorf("sdnotify: socket for %s: %w", name, err)
	}
	return &Notifier{socket: name, conn: c}, nil
}

// Enabled reports whether messages go anywhere.
func (n *Notifier) Enabled() bool { return n.socket != "" }

// Socket is the $NOTIFY_SOCKET the notifier sends to, "" when disabled.
func (n *Notifier) Socket() string { return n.socket }

// Notify sends state, newline-separated VAR=value assignments, as one
// datagram. A missing socket is reported here, naming it.
func (n *Notifier) Notify(state string) error {
	if n.socket == "" {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return fmt.Errorf("sdnotify: notify %s: %w", n.socket, os.ErrClosed)
	}
	if err := n.conn.send([]byte(state)); err != nil {
		return fmt.Errorf("sdnotify: notify %s: %w", n.socket, err)
	}
	return nil
}

// Ready says start-up (or a reload) has finished.
func (n *Notifier) Ready() error { return n.Notify("READY=1") }

// Reloading says a reload began; send Ready when it is done. systemd 253+
// wants MONOTONIC_USEC with it to order the two; 252 ignores it.
func (n *Notifier) Reloading() error {
	if n.socket == "" {
		return nil
	}
	usec, err := monotonicUsec()
	if err != nil {
		return fmt.Errorf("sdnotify: reading CLOCK_MONOTONIC: %w", err)
	}
	return n.Notify("RELOADING=1\nMONOTONIC_USEC=" + strconv.FormatInt(usec, 10))
}

// Stopping says shutdown began, so systemd does not take the exit for a crash.
func (n *Notifier) Stopping() error { return n.Notify("STOPPING=1") }

// Watchdog is the keep-alive ping WatchdogSec= expects.
func (n *Notifier) Watchdog() error { return n.Notify("WATCHDOG=1") }

// Status sets the one-line text systemctl status shows. Newlines become
// spaces: they would otherwise start assignments of their own.
func (n *Notifier) Status(s string) error {
	return n.Notify("STATUS=" + strings.ReplaceAll(s, "\n", " "))
}

// Close releases the socket; later sends fail. It may be called more than once.
func (n *Notifier) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed || n.conn == nil {
		n.closed = true
		return nil
	}
	n.closed = true
	return n.conn.close()
}

// WatchdogInterval is WatchdogSec= as systemd passes it ($WATCHDOG_USEC),
// or false when the watchdog is off, meant for another process
// ($WATCHDOG_PID), or the variables are not numbers. Ping at half of it.
func WatchdogInterval() (time.Duration, bool) {
	if p, set := os.LookupEnv("WATCHDOG_PID"); set {
		pid, err := strconv.Atoi(p)
		if err != nil || pid != os.Getpid() {
			return 0, false
		}
	}
	usec, err := strconv.ParseUint(os.Getenv("WATCHDOG_USEC"), 10, 63)
	if err != nil || usec == 0 || usec > uint64(1<<63-1)/1000 {
		return 0, false
	}
	return time.Duration(usec) * time.Microsecond, true
}
