// Package boundedio reads whole files that a user names (configuration,
// passwords, certificates) without trusting them to be small: a path set
// to /dev/zero, a device or a huge file is an error, not an endless read.
package boundedio

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// ErrTooLarge reports a file longer than the limit its kind allows.
var ErrTooLarge = errors.New("file too large")

// ErrNotFile reports a path that is a device, socket or directory.
var ErrNotFile = errors.New("not a regular file or pipe")

// ReadFile reads the file at path, failing once it passes limit bytes.
//
// Regular files and pipes are read (a pipe lets a shell's process
// substitution, <(...), or /dev/stdin pass a file); devices, sockets
// and directories are refused before anything is read, because reading
// one either never ends (/dev/zero) or waits for input that never comes
// (a terminal). The errors name the path and the limit.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := CheckMode(path, st.Mode()); err != nil {
		return nil, err
	}
	return ReadAll(f, path, limit)
}

// ReadAll reads r to its end, failing once it passes limit bytes; name
// names it in the error. It is ReadFile for a stream already open, such
// as standard input.
func ReadAll(r io.Reader, name string, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: %w: more than %s", name, ErrTooLarge, size(limit))
	}
	return data, nil
}

// CheckMode returns ErrNotFile, naming path, unless m is a regular file's
// or a pipe's: the check ReadFile makes, for readers of files too large to
// read whole (model files, which are mapped).
func CheckMode(path string, m fs.FileMode) error {
	if !m.IsRegular() && m.Type() != fs.ModeNamedPipe {
		return fmt.Errorf("%s: %w (it is a %s)", path, ErrNotFile, kind(m))
	}
	return nil
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	case m&fs.ModeSocket != 0:
		return "socket"
	}
	return "special file"
}

// size spells a limit in the largest binary unit that divides it.
func size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
