package agent

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSnapshotDiskFullTmpfs puts the ring on a 256 KiB tmpfs. With a
// reserve, snapshots stop while the space the message store needs is
// still free, and a label written after them still fits; with the free space unknown,
// the disk fills, writes fail with ENOSPC, are counted and logged once,
// and leave no temporary file. Mounting needs root (or CAP_SYS_ADMIN);
// elsewhere the test is skipped.
func TestSnapshotDiskFullTmpfs(t *testing.T) {
	state, err := smallTmpfs(t, "256k")
	if err != nil {
		t.Skipf("cannot mount a small tmpfs: %v", err)
	}
	dir := filepath.Join(state, "snapshots")

	t.Run("reserve", func(t *testing.T) {
		r := openRing(t, dir, SnapshotLimits{PerRegion: 100, MaxBytes: 1 << 30, KeepFree: 96 << 10}, quietLog())
		for i := range 20 {
			r.Save(snap("cam", "gate", i, 16<<10, false))
			r.Flush()
		}
		st := r.Stats()
		if st.Failed == 0 || st.Saved == 0 {
			t.Fatalf("stats %+v: the reserve never stopped a snapshot", st)
		}
		// The message store's next label fits in what the ring left.
		label := filepath.Join(state, "o.1.msg")
		if err := os.WriteFile(label, bytes.Repeat([]byte{1}, 64<<10), 0o600); err != nil {
			t.Errorf("a label after %d snapshots: %v", st.Saved, err)
		}
		os.Remove(label)
		t.Logf("stats %+v", st)
		r.Close()
		os.RemoveAll(dir)
	})
	t.Run("full", func(t *testing.T) {
		var log logBuffer
		r := openRing(t, dir, SnapshotLimits{PerRegion: 100, MaxBytes: 1 << 30, KeepFree: 1},
			slog.New(slog.NewTextHandler(&log, nil)))
		r.free = func(string) int64 { return -1 } // unknown: the writes themselves fail
		for i := range 40 {
			r.Save(snap("cam", "gate", i, 16<<10, i%2 == 0))
			r.Flush()
		}
		st := r.Stats()
		if st.Failed == 0 || st.Saved == 0 || st.Bytes != diskBytes(t, dir) {
			t.Errorf("stats %+v, %d bytes on disk", st, diskBytes(t, dir))
		}
		if n := strings.Count(log.String(), "no space left"); n != 1 || strings.Count(log.String(), "\n") != 1 {
			t.Errorf("%d log lines for %d failures:\n%s", n, st.Failed, log.String())
		}
		for _, f := range ringFiles(t, dir) {
			if strings.HasSuffix(f, snapshotTmpExt) {
				t.Errorf("temporary file left: %s", f)
			}
		}
		if info, b, ok := r.Newest("cam", "gate"); !ok || info.OnDisk || len(b) != 16<<10 {
			t.Errorf("newest: %+v %v", info, ok)
		}
		t.Logf("stats %+v", st)
	})
}
