package agent

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coatnet-edge/coatnet-edge/camera"
	"github.com/coatnet-edge/coatnet-edge/internal/boundedio"
	"github.com/coatnet-edge/coatnet-edge/picture"
)

// SnapshotRing keeps the JPEGs taken at each region's confirmed state
// changes on disk, state_dir/snapshots/<camera>/<region>/<time>-<label>.jpg
// (and <time>-<label>.frame.jpg for the whole frame, when taken), within
// bounds: a number of changes per region and a number of bytes for all.
// The oldest go first.
//
// Save never blocks the caller: one goroutine writes, from a short queue,
// and a snapshot that finds the queue full is dropped. Writes are atomic
// (a temporary file, fsync, rename, fsync of the folder), so a crash
// leaves either the whole picture or a temporary file, which the next
// open removes. A full disk costs snapshots, never labels: a write that
// fails is counted and logged once per storeLogInterval, and no snapshot
// is written while the disk has less than KeepFree bytes free, which the
// MQTT message store may need.
type SnapshotRing struct {
	dir   string
	log   *slog.Logger
	queue chan snapshotOp
	done  chan struct{}
	close sync.Once

	// write writes a file atomically: atomicWrite, or a test's.
	write func(path string, data []byte) error
	// free is the free bytes of the file system at dir (-1 unknown).
	free func(dir string) int64

	// sendMu guards closed and the queue's closing: senders hold it to
	// read, Close to write.
	sendMu sync.RWMutex
	closed bool

	mu      sync.Mutex
	limits  SnapshotLimits
	regions map[regionKey]*regionSnapshots
	bytes   int64 // on disk, all regions
	count   int   // entries on disk, all regions

	saved, failed, dropped, removed atomic.Int64

	// A full disk fails every snapshot, a slow one drops them: one line
	// per storeLogInterval for each.
	failLog, dropLog logLimiter
}

// SnapshotLimits bound a SnapshotRing; zero fields take the defaults.
type SnapshotLimits struct {
	// PerRegion is how many state changes a region keeps.
	PerRegion int
	// MaxBytes bounds all snapshots' files together.
	MaxBytes int64
	// KeepFree is the free space a snapshot write leaves on the file
	// system at least.
	KeepFree int64
}

// Snapshot defaults. KeepFree: the MQTT store's worst case at its default
// store_limit of 10,000 labels, a 4 KiB block each, with room to spare.
const (
	DefaultSnapshotsPerRegion = 20
	DefaultSnapshotBytes      = 64 << 20
	DefaultSnapshotKeepFree   = 64 << 20
)

func (l SnapshotLimits) withDefaults() SnapshotLimits {
	if l.PerRegion <= 0 {
		l.PerRegion = DefaultSnapshotsPerRegion
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultSnapshotBytes
	}
	if l.KeepFree <= 0 {
		l.KeepFree = DefaultSnapshotKeepFree
	}
	return l
}

// Snapshot is the picture of one confirmed state change.
type Snapshot struct {
	Camera, Region string
	// Label is the new state.
	Label string
	Time  time.Time
	// JPEG is the region's picture; Frame (nil: none) the whole frame
	// with the regions drawn. Save copies both (a picture.Encoder
	// reuses its bytes).
	JPEG, Frame []byte
}

// SnapshotInfo describes a snapshot the ring holds.
type SnapshotInfo struct {
	Camera, Region, Label string
	Time                  time.Time
	// Bytes is the region picture's size; FrameBytes the frame's, 0 when
	// there is none.
	Bytes, FrameBytes int64
	// OnDisk is false while the snapshot waits to be written, and when
	// it could not be.
	OnDisk bool
}

// SnapshotStats are the ring's counters, for the stats topic.
type SnapshotStats struct {
	Saved   int64 `json:"snapshots_saved" metric:"counter"`
	Failed  int64 `json:"snapshots_failed" metric:"counter"`  // write failed or the disk was too full
	Dropped int64 `json:"snapshots_dropped" metric:"counter"` // the writer was behind
	Removed int64 `json:"snapshots_removed" metric:"counter"` // by the bounds
	Files   int   `json:"snapshots_kept"`                     // state changes on disk
	Bytes   int64 `json:"snapshot_bytes"`
}

type regionKey struct{ camera, region string }

// regionSnapshots is one region's folder: its entries on disk, oldest
// first, and the newest snapshot saved since the start.
type regionSnapshots struct {
	dir     string
	entries []snapshotEntry
	newest  *Snapshot // nil: none saved since the start
	onDisk  bool      // newest was written
}

