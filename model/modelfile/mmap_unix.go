//go:build unix

package modelfile

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// mmap maps the first size bytes of f read-only and shared.
func mmap(f *os.File, size int) ([]byte, error) {
	return unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
}

func munmap(b []byte) error { return unix.Munmap(b) }

// canReadInstead reports whether Open should read a file it failed to map
// into memory instead: not when the mapping failed for want of memory.
func canReadInstead(err error) bool { return !errors.Is(err, unix.ENOMEM) }

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
