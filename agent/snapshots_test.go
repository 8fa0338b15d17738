package agent

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coatnet-edge/coatnet-edge/camera"
	"github.com/coatnet-edge/coatnet-edge/picture"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openRing(t *testing.T, dir string, l SnapshotLimits, log *slog.Logger) *SnapshotRing {
	t.Helper()
	r := OpenSnapshotRing(dir, l, log)
	t.Cleanup(func() { r.Close() })
	return r
}

var snapT0 = time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)

// snap is the i-th snapshot of a region: n bytes whose content says i.
func snap(camera, region string, i, n int, frame bool) Snapshot {
	s := Snapshot{Camera: camera, Region: region, Label: fmt.Sprintf("state%d", i), Time: snapT0.Add(time.Duration(i) * time.Second),
		JPEG: bytes.Repeat([]byte{byte(i)}, n)}
	if frame {
		s.Frame = bytes.Repeat([]byte{byte(i) + 100}, n)
	}
	return s
}

// ringFiles lists the files under dir, relative to it.
func ringFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, rel)
		}
		return nil
	})
	slices.Sort(files)
	return files
}

func diskBytes(t *testing.T, dir string) (n int64) {
	for _, f := range ringFiles(t, dir) {
		info, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		n += info.Size()
	}
	return n
}

