// Package progress reports how far a long command has got, in the one way
// that suits where its output goes: on a terminal a bar redrawn in place
// (with \r) a few times a second; anywhere else (a log, a pipe, CI) plain
// lines, at most one per tenth of the work or per Interval, so that a log
// gets a dozen lines instead of thousands of \r redraws.
package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Redraw is the least time between two redraws of a terminal bar.
const Redraw = 200 * time.Millisecond

// Interval is the most time between two plain lines while work goes on.
const Interval = 10 * time.Second

// barWidth is the bar's length in characters.
const barWidth = 30

// Reporter reports the progress of one task of a known size. Its methods
// are safe for concurrent use (evaluation workers report from their own
// goroutines); a nil *Reporter reports nothing.
type Reporter struct {
	w     io.Writer
	name  string
	total int
	tty   bool
	now   func() time.Time

	mu        sync.Mutex
	done      int
	start     time.Time
	last      time.Time // of the last line or redraw
	lastTenth int       // of the last plain line
	finished  bool
}

// New reports the progress of name, total steps, on w: as a bar when w is
// a terminal, as plain lines otherwise. A nil w gives a nil Reporter.
func New(w io.Writer, name string, total int) *Reporter {
	if w == nil {
		return nil
	}
	return newReporter(w, name, total, IsTerminal(w), time.Now)
}

func newReporter(w io.Writer, name string, total int, tty bool, now func() time.Time) *Reporter {
	t := now()
	return &Reporter{w: w, name: name, total: max(total, 0), tty: tty, now: now, start: t, last: t}
}

// IsTerminal reports whether w is a terminal: a file whose descriptor is
// a tty.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// Add records n more steps done.
func (r *Reporter) Add(n int) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.setLocked(r.done + n)
}

// Set records that done steps are done.
func (r *Reporter) Set(done int) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.setLocked(done)
}

func (r *Reporter) setLocked(done int) {
	if r.finished {
		return
	}
	r.done = min(max(done, 0), r.total)
	t := r.now()
	if r.tty {
		if t.Sub(r.last) >= Redraw {
			r.last = t
			r.drawBar(t)
		}
		return
	}
	tenth := 0
	if r.total > 0 {
		tenth = 10 * r.done / r.total
	}
	// The last step's line is Finish's, with the time taken.
	if r.done < r.total && (tenth > r.lastTenth || t.Sub(r.last) >= Interval) {
		r.last, r.lastTenth = t, tenth
		fmt.Fprintf(r.w, "%s: %s\n", r.name, r.counts())
	}
}

// Finish ends the report: a terminal bar is drawn complete and ended with
// a newline; elsewhere a last line gives the count and the time taken.
// Later calls do nothing.
func (r *Reporter) Finish() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return
	}
	r.finished = true
	t := r.now()
	if r.tty {
		r.drawBar(t)
		fmt.Fprintln(r.w)
		return
	}
	fmt.Fprintf(r.w, "%s: %s in %.1fs\n", r.name, r.counts(), t.Sub(r.start).Seconds())
}

// counts is "2000/10000 (20%)".
func (r *Reporter) counts() string {
	pct := 100
	if r.total > 0 {
		pct = 100 * r.done / r.total
	}
	return fmt.Sprintf("%d/%d (%d%%)", r.done, r.total, pct)
}

// drawBar redraws the bar over the current line ("\x1b[K" clears what a
// longer previous line left).
func (r *Reporter) drawBar(t time.Time) {
	filled := barWidth
	if r.total > 0 {
		filled = barWidth * r.done / r.total
	}
	rate := ""
	if s := t.Sub(r.start).Seconds(); s > 0 && r.done > 0 {
		rate = fmt.Sprintf(" %.0f/s", float64(r.done)/s)
	}
	fmt.Fprintf(r.w, "\r%s [%s%s] %s%s\x1b[K", r.name, strings.Repeat("=", filled), strings.Repeat(" ", barWidth-filled),
		r.counts(), rate)
}
