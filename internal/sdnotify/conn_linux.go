package sdnotify

import "golang.org/x/sys/unix"

// conn is an unconnected datagram socket: every message carries the address,
// as libsystemd does, so nothing goes stale if systemd re-creates the socket.
type conn struct {
	fd   int
	addr unix.SockaddrUnix
}

// dial makes the socket. The name goes to unix.SockaddrUnix unchanged: it
// turns a leading '@' into the NUL of an abstract address and leaves the
// trailing NUL out of the address length, which is how systemd binds it.
func dial(name string) (*conn, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return &conn{fd: fd, addr: unix.SockaddrUnix{Name: name}}, nil
}

func (c *conn) send(b []byte) error {
	return unix.Sendto(c.fd, b, unix.MSG_NOSIGNAL, &c.addr)
}

func (c *conn) close() error { return unix.Close(c.fd) }

func monotonicUsec() (int64, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0, err
	}
	return ts.Nano() / 1000, nil
}
