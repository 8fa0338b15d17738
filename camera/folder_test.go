package camera

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/imagebomb"
)

// TestFolderSkipsBadPictures: an unreadable picture (a decompression bomb,
// a corrupt file) is skipped and counted, and the pictures after it are
// still played; before, the folder was reopened from its first picture
// and never got past the bad one.
func TestFolderSkipsBadPictures(t *testing.T) {
	dir := t.TempDir()
	copyFile := func(from, to string) {
		b, err := os.ReadFile(filepath.Join(samples, from))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, to), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(samples)
	if err != nil {
		t.Fatal(err)
	}
	var pngs []string
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".png" {
			pngs = append(pngs, e.Name())
		}
	}
	if len(pngs) < 2 {
		t.Fatalf("%s: want two sample pictures", samples)
	}
	copyFile(pngs[0], "1.png")
	if err := os.WriteFile(filepath.Join(dir, "2-bomb.png"), imagebomb.PNG(100000, 100000), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "3-corrupt.jpg"), []byte("\xff\xd8 not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	copyFile(pngs[1], "4.png")

	ctx := context.Background()
	r, err := NewReopening(ctx, ReopenConfig{
		Open:         func(context.Context) (Source, error) { return OpenFolder(dir, 0, false) },
		StallTimeout: time.Minute, Backoff: time.Millisecond, BackoffMax: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []int64
	for len(got) < 10 {
		f, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, f.Index)
		f.Release()
	}
	if len(got) != 2 || got[0] != 0 || got[1] != 3 {
		t.Errorf("frames %v, want pictures 0 and 3 and the end", got)
	}
	if r.Skipped() != 2 || r.Reopens() != 0 || r.Stalls() != 0 {
		t.Errorf("skipped %d, reopens %d, stalls %d; want 2, 0, 0", r.Skipped(), r.Reopens(), r.Stalls())
	}
}

// TestFolderAllBad: a folder of nothing but bad pictures is a failure of
// the source (reopened with back-off), not an endless run of skips.
func TestFolderAllBad(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a.png", "b.png"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("not a png"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := OpenFolder(dir, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := f.Next(ctx); !errors.Is(err, ErrBadFrame) {
		t.Errorf("first bad picture: %v, want ErrBadFrame", err)
	}
	if _, err := f.Next(ctx); err == nil || errors.Is(err, ErrBadFrame) {
		t.Errorf("a whole pass of bad pictures: %v, want an error other than ErrBadFrame", err)
	}
}
