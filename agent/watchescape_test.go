package agent

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestWatchEscapesControlCharacters: what another client publishes cannot
// send the terminal commands through watch: status payloads, label names
// and device names are printed with control characters escaped.
func TestWatchEscapesControlCharacters(t *testing.T) {
	out := &syncBuffer{}
	w := newWatcher(out, 0)
	w.handle(nil, fakeMessage{topic: "coatnet/cam1/status", payload: []byte("online\x1b]0;pwned\x07\x1b[2J")})
	msg, _ := json.Marshal(LabelsMessage{Seq: 1, Labels: []Label{{Label: "Bag\x1b[31m\u202e", Score: 0.9}}})
	w.handle(nil, fakeMessage{topic: "coatnet/cam\x1b[1m/labels", payload: msg})
	w.handle(nil, fakeMessage{topic: "coatnet/cam1/labels", payload: []byte("\x9b6n")})
	got := out.String()
	if strings.ContainsAny(got, "\x1b\x07\u202e\u009b") || strings.Contains(got, "\xff") {
		t.Errorf("control characters printed raw:\n%q", got)
	}
	for _, want := range []string{`cam1 status online\x1b]0;pwned\a\x1b[2J`, `cam\x1b[1m #1 Bag\x1b[31m\u202e 0.90`} {
		if !strings.Contains(got, want) {
			t.Errorf("output does not show %s:\n%s", want, got)
		}
	}
}
