package agent

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

type result struct {
	label string
	score float64
}

// refChange is the rule said plainly, for the property tests: after the
// results up to i, the state changes from state when the last confirm
// results all count (label set, score at least threshold) and are all one
// label that is not the state.
func refChange(rs []result, i, confirm int, threshold float64, state string, haveState bool) (string, bool) {
	if i+1 < confirm {
		return "", false
	}
	l := rs[i].label
	for _, r := range rs[i+1-confirm : i+1] {
		if r.label == "" || !(r.score >= threshold) || r.label != l {
			return "", false
		}
	}
	if haveState && l == state {
		return "", false
	}
	return l, true
}

// TestDebounceProperties: on random noisy sequences the debouncer changes
// state exactly where the rule says, never twice within confirm results,
// and each change reports the run that confirmed it.
func TestDebounceProperties(t *testing.T) {
	labels := []string{"open", "closed", "car", ""}
	rng := rand.New(rand.NewPCG(12, 34))
	t0 := time.Unix(1000, 0)
	changes := 0
	for trial := range 2000 {
		confirm := 1 + rng.IntN(5)
		threshold := []float64{0, 0.5, 0.9}[rng.IntN(3)]
		// A true label that holds for a while, results right with a
		// probability, else any label; scores anywhere.
		right := 0.3 + 0.7*rng.Float64()
		rs := make([]result, 50+rng.IntN(150))
		truth := labels[rng.IntN(3)]
		for i := range rs {
			if rng.IntN(40) == 0 {
				truth = labels[rng.IntN(3)]
			}
			l := truth
			if rng.Float64() > right {
				l = labels[rng.IntN(len(labels))]
			}
			rs[i] = result{l, rng.Float64()}
			if rng.IntN(50) == 0 {
				rs[i].score = -1 // NaN-like junk never counts either
			}
		}
		d, err := NewDebouncer(confirm, threshold)
		if err != nil {
			t.Fatal(err)
		}
		state, have, lastChange, seq := "", false, -1, uint64(0)
		for i, r := range rs {
			at := t0.Add(time.Duration(i) * time.Second)
			got, changed := d.Observe(r.label, r.score, at)
			want, wantChanged := refChange(rs, i, confirm, threshold, state, have)
			tag := fmt.Sprintf("trial %d (confirm %d, threshold %v) result %d %+v", trial, confirm, threshold, i, r)
			if changed != wantChanged || changed && got.Label != want {
				t.Fatalf("%s: changed %v to %q, the rule says %v to %q", tag, changed, got.Label, wantChanged, want)
			}
			if !changed {
				continue
			}
			changes++
			if lastChange >= 0 && i-lastChange < confirm {
				t.Fatalf("%s: changed %d results after the last change", tag, i-lastChange)
			}
			seq++
			low := 1.0
			for _, p := range rs[i+1-confirm : i+1] {
				low = min(low, p.score)
			}
			wantChange := StateChange{Label: want, Score: low, Since: t0.Add(time.Duration(i+1-confirm) * time.Second),
				At: at, Previous: state, Seq: seq}
			if got != wantChange {
				t.Fatalf("%s: reported %+v, want %+v", tag, got, wantChange)
			}
			if st, ok := d.State(); !ok || st != got {
				t.Fatalf("%s: State() = %+v, %v", tag, st, ok)
			}
			state, have, lastChange = want, true, i
		}
	}
	if changes < 1000 {
		t.Errorf("only %d changes in all trials: the sequences do not exercise the rule", changes)
	}
}