func TestSnapshotRingCountBound(t *testing.T) {
	dir := t.TempDir()
	r := openRing(t, dir, SnapshotLimits{PerRegion: 3, KeepFree: 1}, quietLog())
	for i := range 5 {
		if !r.Save(snap("cam", "gate", i, 100, i%2 == 0)) {
			t.Fatalf("save %d refused", i)
		}
		r.Flush()
	}
	r.Save(snap("cam", "bins", 0, 100, false))
	r.Flush()
	want := []string{
		"cam/bins/20261202T030000.000000Z-state0.jpg",
		"cam/gate/20261202T030002.000000Z-state2.frame.jpg",
		"cam/gate/20261202T030002.000000Z-state2.jpg",
		"cam/gate/20261202T030003.000000Z-state3.jpg",
		"cam/gate/20261202T030004.000000Z-state4.frame.jpg",
		"cam/gate/20261202T030004.000000Z-state4.jpg",
	}
	if got := ringFiles(t, dir); !slices.Equal(got, want) {
		t.Errorf("files\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	st := r.Stats()
	if st.Saved != 6 || st.Removed != 2 || st.Files != 4 || st.Bytes != diskBytes(t, dir) || st.Failed != 0 {
		t.Errorf("stats %+v, %d bytes on disk", st, diskBytes(t, dir))
	}
	info, b, ok := r.Newest("cam", "gate")
	if !ok || info.Label != "state4" || !info.OnDisk || !bytes.Equal(b, bytes.Repeat([]byte{4}, 100)) {
		t.Errorf("newest: %+v, %v, %v", info, b[:min(len(b), 4)], ok)
	}
	if _, f, ok := r.NewestFrame("cam", "gate"); !ok || f[0] != 104 {
		t.Errorf("newest frame: %v", ok)
	}
	if _, _, ok := r.NewestFrame("cam", "bins"); ok {
		t.Error("a snapshot without a frame has a newest frame")
	}
	if _, _, ok := r.Newest("cam", "nothing"); ok {
		t.Error("a region without snapshots has a newest")
	}
}

// TestSnapshotRingByteBound: the bytes of all regions together stay
// within MaxBytes after every write, the oldest going first, and each
// region keeps its newest while older ones of others can go.
func TestSnapshotRingByteBound(t *testing.T) {
	dir := t.TempDir()
	r := openRing(t, dir, SnapshotLimits{PerRegion: 100, MaxBytes: 10_000, KeepFree: 1}, quietLog())
	for i := range 20 {
		region := []string{"a", "b", "c"}[i%3]
		if i >= 15 {
			region = "a" // a flapping region does not evict the others' newest
		}
		r.Save(snap("cam", region, i, 1500, false))
		r.Flush()
		if n := diskBytes(t, dir); n > 10_000 || n != r.Stats().Bytes {
			t.Fatalf("after %d: %d bytes on disk, stats say %d", i, n, r.Stats().Bytes)
		}
	}
	for _, region := range []string{"b", "c"} {
		info, _, ok := r.Newest("cam", region)
		if !ok || !info.OnDisk {
			t.Errorf("region %s lost its newest: %+v", region, info)
		}
	}
	// 6 files fit: b's and c's newest and a's four newest.
	got := ringFiles(t, dir)
	want := []string{"cam/a/20261202T030016.000000Z-state16.jpg", "cam/a/20261202T030017.000000Z-state17.jpg",
		"cam/a/20261202T030018.000000Z-state18.jpg", "cam/a/20261202T030019.000000Z-state19.jpg",
		"cam/b/20261202T030013.000000Z-state13.jpg", "cam/c/20261202T030014.000000Z-state14.jpg"}
	if !slices.Equal(got, want) {
		t.Errorf("files\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// One snapshot over the whole bound is not kept, and costs nothing else.
	r.Save(snap("cam", "b", 30, 10_001, false))
	r.Flush()
	if st := r.Stats(); st.Failed != 1 || !slices.Equal(ringFiles(t, dir), want) {
		t.Errorf("an oversized snapshot: %+v, files %v", st, ringFiles(t, dir))
	}
}

// TestSnapshotRingRescan: what a crash leaves (temporary files, a frame
// whose region picture was never renamed into place) is removed at the
// next open, the rest is indexed, and lower bounds apply at once.
func TestSnapshotRingRescan(t *testing.T) {
	dir := t.TempDir()
	r := openRing(t, dir, SnapshotLimits{KeepFree: 1}, quietLog())
	for i := range 4 {
		r.Save(snap("cam 1", "Tür/zu", i, 200, true))
	}
	r.Save(snap("cam 1", "other", 9, 50, false))
	r.Close()
	region := filepath.Join(dir, "cam%201", "T%C3%BCr%2Fzu")
	if _, err := os.Stat(region); err != nil {
		t.Fatalf("the region's folder: %v (files %v)", err, ringFiles(t, dir))
	}
	crash := []string{
		".20261202T030010.000000Z-state10.jpg.tmp",       // a write cut short
		".20261202T030011.000000Z-state11.frame.jpg.tmp", // another
		"20261202T030012.000000Z-state12.frame.jpg",      // its region picture never renamed
	}
	for _, f := range crash {
		if err := os.WriteFile(filepath.Join(region, f), []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	foreign := filepath.Join(region, "notes.txt")
	os.WriteFile(foreign, []byte("mine"), 0o600)

	r2 := openRing(t, dir, SnapshotLimits{PerRegion: 2, KeepFree: 1}, quietLog())
	for _, f := range crash {
		if _, err := os.Stat(filepath.Join(region, f)); !os.IsNotExist(err) {
			t.Errorf("%s survived the rescan (%v)", f, err)
		}
	}
	if _, err := os.Stat(foreign); err != nil {
		t.Errorf("a file not the ring's was removed: %v", err)
	}
	st := r2.Stats()
	if st.Files != 3 || st.Removed != 2 || st.Bytes != diskBytes(t, dir)-4 {
		t.Errorf("after the rescan: %+v, %d bytes on disk", st, diskBytes(t, dir))
	}
	info, b, ok := r2.Newest("cam 1", "Tür/zu")
	if !ok || info.Label != "state3" || !info.Time.Equal(snapT0.Add(3*time.Second)) || info.Bytes != 200 ||
		info.FrameBytes != 200 || !bytes.Equal(b, bytes.Repeat([]byte{3}, 200)) {
		t.Errorf("newest from disk: %+v, %v", info, ok)
	}
	if _, f, ok := r2.NewestFrame("cam 1", "Tür/zu"); !ok || !bytes.Equal(f, bytes.Repeat([]byte{103}, 200)) {
		t.Error("newest frame from disk is not the frame saved")
	}
}

// failingWrite fails every write as a full disk does.
func failingWrite(path string, data []byte) error {
	return &os.PathError{Op: "write", Path: path, Err: syscall.ENOSPC}
}

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSnapshotDiskFullInjected: every write failing costs the snapshots
// only: counted, one log line for all of them, the newest still served
// from memory, nothing left on disk.
func TestSnapshotDiskFullInjected(t *testing.T) {
	dir := t.TempDir()
	var log logBuffer
	r := openRing(t, dir, SnapshotLimits{KeepFree: 1}, slog.New(slog.NewTextHandler(&log, nil)))
	r.write = failingWrite
	for i := range 30 {
		if !r.Save(snap("cam", "gate", i, 100, i%2 == 0)) {
			r.Flush() // the writer was behind: let it catch up
		}
	}
	r.Flush()
	st := r.Stats()
	if st.Failed+st.Dropped != 30 || st.Failed == 0 || st.Saved != 0 || st.Files != 0 {
		t.Errorf("stats %+v", st)
	}
	if n := strings.Count(log.String(), "no space left"); n != 1 {
		t.Errorf("%d log lines for %d failures:\n%s", n, st.Failed, log.String())
	}
	info, b, ok := r.Newest("cam", "gate")
	if !ok || info.Label != "state29" || info.OnDisk || b[0] != 29 {
		t.Errorf("newest: %+v %v", info, ok)
	}
	if files := ringFiles(t, dir); len(files) != 0 {
		t.Errorf("files left: %v", files)
	}
}

// TestSnapshotWriterBehindDropsSaves: a writer stuck on a slow disk never
// blocks Save; what does not fit the queue is dropped and counted.
func TestSnapshotWriterBehindDropsSaves(t *testing.T) {
	r := openRing(t, t.TempDir(), SnapshotLimits{KeepFree: 1}, quietLog())
	release := make(chan struct{})
	r.write = func(path string, data []byte) error { <-release; return atomicWrite(path, data) }
	accepted := 0
	for i := range 3 * snapshotQueue {
		if r.Save(snap("cam", "gate", i, 10, false)) {
			accepted++
		}
	}
	close(release)
	r.Flush()
	st := r.Stats()
	if accepted > snapshotQueue+1 || st.Dropped != int64(3*snapshotQueue-accepted) || st.Saved != int64(accepted) {
		t.Errorf("%d accepted, stats %+v", accepted, st)
	}
	if info, _, _ := r.Newest("cam", "gate"); info.Label != fmt.Sprintf("state%d", 3*snapshotQueue-1) {
		t.Errorf("newest %+v, want the last saved", info)
	}
}

// TestSnapshotConcurrentSaves: several regions saving at once (and the
// same region from two goroutines) keep the counts and the bounds.
func TestSnapshotConcurrentSaves(t *testing.T) {
	dir := t.TempDir()
	r := openRing(t, dir, SnapshotLimits{PerRegion: 5, MaxBytes: 40_000, KeepFree: 1}, quietLog())
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	for g := range 8 {
		wg.Go(func() {
			for i := range 40 {
				if r.Save(snap("cam", fmt.Sprintf("r%d", g%6), g*100+i, 500, i%3 == 0)) {
					mu.Lock()
					accepted++
					mu.Unlock()
				} else {
					r.Flush()
				}
			}
		})
	}
	wg.Wait()
	r.Flush()
	st := r.Stats()
	if st.Saved != int64(accepted) || st.Saved+st.Dropped != 8*40 || st.Failed != 0 {
		t.Errorf("%d accepted, stats %+v", accepted, st)
	}
	if n := diskBytes(t, dir); n > 40_000 || n != st.Bytes || st.Files > 6*5 {
		t.Errorf("%d bytes on disk, stats %+v", n, st)
	}
	for g := range 6 {
		if _, _, ok := r.Newest("cam", fmt.Sprintf("r%d", g)); !ok {
			t.Errorf("region r%d has no newest", g)
		}
	}
	// Reopened, the ring finds what it wrote.
	r.Close()
	r2 := openRing(t, dir, SnapshotLimits{PerRegion: 5, MaxBytes: 40_000, KeepFree: 1}, quietLog())
	if st2 := r2.Stats(); st2.Files != st.Files || st2.Bytes != st.Bytes {
		t.Errorf("reopened: %+v, before %+v", st2, st)
	}
}

func TestSnapshotNames(t *testing.T) {
	for _, s := range []string{"gate", "cam 1", "Tür/zu", "..", ".hidden", "a%2Fb", "50%", "x\x00y", "ok.name"} {
		e := escapeName(s)
		if strings.ContainsAny(e, "/\x00 ") || e == "." || e == ".." || strings.HasPrefix(e, ".") {
			t.Errorf("%q escapes to %q", s, e)
		}
		if got, ok := unescapeName(e); !ok || got != s {
			t.Errorf("%q: %q unescapes to %q, %v", s, e, got, ok)
		}
	}
	for _, bad := range []string{"", "%", "%4", "%zz"} {
		if _, ok := unescapeName(bad); ok {
			t.Errorf("%q unescapes", bad)
		}
	}
	long := strings.Repeat("ü", 200)
	if n := len(truncateEscaped(escapeName(long), maxLabelInName)); n > maxLabelInName || n%3 != 0 {
		t.Errorf("a long label is %d bytes in a name", n)
	}
	// Two snapshots of a region in one microsecond get two files.
	dir := t.TempDir()
	r := openRing(t, dir, SnapshotLimits{KeepFree: 1}, quietLog())
	r.Save(snap("cam", "gate", 1, 10, false))
	r.Save(snap("cam", "gate", 1, 20, false))
	r.Flush()
	if st := r.Stats(); st.Files != 2 || st.Bytes != 30 {
		t.Errorf("two snapshots at once: %+v, files %v", st, ringFiles(t, dir))
	}
}

// TestSnapshotOfAFrame: the pieces as the agent uses them: TakeSnapshot
// of a region of a frame, saved, read back after a restart; the region
// picture shows the region, the frame picture the whole frame with the
// region's box drawn.
func TestSnapshotOfAFrame(t *testing.T) {
	pix := make([]byte, 3*320*240)
	for i := range pix {
		pix[i] = 30
	}
	region := image.Rect(100, 60, 220, 180)
	for y := region.Min.Y; y < region.Max.Y; y++ {
		for x := region.Min.X; x < region.Max.X; x++ {
			pix[3*(y*320+x)+2] = 220 // red inside the region
		}
	}
	f := camera.NewFrame(pix, 320, 240, 960, snapT0, 0, nil)
	var e picture.Encoder
	green := color.RGBA{0, 0xff, 0, 0xff}
	boxes := []picture.Box{{Rect: region, Label: "gate: open 0.97", Color: green}}
	jpg, frame, err := TakeSnapshot(&e, f, region, boxes, SnapshotConfig{Frame: true})
	if err != nil {
		t.Fatal(err)
	}
	r := openRing(t, t.TempDir(), SnapshotLimits{KeepFree: 1}, quietLog())
	r.Save(Snapshot{Camera: "cam", Region: "gate", Label: "open", Time: f.Time, JPEG: jpg, Frame: frame})
	r.Close()
	r2 := openRing(t, r.dir, SnapshotLimits{KeepFree: 1}, quietLog())
	_, b, ok := r2.Newest("cam", "gate")
	_, fb, fok := r2.NewestFrame("cam", "gate")
	if !ok || !fok {
		t.Fatal("no snapshot")
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != 120 || img.Bounds().Dy() != 120 {
		t.Fatalf("the snapshot is %v, want the 120x120 region", img.Bounds())
	}
	if c, _, _, _ := img.At(60, 60).RGBA(); c>>8 < 200 {
		t.Errorf("the snapshot's middle has red %d: not the region", c>>8)
	}
	whole, err := jpeg.Decode(bytes.NewReader(fb))
	if err != nil {
		t.Fatal(err)
	}
	if whole.Bounds().Dx() != 320 || whole.Bounds().Dy() != 240 {
		t.Fatalf("the frame snapshot is %v", whole.Bounds())
	}
	// The outline is 1 pixel: JPEG blurs it, so look for green's rise.
	_, g, _, _ := whole.At(160, region.Max.Y-1).RGBA()
	_, g0, _, _ := whole.At(160, region.Max.Y-5).RGBA()
	if g>>8 < 100+g0>>8 {
		t.Errorf("no box at the region's bottom edge: green %d there, %d inside", g>>8, g0>>8)
	}
	if _, _, err := TakeSnapshot(&e, f, image.Rectangle{}, nil, SnapshotConfig{}); err == nil {
		t.Error("an empty region: no error")
	}
}

// TestSnapshotRingUnusableFolder: a ring whose folder cannot be made
// (under a file here; a full or read-only disk in life) still opens, and
// its writes fail, counted, without stopping anything.
func TestSnapshotRingUnusableFolder(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	var log logBuffer
	r := openRing(t, filepath.Join(file, "snapshots"), SnapshotLimits{KeepFree: 1}, slog.New(slog.NewTextHandler(&log, nil)))
	r.Save(snap("cam", "gate", 1, 10, false))
	r.Flush()
	if st := r.Stats(); st.Failed != 1 || !strings.Contains(log.String(), "not a directory") {
		t.Errorf("stats %+v, log:\n%s", st, log.String())
	}
	if _, b, ok := r.Newest("cam", "gate"); !ok || len(b) != 10 {
		t.Error("the newest snapshot is not served from memory")
	}
}

// TestSnapshotSaveCopies: Save keeps its own copy, so an Encoder's
// reused bytes can be handed over as they are.
func TestSnapshotSaveCopies(t *testing.T) {
	dir := t.TempDir()
	r := openRing(t, dir, SnapshotLimits{KeepFree: 1}, quietLog())
	s := snap("cam", "gate", 1, 100, true)
	r.Save(s)
	clear(s.JPEG)
	clear(s.Frame)
	r.Flush()
	_, b, _ := r.Newest("cam", "gate")
	_, f, _ := r.NewestFrame("cam", "gate")
	disk, err := os.ReadFile(filepath.Join(dir, "cam", "gate", "20261202T030001.000000Z-state1.jpg"))
	if err != nil || b[0] != 1 || f[0] != 101 || !bytes.Equal(disk, b) {
		t.Errorf("the ring kept the caller's slices (%v)", err)
	}
}
