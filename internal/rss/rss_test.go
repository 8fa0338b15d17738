package rss

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// currentRSS is the resident set now (VmRSS), in bytes.
func currentRSS(t *testing.T) int64 {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(status), "VmRSS:")
	kb, _, _ := strings.Cut(strings.TrimSpace(rest), " kB")
	v, err := strconv.ParseInt(kb, 10, 64)
	if err != nil {
		t.Fatalf("VmRSS %q: %v", kb, err)
	}
	return v << 10
}

// TestPeakGrows touches 64 MiB: the peak must reach the resident set
// before plus nearly all of it. (The peak before may be higher than the
// resident set then, after the runtime gave memory back, so it is not the
// baseline.)
func TestPeakGrows(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("peak RSS is checked on Linux")
	}
	if Peak() <= 0 {
		t.Fatalf("peak RSS %d", Peak())
	}
	// Memory the runtime holds would be reused instead of touched anew.
	debug.FreeOSMemory()
	now := currentRSS(t)
	b := make([]byte, 64<<20)
	for i := range b {
		b[i] = byte(i)
	}
	if after := Peak(); after < now+56<<20 {
		t.Errorf("peak RSS %d after touching 64 MiB, resident before %d", after, now)
	}
	runtime.KeepAlive(b)
}
