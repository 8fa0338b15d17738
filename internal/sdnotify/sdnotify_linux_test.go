package sdnotify

import (
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// MONOTONIC_USEC must be CLOCK_MONOTONIC in microseconds at the time of sending.
func TestReloading(t *testing.T) {
	name := abstractName(t)
	l := listen(t, name)
	t.Setenv("NOTIFY_SOCKET", name)
	n, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	now := func() int64 {
		var ts unix.Timespec
		if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
			t.Fatal(err)
		}
		return ts.Nano() / 1000
	}
	before := now()
	if err := n.Reloading(); err != nil {
		t.Fatal(err)
	}
	after := now()
	got := recv(t, l)
	v, ok := strings.CutPrefix(got, "RELOADING=1\nMONOTONIC_USEC=")
	usec, err := strconv.ParseInt(v, 10, 64)
	if !ok || err != nil || usec < before || usec > after {
		t.Fatalf("datagram %q, want RELOADING=1 and MONOTONIC_USEC in [%d, %d]", got, before, after)
	}
}