// TestDebounceNoiseBelowThreshold: however long, noise that never has
// confirm agreeing counting results in a row changes nothing.
func TestDebounceNoiseBelowThreshold(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	d, _ := NewDebouncer(3, 0.6)
	now := time.Unix(0, 0)
	for range 3 {
		d.Observe("closed", 0.9, now)
	}
	if st, ok := d.State(); !ok || st.Label != "closed" || st.Seq != 1 {
		t.Fatalf("state %+v, %v", st, ok)
	}
	wrong := []string{"open", "car", ""}
	for i := range 100000 {
		// Wrong labels at any score, never three in a row: every third
		// result is the state or scores below the threshold.
		l, s := wrong[rng.IntN(len(wrong))], rng.Float64()
		if i%3 == 2 {
			if rng.IntN(2) == 0 {
				l, s = "closed", 0.6+0.4*rng.Float64()
			} else {
				s = 0.6 * rng.Float64()
			}
		}
		if c, ok := d.Observe(l, s, now); ok {
			t.Fatalf("result %d (%s %.2f): changed to %+v under noise", i, l, s, c)
		}
	}
}

// TestDebounceCleanChange: a clean change is reported once, by exactly the
// confirm-th result of the new label, for every confirm.
func TestDebounceCleanChange(t *testing.T) {
	for confirm := 1; confirm <= 6; confirm++ {
		d, err := NewDebouncer(confirm, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		var last StateChange
		for i := range 40 {
			l := "closed"
			if i >= 20 {
				l = "open"
			}
			if c, ok := d.Observe(l, 0.8, time.Unix(int64(i), 0)); ok {
				got, last = append(got, i), c
			}
		}
		if len(got) != 2 || got[0] != confirm-1 || got[1] != 20+confirm-1 {
			t.Errorf("confirm %d: changes at results %v, want [%d %d]", confirm, got, confirm-1, 20+confirm-1)
		}
		want := StateChange{Label: "open", Score: 0.8, Since: time.Unix(20, 0), At: time.Unix(int64(20+confirm-1), 0),
			Previous: "closed", Seq: 2}
		if last != want {
			t.Errorf("confirm %d: %+v, want %+v", confirm, last, want)
		}
	}
}

// TestDebounceSetRule: a new rule keeps the state and its seq, and starts
// a change under way again; bad rules are errors.
func TestDebounceSetRule(t *testing.T) {
	d, _ := NewDebouncer(2, 0)
	d.Observe("a", 1, time.Unix(0, 0))
	d.Observe("a", 1, time.Unix(1, 0))
	d.Observe("b", 1, time.Unix(2, 0))
	if err := d.SetRule(3, 0.5); err != nil {
		t.Fatal(err)
	}
	if st, ok := d.State(); !ok || st.Label != "a" || st.Seq != 1 {
		t.Errorf("state after SetRule %+v", st)
	}
	for i := range 2 {
		if _, ok := d.Observe("b", 1, time.Unix(int64(3+i), 0)); ok {
			t.Error("the run before SetRule counted")
		}
	}
	if c, ok := d.Observe("b", 1, time.Unix(5, 0)); !ok || c.Seq != 2 || c.Previous != "a" {
		t.Errorf("third b after SetRule: %+v, %v", c, ok)
	}
	for _, bad := range []struct {
		confirm   int
		threshold float64
	}{{0, 0}, {1001, 0}, {1, -0.1}, {1, 1.5}} {
		if _, err := NewDebouncer(bad.confirm, bad.threshold); err == nil {
			t.Errorf("NewDebouncer(%d, %v) took it", bad.confirm, bad.threshold)
		}
	}
}

// TestDebounceAllocs: Observe allocates nothing, changes included.
func TestDebounceAllocs(t *testing.T) {
	d, _ := NewDebouncer(2, 0.5)
	labels := []string{"open", "open", "closed", "closed", "open", "", "closed"}
	now := time.Unix(0, 0)
	i := 0
	if n := testing.AllocsPerRun(1000, func() {
		d.Observe(labels[i%len(labels)], 0.4+0.1*float64(i%3), now)
		i++
	}); n != 0 {
		t.Errorf("Observe allocates %v times a result", n)
	}
	if st, _ := d.State(); st.Seq < 10 {
		t.Errorf("only %d changes: the allocation test missed them", st.Seq)
	}
}
