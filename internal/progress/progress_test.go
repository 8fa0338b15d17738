package progress

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a fake time that advances step on every reading.
type clock struct {
	t    time.Time
	step time.Duration
}

func (c *clock) now() time.Time { c.t = c.t.Add(c.step); return c.t }

// TestPlainLines: off a terminal, 10,000 steps give a line per tenth and
// a last one, and never a \r.
func TestPlainLines(t *testing.T) {
	var buf bytes.Buffer
	c := &clock{t: time.Unix(0, 0), step: 100 * time.Microsecond}
	r := newReporter(&buf, "eval", 10000, false, c.now)
	for range 10000 {
		r.Add(1)
	}
	r.Finish()
	r.Finish()
	out := buf.String()
	if strings.Contains(out, "\r") {
		t.Fatalf("plain output holds \\r: %q", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 10 {
		t.Errorf("%d lines, want 9 tenths and the last:\n%s", len(lines), out)
	}
	if !strings.Contains(out, "eval: 2000/10000 (20%)\n") {
		t.Errorf("no line at 20%%:\n%s", out)
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "eval: 10000/10000 (100%) in ") {
		t.Errorf("last line %q", last)
	}
}

// TestPlainLinesEveryInterval: slow work gets a line at least every
// Interval, even within one tenth.
func TestPlainLinesEveryInterval(t *testing.T) {
	var buf bytes.Buffer
	c := &clock{t: time.Unix(0, 0), step: Interval}
	r := newReporter(&buf, "calibrate", 1000, false, c.now)
	r.Add(1)
	r.Add(1)
	r.Add(1)
	if got := buf.String(); got != "calibrate: 1/1000 (0%)\ncalibrate: 2/1000 (0%)\ncalibrate: 3/1000 (0%)\n" {
		t.Errorf("got %q", got)
	}
}

// TestNewOnABuffer: a buffer is no terminal, and a nil writer reports
// nothing at all.
func TestNewOnABuffer(t *testing.T) {
	var buf bytes.Buffer
	r := New(&buf, "quantize", 100)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				r.Add(1)
			}
		}()
	}
	wg.Wait()
	r.Finish()
	if out := buf.String(); strings.Contains(out, "\r") || !strings.Contains(out, "quantize: 100/100 (100%) in ") {
		t.Errorf("got %q", out)
	}
	var none *Reporter = New(nil, "x", 10)
	none.Add(1)
	none.Set(5)
	none.Finish()
}

// TestBar: on a terminal the bar is redrawn at most every Redraw and
// ends with a newline. The clock reads 102 times, 50 ms apart: 20 steps/s.
func TestBar(t *testing.T) {
	var buf bytes.Buffer
	c := &clock{t: time.Unix(0, 0), step: Redraw / 4}
	r := newReporter(&buf, "eval", 100, true, c.now)
	for range 100 {
		r.Add(1)
	}
	r.Finish()
	out := buf.String()
	if n := strings.Count(out, "\r"); n < 2 || n > 100/4+2 {
		t.Errorf("%d redraws for 100 steps at 4 a redraw interval", n)
	}
	if !strings.HasSuffix(out, "] 100/100 (100%) 20/s\x1b[K\n") || strings.Count(out, "\n") != 1 {
		t.Errorf("bar ends %q", out[max(0, len(out)-80):])
	}
}
