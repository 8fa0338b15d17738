package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/model"
)

// TestInfoEscapesControlCharacters: a model file's name, description and
// labels are printed with control characters escaped, so a file cannot
// send the terminal commands (retitle, clear the screen, reorder text).
func TestInfoEscapesControlCharacters(t *testing.T) {
	m, err := model.Load("../../models/fmnist-pre.coatnet")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.Name = "fmnist\x1b[8m"
	m.Description = "about\x1b]0;pwned\x07 \u202eevil"
	m.Labels = append([]string{"T-shirt\x1b[2J\x1b[H"}, m.Labels[1:]...)
	m.Source.Tool = "tool\x9b"
	path := filepath.Join(t.TempDir(), "hostile.coatnet")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := run(t, "info", path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(stdout, "\x1b\x07\u202e\u009b") {
		t.Errorf("control characters printed raw:\n%q", stdout)
	}
	for _, want := range []string{`name       fmnist\x1b[8m`, `about      about\x1b]0;pwned\a \u202eevil`,
		`labels     10: T-shirt\x1b[2J\x1b[H, Trouser`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("info does not show %s:\n%s", want, stdout)
		}
	}
}
