// Package allocs measures what a piece of code allocates, for the tests
// that check a hostile file is refused without the memory it asks for.
package allocs

import "runtime"

// Bytes is how many bytes f allocates on the Go heap.
func Bytes(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
