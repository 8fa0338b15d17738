package agent

import (
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	start := Settings{Threshold: 0.1, MaxRate: 5}
	for _, c := range []struct {
		sub, payload string
		want         Settings
	}{
		{"", "pause", Settings{Paused: true, Threshold: 0.1, MaxRate: 5}},
		{"", " Resume\n", start},
		{"", `{"threshold": 0.5}`, Settings{Threshold: 0.5, MaxRate: 5}},
		{"", `{"paused": true, "max_rate": 0}`, Settings{Paused: true, Threshold: 0.1}},
		{"paused", "ON", Settings{Paused: true, Threshold: 0.1, MaxRate: 5}},
		{"paused", "off", start},
		{"paused", "1", Settings{Paused: true, Threshold: 0.1, MaxRate: 5}},
		{"threshold", "0.75", Settings{Threshold: 0.75, MaxRate: 5}},
		{"threshold", "1", Settings{Threshold: 1, MaxRate: 5}},
		{"rate", "2.5", Settings{Threshold: 0.1, MaxRate: 2.5}},
		{"rate", "0", Settings{Threshold: 0.1}},
	} {
		edit, err := ParseCommand(c.sub, []byte(c.payload))
		if err != nil {
			t.Errorf("set/%s %q: %v", c.sub, c.payload, err)
			continue
		}
		got := start
		edit(&got)
		if got != c.want {
			t.Errorf("set/%s %q: %+v, want %+v", c.sub, c.payload, got, c.want)
		}
	}
	for _, c := range []struct{ sub, payload, says string }{
		{"", "stop", "pause"},
		{"", "", "pause"},
		{"", `{"threshold": "high"}`, "JSON"},
		{"", `{"treshold": 0.5}`, "unknown field"},
		{"", `{}`, "sets nothing"},
		{"", `{"threshold": 1.5}`, "outside [0, 1]"},
		{"", `{"max_rate": -1}`, "outside [0, 1000]"},
		{"paused", "maybe", "ON or OFF"},
		{"threshold", "NaN", "outside"},
		{"threshold", "-0.1", "outside"},
		{"threshold", "half", "number"},
		{"rate", "1e9", "outside"},
		{"rate", "+Inf", "outside"},
		{"rate", "fast", "number"},
		{"volume", "11", "unknown command topic"},
	} {
		if _, err := ParseCommand(c.sub, []byte(c.payload)); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("set/%s %q: %v, want an error saying %q", c.sub, c.payload, err, c.says)
		}
	}
}

// TestControlWakesWaiters: Update closes the channel Get handed out, so a
// paused pipeline wakes at once.
func TestControlWakesWaiters(t *testing.T) {
	c := NewControl(PipelineConfig{Threshold: 0.2, MaxRate: 3})
	s, changed := c.Get()
	if s != (Settings{Threshold: 0.2, MaxRate: 3}) {
		t.Fatalf("initial settings %+v", s)
	}
	c.Update(func(s *Settings) { s.Paused = true })
	select {
	case <-changed:
	default:
		t.Fatal("Update did not signal the change")
	}
	if s, _ := c.Get(); !s.Paused {
		t.Error("the update was lost")
	}
}
