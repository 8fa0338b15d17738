package agent

import (
	"context"
	"image"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coatnet-edge/coatnet-edge/camera"
)

// The inference scheduler of places: the camera goroutines hand each due
// region's crop to the region (cropSlot.offer), and one goroutine
// classifies the regions that have one, in turn (scheduler.take). A
// region holds at most one crop waiting: a newer one replaces it and the
// replaced one counts as dropped, so a board that cannot keep up skips
// work instead of falling behind, and a busy region cannot starve the
// others. One region is classified at a time, each with its model's
// engine, which runs on model.threads workers: the engine, not the
// scheduler, spreads one classification over the CPUs.

// cropBuf is a copy of a region's pixels (BGR, stride 3*w) and what the
// classification needs to know about the frame they came from. Its
// buffers are reused: they grow only when the region's size does.
type cropBuf struct {
	pix         []byte
	w, h        int
	t           time.Time
	index, loop int64
	// frame is the whole frame (stride 3*fw), copied only for regions
	// whose snapshot shows it; rect is the region in it.
	frame  []byte
	fw, fh int
	rect   image.Rectangle
}

// crop is the region's pixels as a frame.
func (b *cropBuf) crop() camera.Frame {
	return camera.Frame{BGR: b.pix, Width: b.w, Height: b.h, Stride: 3 * b.w, Time: b.t, Index: b.index, Loop: b.loop}
}

// whole is the copied whole frame (only when frame was asked for).
func (b *cropBuf) whole() camera.Frame {
	return camera.Frame{BGR: b.frame, Width: b.fw, Height: b.fh, Stride: 3 * b.fw, Time: b.t, Index: b.index,
		Loop: b.loop}
}

// copyBGR copies r of f into dst (stride 3*r.Dx()), growing dst only when
// it is too small. A picture frame (a folder source) is converted pixel
// by pixel, which allocates; camera frames are BGR and copy row by row.
func copyBGR(dst []byte, f camera.Frame, r image.Rectangle) []byte {
	w, h := r.Dx(), r.Dy()
	n := 3 * w * h
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	dst = dst[:n]
	if f.Image == nil {
		for y := range h {
			src := f.BGR[(r.Min.Y+y)*f.Stride+3*r.Min.X:]
			copy(dst[3*w*y:3*w*(y+1)], src[:3*w])
		}
		return dst
	}
	b := f.Image.Bounds()
	for y := range h {
		for x := range w {
			cr, cg, cb, _ := f.Image.At(b.Min.X+r.Min.X+x, b.Min.Y+r.Min.Y+y).RGBA()
			i := 3 * (w*y + x)
			dst[i], dst[i+1], dst[i+2] = byte(cb>>8), byte(cg>>8), byte(cr>>8)
		}
	}
	return dst
}

// cropSlot is a region's hand-over between its camera's goroutine (pend)
// and the scheduler (work): two buffers swapped under mu, so the copy
// never waits for a classification and a classification never reads a
// buffer being written.
type cropSlot struct {
	mu      sync.Mutex
	pending bool
	pend    cropBuf
	work    cropBuf // the scheduler's
	dropped atomic.Int64
}

// offer copies the region rect of f into the slot, replacing (and
// counting as dropped) a crop the scheduler has not taken yet. With whole,
// the whole frame is copied too.
func (s *cropSlot) offer(f camera.Frame, rect image.Rectangle, whole bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending {
		s.dropped.Add(1)
	}
	b := &s.pend
	b.pix = copyBGR(b.pix, f, rect)
	b.w, b.h, b.t, b.index, b.loop, b.rect = rect.Dx(), rect.Dy(), f.Time, f.Index, f.Loop, rect
	b.fw, b.fh = 0, 0
	if whole {
		fw, fh := FrameSize(f)
		b.frame = copyBGR(b.frame, f, image.Rect(0, 0, fw, fh))
		b.fw, b.fh = fw, fh
	}
	s.pending = true
}

// take swaps a waiting crop into work and reports whether there was one.
func (s *cropSlot) take() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.pending {
		return false
	}
	s.pending = false
	s.pend, s.work = s.work, s.pend
	return true
}

// scheduler hands the regions' crops to one classifying goroutine, round
// robin over the regions with a crop waiting.
type scheduler struct {
	mu      sync.Mutex
	regions []*placeRegion
	next    int
	wake    chan struct{}
}

func newScheduler() *scheduler { return &scheduler{wake: make(chan struct{}, 1)} }

// set replaces the regions (a reload, with run stopped).
func (s *scheduler) set(regions []*placeRegion) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.regions, s.next = regions, 0
}

// signal says a crop is waiting; it never blocks.
func (s *scheduler) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// take is the next region after the last one taken that has a crop
// waiting, now in its slot's work; nil: none.
func (s *scheduler) take() *placeRegion {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.regions)
	for i := range n {
		j := (s.next + i) % n
		if r := s.regions[j]; r.slot.take() {
			s.next = (j + 1) % n
			return r
		}
	}
	return nil
}

// run classifies the waiting crops with classify until ctx ends.
func (s *scheduler) run(ctx context.Context, classify func(*placeRegion)) {
	for {
		if r := s.take(); r != nil {
			classify(r)
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
	}
}

// drain classifies what is still waiting.
func (s *scheduler) drain(classify func(*placeRegion)) {
	for r := s.take(); r != nil; r = s.take() {
		classify(r)
	}
}
