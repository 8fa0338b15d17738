//go:build !linux

package sdnotify

import (
	"errors"
	"runtime"
)

// conn does not exist off Linux: there is no systemd to talk to, so a set
// $NOTIFY_SOCKET is an error rather than silently ignored.
type conn struct{}

var errNotLinux = errors.New("sd_notify is only implemented on Linux, not " + runtime.GOOS)

func dial(string) (*conn, error)    { return nil, errNotLinux }
func (*conn) send([]byte) error     { return errNotLinux }
func (*conn) close() error          { return nil }
func monotonicUsec() (int64, error) { return 0, errNotLinux }
