package agent

import (
	"fmt"
	"time"
)

// Debouncer turns a region's classifications into its state. The rule: a
// result counts when its top-1 label is not empty and scores at least the
// threshold; the state becomes label L when `confirm` consecutive results
// all count and are all L, and L is not the state already. Anything else
// in between (a result of another label, of the current state, or one that
// does not count) starts the count again. So:
//   - no flapping: two changes are at least confirm results apart, and
//     each needs confirm agreeing results for a label that is not the
//     state; a result that does not count never changes the state and
//     never agrees with anything;
//   - latency: a change in the scene is confirmed by exactly the confirm-th
//     counting result of the new label after it, when every result from
//     the first is right (the first state too: there is no state before
//     it); each wrong or uncounted result in between restarts the count,
//     so under noise the latency is confirm results after the last one.
//
// Observe allocates nothing. A Debouncer is not safe for concurrent use:
// each region has its own, fed by one goroutine.
type Debouncer struct {
	confirm   int
	threshold float64
	state     StateChange // Seq 0: no state yet
	// The run of agreeing results for a label that is not the state.
	run      string
	runN     int
	runScore float64 // the lowest score of the run
	runSince time.Time
}

// StateChange is a confirmed change of a region's state.
type StateChange struct {
	Label string
	// Score is the lowest of the confirming results' scores.
	Score float64
	// Since is the time of the first confirming result: when the new
	// state was first seen.
	Since time.Time
	// At is the time of the confirming result.
	At time.Time
	// Previous is the state before, "" for the first.
	Previous string
	// Seq numbers the changes of this Debouncer from 1.
	Seq uint64
}

// NewDebouncer is a region's debouncer with no state yet: confirm is
// RegionPlan.Confirm, threshold RegionPlan.Threshold.
func NewDebouncer(confirm int, threshold float64) (*Debouncer, error) {
	d := &Debouncer{}
	if err := d.SetRule(confirm, threshold); err != nil {
		return nil, err
	}
	return d, nil
}

// SetRule changes the rule (a reload), keeping the state and its Seq;
// the count of a change under way starts again.
func (d *Debouncer) SetRule(confirm int, threshold float64) error {
	if confirm < 1 || confirm > maxConfirm {
		return fmt.Errorf("debounce: confirm %d must be in [1, %d]", confirm, maxConfirm)
	}
	if checkThreshold(threshold) != nil {
		return fmt.Errorf("debounce: threshold %v must be in [0, 1]", threshold)
	}
	d.confirm, d.threshold = confirm, threshold
	d.run, d.runN = "", 0
	return nil
}

// Observe takes one classification of the region, its top-1 label and
// score at time t ("" for none), and reports the change it confirms.
func (d *Debouncer) Observe(label string, score float64, t time.Time) (StateChange, bool) {
	if label == "" || !(score >= d.threshold) || (d.state.Seq > 0 && label == d.state.Label) {
		d.run, d.runN = "", 0
		return StateChange{}, false
	}
	if d.runN > 0 && label == d.run {
		d.runN++
		d.runScore = min(d.runScore, score)
	} else {
		d.run, d.runN, d.runScore, d.runSince = label, 1, score, t
	}
	if d.runN < d.confirm {
		return StateChange{}, false
	}
	d.state = StateChange{Label: label, Score: d.runScore, Since: d.runSince, At: t, Previous: d.state.Label,
		Seq: d.state.Seq + 1}
	d.run, d.runN = "", 0
	return d.state, true
}

// Settling says a run for a new state is under way: the next results
// confirm or break it, so the pipeline classifies the region again soon
// (an on_motion region whose motion stopped, an every region) instead
// of waiting for the next motion or period.
func (d *Debouncer) Settling() bool { return d.runN > 0 }

// State is the last confirmed change; false before the first.
func (d *Debouncer) State() (StateChange, bool) { return d.state, d.state.Seq > 0 }