type snapshotEntry struct {
	stem              string // file name without .jpg / .frame.jpg
	time              time.Time
	label             string
	bytes, frameBytes int64
}

// snapshotOp is a queued save, or a barrier (done) for Flush.
type snapshotOp struct {
	s    *Snapshot
	done chan struct{}
}

// snapshotQueue: state changes are seconds apart; a few in flight cover
// several regions changing at once on a slow card.
const snapshotQueue = 8

// Suffixes of the ring's files.
const (
	snapshotExt      = ".jpg"
	snapshotFrameExt = ".frame.jpg"
	snapshotTmpExt   = ".tmp"
	snapshotTime     = "20060102T150405.000000Z"
)

// maxSnapshotFile bounds a picture read back from disk: pictures are
// bounded when made, far below this.
const maxSnapshotFile = 16 << 20

// OpenSnapshotRing opens the ring in dir (usually state_dir/snapshots),
// removing what a crash left half-written, and starts its writer; Close
// stops it. It cannot fail: a folder that cannot be made or read (a full
// or read-only disk) is logged, and each write tries again, so that
// snapshots never stop the agent.
func OpenSnapshotRing(dir string, limits SnapshotLimits, log *slog.Logger) *SnapshotRing {
	r := &SnapshotRing{
		dir: dir, log: log, queue: make(chan snapshotOp, snapshotQueue), done: make(chan struct{}),
		write: atomicWrite, free: freeBytes, limits: limits.withDefaults(), regions: map[regionKey]*regionSnapshots{},
		failLog: logLimiter{b: bucket{burst: 1, every: storeLogInterval}, what: "snapshot"},
		dropLog: logLimiter{b: bucket{burst: 1, every: storeLogInterval}, what: "snapshot"},
	}
	err := os.MkdirAll(dir, 0o700)
	if err == nil {
		err = r.scan()
	}
	if err != nil {
		log.Warn("snapshots: cannot open their folder; each snapshot will try again", "dir", dir, "err", err)
	}
	r.mu.Lock()
	for k := range r.regions {
		r.trim(k)
	}
	r.mu.Unlock()
	go r.run()
	return r
}

// scan indexes the pictures under dir and removes temporary files and
// frames without their region picture (writes a crash cut short).
func (r *SnapshotRing) scan() error {
	cameras, err := os.ReadDir(r.dir)
	if err != nil {
		return err
	}
	for _, c := range cameras {
		camera, ok := unescapeName(c.Name())
		if !c.IsDir() || !ok {
			continue
		}
		regions, err := os.ReadDir(filepath.Join(r.dir, c.Name()))
		if err != nil {
			r.log.Warn("snapshots: cannot list a camera's folder", "err", err)
			continue
		}
		for _, g := range regions {
			region, ok := unescapeName(g.Name())
			if !g.IsDir() || !ok {
				continue
			}
			rs := r.scanRegion(filepath.Join(r.dir, c.Name(), g.Name()))
			if len(rs.entries) > 0 {
				r.regions[regionKey{camera, region}] = rs
			}
		}
	}
	return nil
}

func (r *SnapshotRing) scanRegion(dir string) *regionSnapshots {
	rs := &regionSnapshots{dir: dir}
	files, err := os.ReadDir(dir)
	if err != nil {
		r.log.Warn("snapshots: cannot list a region's folder", "dir", dir, "err", err)
		return rs
	}
	frames := map[string]int64{}
	for _, f := range files {
		name := f.Name()
		info, err := f.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		switch {
		case strings.HasSuffix(name, snapshotTmpExt):
			r.removeFile(filepath.Join(dir, name), "an unfinished write")
		case strings.HasSuffix(name, snapshotFrameExt):
			frames[strings.TrimSuffix(name, snapshotFrameExt)] = info.Size()
		case strings.HasSuffix(name, snapshotExt):
			e, ok := parseStem(strings.TrimSuffix(name, snapshotExt))
			if !ok {
				continue // not the ring's: left alone
			}
			e.bytes = info.Size()
			rs.entries = append(rs.entries, e)
		}
	}
	for i := range rs.entries {
		e := &rs.entries[i]
		if n, ok := frames[e.stem]; ok {
			e.frameBytes = n
			delete(frames, e.stem)
		}
		r.bytes += e.bytes + e.frameBytes
	}
	for stem := range frames {
		if _, ok := parseStem(stem); ok {
			r.removeFile(filepath.Join(dir, stem+snapshotFrameExt), "a frame without its region picture")
		}
	}
	slices.SortFunc(rs.entries, compareEntries)
	r.count += len(rs.entries)
	return rs
}

