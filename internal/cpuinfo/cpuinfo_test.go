package cpuinfo

import (
	"runtime"
	"strings"
	"testing"
)

func TestSummaryNamesArch(t *testing.T) {
	s := Summary()
	if !strings.HasPrefix(s, runtime.GOARCH+":") {
		t.Fatalf("summary %q does not start with the GOARCH", s)
	}
	if runtime.GOARCH == "arm64" {
		// Every arm64 Linux CPU has Advanced SIMD; the qemu CPUs we test
		// on all report it.
		if !strings.Contains(s, " asimd") {
			t.Fatalf("arm64 without asimd: %q", s)
		}
	}
}
