package meminfo

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestAvailableFrom(t *testing.T) {
	dir := t.TempDir()
	write := func(text string) string {
		p := filepath.Join(dir, "meminfo")
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	got, err := AvailableFrom(write("MemTotal:       16314564 kB\nMemFree:         1012340 kB\nMemAvailable:    9876543 kB\nBuffers:  1 kB\n"))
	if err != nil || got != 9876543<<10 {
		t.Errorf("got %d, %v", got, err)
	}
	if _, err := AvailableFrom(write("MemTotal: 1 kB\n")); !errors.Is(err, ErrUnknown) {
		t.Errorf("no MemAvailable line: %v", err)
	}
	if _, err := AvailableFrom(write("MemAvailable: lots kB\n")); err == nil || errors.Is(err, ErrUnknown) {
		t.Errorf("a bad value: %v", err)
	}
	if _, err := AvailableFrom(filepath.Join(dir, "missing")); !errors.Is(err, ErrUnknown) {
		t.Errorf("no file: %v", err)
	}
	if _, err := os.Stat("/proc/meminfo"); err == nil {
		if n, err := Available(); err != nil || n <= 0 {
			t.Errorf("this machine: %d, %v", n, err)
		}
	}
}
