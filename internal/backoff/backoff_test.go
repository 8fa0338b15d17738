package backoff

import (
	"testing"
	"time"
)

func TestCeilingDoublesToTheCap(t *testing.T) {
	p := Policy{Base: 100 * time.Millisecond, Max: time.Second}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for n, w := range want {
		if got := p.Ceiling(n); got != w*time.Millisecond {
			t.Errorf("Ceiling(%d) = %v, want %v", n, got, w*time.Millisecond)
		}
	}
	// No overflow however many attempts failed.
	if got := p.Ceiling(1000); got != time.Second {
		t.Errorf("Ceiling(1000) = %v", got)
	}
}

func TestDelayWithInjectedRandom(t *testing.T) {
	p := Policy{Base: 100 * time.Millisecond, Max: time.Second, Min: 10 * time.Millisecond}
	for _, c := range []struct {
		r    float64
		n    int
		want time.Duration
	}{
		{0, 0, 10 * time.Millisecond},  // the floor
		{1, 0, 100 * time.Millisecond}, // the ceiling
		{0.5, 2, 205 * time.Millisecond},
		{1, 9, time.Second},
		{2, 9, time.Second}, // out of range is clamped
		{-1, 3, 10 * time.Millisecond},
	} {
		p.Rand = func() float64 { return c.r }
		if got := p.Delay(c.n); got != c.want {
			t.Errorf("Delay(%d) with random %v = %v, want %v", c.n, c.r, got, c.want)
		}
	}
	// A floor above the ceiling is capped by it.
	p = Policy{Base: time.Millisecond, Max: time.Millisecond, Min: time.Second, Rand: func() float64 { return 0 }}
	if got := p.Delay(0); got != time.Millisecond {
		t.Errorf("floor above the ceiling: %v", got)
	}
}

// TestDelaySpreads: with the real random source, waits stay within their
// bounds, respect the cap, and differ (no lock step), filling the range.
func TestDelaySpreads(t *testing.T) {
	p := Policy{Base: time.Second, Max: 8 * time.Second}
	for n := range 6 {
		c := p.Ceiling(n)
		seen := map[time.Duration]bool{}
		lo, hi := c, time.Duration(0)
		for range 1000 {
			d := p.Delay(n)
			if d < 0 || d > c || d > p.Max {
				t.Fatalf("Delay(%d) = %v, outside [0, %v]", n, d, c)
			}
			seen[d] = true
			lo, hi = min(lo, d), max(hi, d)
		}
		if len(seen) < 900 {
			t.Errorf("Delay(%d): only %d distinct waits in 1000", n, len(seen))
		}
		// Full jitter: the waits reach into both ends of [0, ceiling].
		if lo > c/10 || hi < c*9/10 {
			t.Errorf("Delay(%d) spans only [%v, %v] of [0, %v]", n, lo, hi, c)
		}
	}
}
