//go:build unix

package modelfile

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOpenPipe opens a named pipe, which cannot be mapped: Open must fall
// back to reading it.
func TestOpenPipe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pipe")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Skip("no fifo:", err)
	}
	m, ts := sample()
	img := encode(t, m, ts)
	done := make(chan error, 1)
	go func() {
		w, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			done <- err
			return
		}
		_, err = w.Write(img)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		done <- err
	}()
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if f.Mapped() {
		t.Error("a pipe was mapped")
	}
	checkTensors(t, f, ts)
}
