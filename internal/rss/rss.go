// Package rss reports the process's peak resident memory, which is what a
// small board runs out of.
package rss

// Peak returns the largest resident set size the process has had, in
// bytes, or 0 where the platform does not say.
func Peak() int64 { return peak() }
