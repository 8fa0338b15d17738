// Package backoff is the one wait between retries of the agent: the camera
// reopen and the MQTT connect and reconnect. It doubles with every attempt
// up to a cap, with full jitter, so that many agents that lost the same
// broker (or cameras behind the same switch) do not retry in lock step.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Policy is a doubling back-off with full jitter: the wait before retry n
// (from 0) is uniform in [Min, min(Max, Base*2^n)].
type Policy struct {
	Base, Max time.Duration
	// Min is the shortest wait (0: none), so that a retry never follows
	// a failure at once; it is capped by the ceiling.
	Min time.Duration
	// Rand returns a number in [0, 1]; nil: math/rand/v2. Tests inject
	// it to see exact waits (1 gives the ceiling).
	Rand func() float64
}

// Ceiling is the longest wait before retry n: Base doubled n times,
// capped at Max.
func (p Policy) Ceiling(n int) time.Duration {
	c := p.Base
	for range n {
		if c >= p.Max/2 {
			return p.Max
		}
		c *= 2
	}
	return min(c, p.Max)
}

// Delay is the wait before retry n: a uniformly random part of the
// ceiling, never below Min.
func (p Policy) Delay(n int) time.Duration {
	c := p.Ceiling(n)
	lo := min(p.Min, c)
	r := p.Rand
	if r == nil {
		r = rand.Float64
	}
	f := min(max(r(), 0), 1)
	return lo + time.Duration(f*float64(c-lo))
}