func compareEntries(a, b snapshotEntry) int {
	if c := a.time.Compare(b.time); c != 0 {
		return c
	}
	return strings.Compare(a.stem, b.stem)
}

func (r *SnapshotRing) removeFile(path, what string) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		r.log.Warn("snapshots: cannot remove "+what, "file", path, "err", err)
	}
}

// Save makes s its region's newest snapshot and queues it to be written;
// false when s is invalid or the ring closed, or when it is not written
// because the writer is behind (counted in Dropped; s is still the
// newest, in memory).
func (r *SnapshotRing) Save(s Snapshot) bool {
	if s.Camera == "" || s.Region == "" || len(s.JPEG) == 0 {
		return false
	}
	s.JPEG, s.Frame = bytes.Clone(s.JPEG), bytes.Clone(s.Frame)
	sp := &s
	r.sendMu.RLock()
	defer r.sendMu.RUnlock()
	if r.closed {
		return false
	}
	r.mu.Lock()
	rs := r.region(regionKey{s.Camera, s.Region})
	rs.newest, rs.onDisk = sp, false
	r.mu.Unlock()
	select {
	case r.queue <- snapshotOp{s: sp}:
		return true
	default:
		r.dropped.Add(1)
		r.dropLog.log(r.log, slog.LevelWarn, "snapshots: the writer is behind (a slow disk); snapshot not written",
			"camera", s.Camera, "region", s.Region)
		return false
	}
}

// region is k's record, made if new; r.mu held.
func (r *SnapshotRing) region(k regionKey) *regionSnapshots {
	rs := r.regions[k]
	if rs == nil {
		rs = &regionSnapshots{dir: filepath.Join(r.dir, escapeName(k.camera), escapeName(k.region))}
		r.regions[k] = rs
	}
	return rs
}

// Newest is the newest snapshot of a region and its region picture,
// saved since the start or else read from disk; false when there is
// none. The bytes are shared: do not change them.
func (r *SnapshotRing) Newest(camera, region string) (SnapshotInfo, []byte, bool) {
	return r.newest(camera, region, false)
}

// NewestFrame is Newest's whole-frame picture; false when the newest
// snapshot has none.
func (r *SnapshotRing) NewestFrame(camera, region string) (SnapshotInfo, []byte, bool) {
	return r.newest(camera, region, true)
}

func (r *SnapshotRing) newest(camera, region string, frame bool) (SnapshotInfo, []byte, bool) {
	r.mu.Lock()
	rs := r.regions[regionKey{camera, region}]
	if rs == nil {
		r.mu.Unlock()
		return SnapshotInfo{}, nil, false
	}
	if s := rs.newest; s != nil {
		info := SnapshotInfo{Camera: camera, Region: region, Label: s.Label, Time: s.Time, Bytes: int64(len(s.JPEG)),
			FrameBytes: int64(len(s.Frame)), OnDisk: rs.onDisk}
		r.mu.Unlock()
		if frame {
			return info, s.Frame, s.Frame != nil
		}
		return info, s.JPEG, true
	}
	if len(rs.entries) == 0 {
		r.mu.Unlock()
		return SnapshotInfo{}, nil, false
	}
	e := rs.entries[len(rs.entries)-1]
	path := filepath.Join(rs.dir, e.stem+snapshotExt)
	if frame {
		path = filepath.Join(rs.dir, e.stem+snapshotFrameExt)
	}
	r.mu.Unlock()
	info := SnapshotInfo{Camera: camera, Region: region, Label: e.label, Time: e.time, Bytes: e.bytes,
		FrameBytes: e.frameBytes, OnDisk: true}
	if frame && e.frameBytes == 0 {
		return info, nil, false
	}
	b, err := boundedio.ReadFile(path, maxSnapshotFile)
	if err != nil {
		// Removed by the bounds meanwhile, or unreadable.
		return info, nil, false
	}
	return info, b, true
}

// Stats are the ring's counters.
func (r *SnapshotRing) Stats() SnapshotStats {
	r.mu.Lock()
	files, bytes := r.count, r.bytes
	r.mu.Unlock()
	return SnapshotStats{Saved: r.saved.Load(), Failed: r.failed.Load(), Dropped: r.dropped.Load(),
		Removed: r.removed.Load(), Files: files, Bytes: bytes}
}

// SetLimits changes the bounds (a reload); the next write applies them.
func (r *SnapshotRing) SetLimits(l SnapshotLimits) {
	r.mu.Lock()
	r.limits = l.withDefaults()
	r.mu.Unlock()
}

