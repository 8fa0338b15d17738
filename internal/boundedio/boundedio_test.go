package boundedio

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	if err := os.WriteFile(small, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile(small, 7); err != nil || string(b) != "secret\n" {
		t.Fatalf("ReadFile(limit = size) = %q, %v", b, err)
	}
	_, err := ReadFile(small, 6)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "6 bytes") || !strings.Contains(err.Error(), small) {
		t.Fatalf("ReadFile(limit below size) error %v: want ErrTooLarge naming the path and 6 bytes", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "missing"), 10); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := ReadFile(dir, 10); !errors.Is(err, ErrNotFile) {
		t.Fatalf("directory: %v, want ErrNotFile", err)
	}
}

// TestReadFileDevZero is the file a typo or a hostile config names to
// make a read never end.
func TestReadFileDevZero(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero:", err)
	}
	_, err := ReadFile("/dev/zero", 1<<20)
	if !errors.Is(err, ErrNotFile) || !strings.Contains(err.Error(), "character device") {
		t.Fatalf("ReadFile(/dev/zero) = %v, want ErrNotFile (character device)", err)
	}
}

// TestReadFilePipe checks that a pipe (process substitution) is read,
// and that an endless one stops at the limit.
func TestReadFilePipe(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	write := func(data []byte, endless bool) {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer w.Close()
		for {
			if _, err := w.Write(data); err != nil || !endless {
				return
			}
		}
	}
	go write([]byte("key: value\n"), false)
	if b, err := ReadFile(fifo, 1<<10); err != nil || string(b) != "key: value\n" {
		t.Fatalf("ReadFile(fifo) = %q, %v", b, err)
	}
	go write(bytes.Repeat([]byte{'x'}, 4096), true)
	if _, err := ReadFile(fifo, 64<<10); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "64 KiB") {
		t.Fatalf("ReadFile(endless fifo) = %v, want ErrTooLarge naming 64 KiB", err)
	}
}
