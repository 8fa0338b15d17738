package progress

import (
	"bytes"
	"os"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair, or skips the test where none can
// be opened (no /dev/ptmx or devpts in a container).
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skip("no pseudo-terminal:", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skip("cannot unlock the pseudo-terminal:", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skip("no pseudo-terminal number:", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skip("cannot open the pseudo-terminal's other end:", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// TestBarOnARealTerminal: New draws a bar on a pseudo-terminal.
func TestBarOnARealTerminal(t *testing.T) {
	master, slave := openPTY(t)
	if !IsTerminal(slave) {
		t.Fatal("IsTerminal(pty) = false")
	}
	r := New(slave, "eval", 10)
	for range 10 {
		r.Add(1)
	}
	r.Finish()
	var got []byte
	buf := make([]byte, 4096)
	deadline := time.Now().Add(30 * time.Second)
	for !bytes.Contains(got, []byte("10/10 (100%)")) || !bytes.Contains(got, []byte("\n")) {
		if err := master.SetReadDeadline(deadline); err != nil {
			t.Fatal(err)
		}
		n, err := master.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("read %q, then %v", got, err)
		}
	}
	if !bytes.HasPrefix(got, []byte("\reval [")) {
		t.Errorf("terminal got %q, want a bar drawn with \\r", got)
	}
}
