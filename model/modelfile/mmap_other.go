//go:build !unix

package modelfile

import (
	"errors"
	"os"
)

// mmap is not implemented here; Open reads the file into memory instead.
func mmap(f *os.File, size int) ([]byte, error) {
	return nil, errors.ErrUnsupported
}

func munmap(b []byte) error { return nil }

func canReadInstead(err error) bool { return true }

// syncDir does nothing: directories cannot be synced portably here, and
// the rename is as durable as the platform makes it.
func syncDir(dir string) error { return nil }
