package rss

import (
	"runtime"
	"testing"
)

func TestPeakGrows(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("peak RSS is checked on Linux")
	}
	before := Peak()
	if before <= 0 {
		t.Fatalf("peak RSS %d", before)
	}
	b := make([]byte, 64<<20)
	for i := range b {
		b[i] = byte(i)
	}
	if after := Peak(); after < before+32<<20 {
		t.Errorf("peak RSS %d after touching 64 MiB, was %d", after, before)
	}
	runtime.KeepAlive(b)
}
