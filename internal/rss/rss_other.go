//go:build !unix

package rss

func peak() int64 { return 0 }