// Flush waits until what was saved before it is written (or failed).
func (r *SnapshotRing) Flush() {
	done := make(chan struct{})
	r.sendMu.RLock()
	if r.closed {
		r.sendMu.RUnlock()
		return
	}
	r.queue <- snapshotOp{done: done} // the writer takes no lock to receive
	r.sendMu.RUnlock()
	<-done
}

// Close writes what is queued and stops the writer; safe to call more
// than once.
func (r *SnapshotRing) Close() error {
	r.close.Do(func() {
		r.sendMu.Lock()
		r.closed = true
		close(r.queue)
		r.sendMu.Unlock()
	})
	<-r.done
	return nil
}

func (r *SnapshotRing) run() {
	defer close(r.done)
	for op := range r.queue {
		if op.done != nil {
			close(op.done)
			continue
		}
		r.store(op.s)
	}
}

// store writes s's files and applies the bounds.
func (r *SnapshotRing) store(s *Snapshot) {
	k := regionKey{s.Camera, s.Region}
	r.mu.Lock()
	rs := r.region(k)
	keepFree := r.limits.KeepFree
	maxBytes := r.limits.MaxBytes
	e := snapshotEntry{time: s.Time.UTC(), label: s.Label, bytes: int64(len(s.JPEG)), frameBytes: int64(len(s.Frame))}
	e.stem = r.uniqueStem(rs, e.time, s.Label)
	dir := rs.dir
	r.mu.Unlock()

	size := e.bytes + e.frameBytes
	if size > maxBytes {
		r.failed.Add(1)
		r.failLog.log(r.log, slog.LevelWarn, "snapshots: a snapshot is larger than all snapshots may be; not kept",
			"camera", s.Camera, "region", s.Region, "bytes", size, "max_bytes", maxBytes)
		return
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		r.fail(s, err)
		return
	}
	if err := roomFor(r.free, dir, size, keepFree); err != nil {
		r.fail(s, err)
		return
	}
	if s.Frame != nil {
		if err := r.write(filepath.Join(dir, e.stem+snapshotFrameExt), s.Frame); err != nil {
			r.fail(s, err)
			return
		}
	}
	if err := r.write(filepath.Join(dir, e.stem+snapshotExt), s.JPEG); err != nil {
		if s.Frame != nil {
			r.removeFile(filepath.Join(dir, e.stem+snapshotFrameExt), "the frame of a failed snapshot")
		}
		r.fail(s, err)
		return
	}
	r.saved.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	rs.entries = append(rs.entries, e)
	slices.SortFunc(rs.entries, compareEntries) // a clock set back: keep the order
	r.count++
	r.bytes += size
	if rs.newest == s {
		rs.onDisk = true
	}
	r.trim(k)
}

func (r *SnapshotRing) fail(s *Snapshot, err error) {
	r.failed.Add(1)
	r.failLog.log(r.log, slog.LevelWarn, "snapshots: cannot write a snapshot; the state is published without it",
		"camera", s.Camera, "region", s.Region, "err", err)
}

// uniqueStem names an entry of rs; r.mu held. Two snapshots of a region
// in one microsecond (a clock set back) get distinct names.
func (r *SnapshotRing) uniqueStem(rs *regionSnapshots, t time.Time, label string) string {
	for {
		stem := t.Format(snapshotTime) + "-" + truncateEscaped(escapeName(label), maxLabelInName)
		if !slices.ContainsFunc(rs.entries, func(e snapshotEntry) bool { return e.stem == stem }) {
			return stem
		}
		t = t.Add(time.Microsecond)
	}
}

// trim removes k's oldest entries beyond PerRegion, then the oldest of
// all regions while MaxBytes is exceeded, sparing each region's newest
// while others remain and never k's newest; r.mu held.
func (r *SnapshotRing) trim(k regionKey) {
	rs := r.regions[k]
	for rs != nil && len(rs.entries) > r.limits.PerRegion {
		r.removeEntry(rs, 0)
	}
	for spareNewest := true; r.bytes > r.limits.MaxBytes; {
		var oldest *regionSnapshots
		for key, o := range r.regions {
			n := len(o.entries)
			if spareNewest || key == k {
				n--
			}
			if n <= 0 {
				continue
			}
			if oldest == nil || compareEntries(o.entries[0], oldest.entries[0]) < 0 {
				oldest = o
			}
		}
		if oldest == nil {
			if !spareNewest {
				return
			}
			spareNewest = false
			continue
		}
		r.removeEntry(oldest, 0)
	}
}

