//go:build unix

package modelfile

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

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

// TestOpenPipeHugeHeader: a pipe whose header states 2^62 bytes and which
// then never ends is refused from the header, not read until memory runs
// out. The writer stops after 64 MiB, so the old behaviour ends too.
func TestOpenPipeHugeHeader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pipe")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Skip("no fifo:", err)
	}
	hdr := assemble("1", "[]", nil)[:headerSize]
	binary.LittleEndian.PutUint64(hdr[offDataLen:], 1<<62)
	reseal(hdr)
	if _, err := parseHeader(hdr); err != nil {
		t.Fatal(err)
	}
	wrote := make(chan int64, 1)
	go func() {
		var n int64
		defer func() { wrote <- n }()
		w, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer w.Close()
		if _, err := w.Write(hdr); err != nil {
			return
		}
		zeros := make([]byte, 1<<20)
		for n < 64<<20 {
			m, err := w.Write(zeros)
			n += int64(m)
			if err != nil {
				return // the reader closed the pipe
			}
		}
	}()
	type result struct {
		err   error
		alloc uint64
	}
	done := make(chan result, 1)
	go func() {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f, err := Open(path)
		runtime.ReadMemStats(&after)
		if err == nil {
			f.Close()
		}
		done <- result{err, after.TotalAlloc - before.TotalAlloc}
	}()
	select {
	case r := <-done:
		if !errors.Is(r.err, ErrCorrupt) || !strings.Contains(r.err.Error(), "read rather than mapped") || !strings.Contains(r.err.Error(), path) {
			t.Errorf("Open: %v, want an error naming the file and the limit on a pipe", r.err)
		}
		if r.alloc > 8<<20 {
			t.Errorf("Open allocated %d MiB", r.alloc>>20)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("Open still reading the pipe after 2 minutes")
	}
	if n := <-wrote; n >= 64<<20 {
		t.Errorf("Open read all %d MiB the writer offered", n>>20)
	}
}

// TestOpenNotAFile: a directory or a device is refused before it is read.
func TestOpenNotAFile(t *testing.T) {
	paths := []string{t.TempDir()}
	if _, err := os.Stat("/dev/zero"); err == nil {
		paths = append(paths, "/dev/zero")
	}
	for _, p := range paths {
		_, err := Open(p)
		if err == nil || !strings.Contains(err.Error(), "not a regular file or pipe") || !strings.Contains(err.Error(), p) {
			t.Errorf("Open(%s): %v", p, err)
		}
	}
}
