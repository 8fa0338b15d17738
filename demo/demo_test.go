package demo

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoadLabels(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	got, err := LoadLabels(write("ok", "9\n2\n1\n0\n"))
	if err != nil || !reflect.DeepEqual(got, []int{9, 2, 1, 0}) {
		t.Errorf("LoadLabels = %v, %v", got, err)
	}
	if got, err := LoadLabels(write("empty", "")); err != nil || len(got) != 0 {
		t.Errorf("empty file: %v, %v", got, err)
	}
	for name, text := range map[string]string{
		"cut":    "9\n2\n1",
		"class":  "9\n10\n",
		"neg":    "-1\n",
		"word":   "9\nbag\n",
		"blank":  "9\n\n2\n",
		"binary": "\x00\x01\n",
	} {
		if got, err := LoadLabels(write(name, text)); err == nil {
			t.Errorf("%s: %q read as %v", name, text, got)
		} else if !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
	}
	if _, err := LoadLabels(filepath.Join(dir, "none")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestEnsureVideoBadRequests(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		path  string
		count int
		want  string
	}{
		{filepath.Join(dir, "v.mp4"), 5, ".mkv or .avi"},
		{filepath.Join(dir, "v"), 5, ".mkv or .avi"},
		{filepath.Join(dir, "v.mkv"), -1, "-1 frames"},
	} {
		_, err := EnsureVideo(c.path, "", c.count)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("EnsureVideo(%s, %d) = %v, want an error saying %s", c.path, c.count, err, c.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("bad requests left %v", entries)
	}
}