// removeEntry deletes rs's i-th entry and its files; r.mu held.
func (r *SnapshotRing) removeEntry(rs *regionSnapshots, i int) {
	e := rs.entries[i]
	r.removeFile(filepath.Join(rs.dir, e.stem+snapshotExt), "an old snapshot")
	if e.frameBytes > 0 {
		r.removeFile(filepath.Join(rs.dir, e.stem+snapshotFrameExt), "an old snapshot")
	}
	rs.entries = slices.Delete(rs.entries, i, i+1)
	r.count--
	r.bytes -= e.bytes + e.frameBytes
	r.removed.Add(1)
}

// roomFor is an error when writing size bytes under dir would leave less
// than keepFree bytes free (free: freeBytes, or a test's), which the MQTT
// message store may need: what the snapshot ring and the collector write
// is worth less than the states and labels.
func roomFor(free func(dir string) int64, dir string, size, keepFree int64) error {
	if f := free(dir); f >= 0 && f-size < keepFree {
		return fmt.Errorf("%d bytes free, %d kept free for the message store", f, keepFree)
	}
	return nil
}

// atomicWrite writes data to path through a temporary file in the same
// folder, synced before the rename and the folder after it, so that after
// a crash path holds all of data or does not exist. A failed write
// removes its temporary file.
func atomicWrite(path string, data []byte) error {
	dir, name := filepath.Split(path)
	// The folder's sync is best effort: the file itself is complete.
	_, err := replaceFile(filepath.Join(dir, "."+name+snapshotTmpExt), path, data, nil)
	return err
}

// maxLabelInName bounds the escaped label in a file name: a name may have
// 255 bytes.
const maxLabelInName = 120

// escapeName makes a camera, region or label name safe as one path
// element and reversibly: letters, digits, '-', '_' and (not first) '.'
// stay, any other byte becomes %XX.
func escapeName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' ||
			(c == '.' && i > 0) {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

func unescapeName(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		c, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		b.WriteByte(byte(c))
		i += 2
	}
	return b.String(), s != ""
}

// truncateEscaped cuts an escaped name to at most n bytes, not inside an
// escape.
func truncateEscaped(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	if i := strings.LastIndexByte(s, '%'); i >= 0 && i > len(s)-3 {
		s = s[:i]
	}
	return s
}

// parseStem reads "<time>-<escaped label>" back.
func parseStem(stem string) (snapshotEntry, bool) {
	ts, label, ok := strings.Cut(stem, "-")
	if !ok {
		return snapshotEntry{}, false
	}
	t, err := time.Parse(snapshotTime, ts)
	if err != nil {
		return snapshotEntry{}, false
	}
	l, ok := unescapeName(label)
	if !ok && label != "" {
		return snapshotEntry{}, false
	}
	return snapshotEntry{stem: stem, time: t, label: l}, true
}

// Snapshot picture defaults (SnapshotConfig's): a region as a person
// checks it on a phone.
const (
	DefaultSnapshotSide     = 640
	DefaultSnapshotMaxBytes = 256 << 10
)

// TakeSnapshot encodes the pictures of a state change of the region at
// rect of f (in f's pixels): its crop, and with o.Frame the whole frame
// with boxes drawn (picture.Box: each region's rectangle and a label such
// as "gate: open 0.97"), bounded by o (zero fields take the defaults). The
// bytes are the caller's; e is only borrowed.
// Call it before f is released.
func TakeSnapshot(e *picture.Encoder, f camera.Frame, rect image.Rectangle, boxes []picture.Box,
	o SnapshotConfig) (region, frame []byte, err error) {
	po := picture.Options{MaxSide: o.MaxSide, Quality: o.Quality, MaxBytes: o.MaxBytes}
	if po.MaxSide <= 0 {
		po.MaxSide = DefaultSnapshotSide
	}
	if po.MaxBytes <= 0 {
		po.MaxBytes = DefaultSnapshotMaxBytes
	}
	if rect.Empty() {
		return nil, nil, fmt.Errorf("snapshot: region %v: %w", rect, picture.ErrEmpty)
	}
	ro := po
	ro.Crop = rect
	b, _, err := e.EncodeFrame(f, ro)
	if err != nil {
		return nil, nil, fmt.Errorf("snapshot of the region: %w", err)
	}
	region = bytes.Clone(b)
	if o.Frame {
		fo := po
		fo.Boxes = boxes
		b, _, err := e.EncodeFrame(f, fo)
		if err != nil {
			return region, nil, fmt.Errorf("snapshot of the frame: %w", err)
		}
		frame = bytes.Clone(b)
	}
	return region, frame, nil
}
