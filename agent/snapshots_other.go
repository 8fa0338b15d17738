//go:build !linux

package agent

// freeBytes is unknown (-1) off Linux: no reserve is kept there.
func freeBytes(dir string) int64 { return -1 }
