package agent

import (
	"context"
	"fmt"
	"image"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/coatnet-edge/coatnet-edge/camera"
)

// TopK returns the k best classes whose probability (the softmax of the
// logits) reaches threshold, best first; ties keep the class order. It
// runs every frame: it selects in k passes instead of sorting every class,
// and allocates only the result.
func TopK(logits []float32, labels []string, k int, threshold float64) []Label {
	if len(logits) == 0 || k <= 0 {
		return nil
	}
	return topKInto(make([]Label, 0, min(k, len(logits))), logits, labels, k, threshold)
}

// topKInto is TopK appending to out, which a caller reuses so that a
// classification allocates nothing.
func topKInto(out []Label, logits []float32, labels []string, k int, threshold float64) []Label {
	if len(logits) == 0 || k <= 0 {
		return out
	}
	mx := float64(slices.Max(logits))
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v) - mx)
	}
	prob := func(i int) float64 { return math.Exp(float64(logits[i])-mx) / sum }
	prev, prevP := -1, math.Inf(1)
	for range min(k, len(logits)) {
		// The best class ranked after prev: lower probability, or equal
		// probability and a higher index.
		best, bestP := -1, math.Inf(-1)
		for i := range logits {
			p := prob(i)
			if (p < prevP || p == prevP && i > prev) && p > bestP {
				best, bestP = i, p
			}
		}
		if best < 0 || bestP < threshold {
			break
		}
		name := fmt.Sprint(best)
		if best < len(labels) {
			name = labels[best]
		}
		out = append(out, Label{Label: name, Score: bestP})
		prev, prevP = best, bestP
	}
	return out
}

// changeFilter decides which classifications are published in "change"
// mode: the first one, then one whenever a new top label has led for
// hysteresis consecutive frames, so a label flickering between two classes
// does not flood subscribers.
type changeFilter struct {
	hysteresis int
	published  string // top label last published ("" before the first)
	started    bool
	candidate  string
	run        int
}

func (f *changeFilter) admit(top string) bool {
	if !f.started {
		f.started, f.published = true, top
		return true
	}
	if top == f.published {
		f.candidate, f.run = "", 0
		return false
	}
	if top == f.candidate {
		f.run++
	} else {
		f.candidate, f.run = top, 1
	}
	if f.run >= f.hysteresis {
		f.published, f.candidate, f.run = top, "", 0
		return true
	}
	return false
}

// Classifier labels a picture or an OpenCV BGR frame; model.Classifier
// is one.
type Classifier interface {
	Logits(img image.Image) ([]float32, error)
	LogitsBGR(pix []byte, width, height, stride int) ([]float32, error)
}

// LabelSink takes the messages to publish; Publisher is one.
type LabelSink interface {
	PublishLabels(LabelsMessage) (uint64, error)
}

// Pipeline classifies the newest frame of a source, at most MaxRate times a
// second, and publishes the labels.
type Pipeline struct {
	Source     *camera.Latest
	Classifier Classifier
	Labels     []string // class names of the model
	Sink       LabelSink
	Camera     string // camera name in the messages
	Model      string // model id in the messages
	Config     PipelineConfig
	// Control holds the live threshold, rate and pause, which override
	// Config's; nil: Config's, never paused.
	Control *Control
	Stats   *Stats
	// LabelLog, when set, logs every published message (the demo does).
	LabelLog *slog.Logger
	// Tap hands frames to the web server's live view; nil: none.
	Tap *frameTap
	// collect keeps frames for training (pipeline.collect); nil: off.
	collect *frameCollector
}

// Run classifies and publishes until ctx ends (nil) or the source ends
// (io.EOF) or fails. A failed classification is counted in Stats (with
// the last error), not fatal.
func (p *Pipeline) Run(ctx context.Context) error {
	if p.Control == nil {
		p.Control = NewControl(p.Config)
	}
	filter := changeFilter{hysteresis: p.Config.Hysteresis}
	gate := newRateGate(p.Control)
	defer gate.stop()
	for {
		next, interval, ok := gate.wait(ctx)
		if !ok {
			return nil
		}
		frame, err := p.Source.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if p.Tap != nil {
			p.Tap.see(frame) // before the clock that times inference starts
		}
		last := time.Now()
		gate.taken(next, last, interval)
		logits, err := p.classify(frame)
		if err == nil {
			p.collect.offer(frame, logits) // before Release: it may copy the frame
		}
		frame.Release()
		if err != nil {
			p.Stats.classifyFailed(err)
			continue
		}
		infer := time.Since(last)
		// A command may have come while the frame was awaited or classified.
		settings, _ := p.Control.Get()
		if settings.Paused {
			continue
		}
		labels := TopK(logits, p.Labels, p.Config.TopK, settings.Threshold)
		p.Stats.classified(infer)
		top := ""
		if len(labels) > 0 {
			top = labels[0].Label
		}
		if p.Config.Publish == "change" && !filter.admit(top) {
			continue
		}
		msg := LabelsMessage{Time: frame.Time, Frame: frame.Index, Loop: frame.Loop, Camera: p.Camera, Labels: labels,
			InferenceMs: float64(infer.Microseconds()) / 1000, Model: p.Model, Retain: p.Config.Publish == "change"}
		seq, err := p.Sink.PublishLabels(msg)
		if err != nil {
			return err
		}
		p.Stats.published(time.Since(frame.Time))
		if p.LabelLog != nil && len(labels) > 0 {
			p.LabelLog.Info("label", "seq", seq, "frame", frame.Index, "loop", frame.Loop, "top", labels[0].Label,
				"score", fmt.Sprintf("%.3f", labels[0].Score), "inference_ms", msg.InferenceMs)
		}
	}
}

// rateGate paces a camera's frames: none while paused, at most the live
// rate a second (Control's), on the schedule rateSlot keeps. One per
// reading loop, whose timer it reuses.
type rateGate struct {
	control *Control
	timer   *time.Timer
	slot    time.Time // the last frame's place in the schedule
}

func newRateGate(c *Control) *rateGate {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &rateGate{control: c, timer: t}
}

func (g *rateGate) stop() { g.timer.Stop() }

// wait returns when the next frame may be taken, with the slot the limit
// let it be taken from and the interval (zero without a limit), or false
// when ctx ends first. A command changing the settings meanwhile is taken
// into account at once.
func (g *rateGate) wait(ctx context.Context) (next time.Time, interval time.Duration, ok bool) {
	for ctx.Err() == nil {
		settings, changed := g.control.Get()
		if settings.Paused {
			select {
			case <-changed:
				continue
			case <-ctx.Done():
				return time.Time{}, 0, false
			}
		}
		rate := settings.Rate()
		if rate <= 0 {
			return time.Time{}, 0, true
		}
		interval = time.Duration(float64(time.Second) / rate)
		next = g.slot.Add(interval)
		wait := time.Until(next)
		if wait <= 0 {
			return next, interval, true
		}
		g.timer.Reset(wait)
		select {
		case <-g.timer.C:
			return next, interval, true
		case <-changed:
			g.timer.Stop()
		case <-ctx.Done():
			g.timer.Stop()
			return time.Time{}, 0, false
		}
	}
	return time.Time{}, 0, false
}

// taken records that a frame wait let through was taken at t.
func (g *rateGate) taken(next, t time.Time, interval time.Duration) {
	g.slot = rateSlot(next, t, interval)
}

// rateSlot is the place in the rate limit's schedule of a frame taken at
// taken, which the limit let be taken from next, interval after the last
// slot. A frame taken on time, or late by less than an interval, keeps the
// schedule, so the limit's late wake-ups do not add up and drift away from
// a source at the same rate (every drift of an interval a dropped frame);
// one taken an interval late or more (waiting for the source, a slow
// inference, a pause) starts the schedule again from when it was taken.
func rateSlot(next, taken time.Time, interval time.Duration) time.Time {
	if taken.Sub(next) >= interval {
		return taken
	}
	return next
}

// classify runs the model on a decoded picture or on OpenCV's BGR buffer.
func (p *Pipeline) classify(f camera.Frame) ([]float32, error) {
	if f.Image != nil {
		return p.Classifier.Logits(f.Image)
	}
	return p.Classifier.LogitsBGR(f.BGR, f.Width, f.Height, f.Stride)
}

// Stats counts what the pipeline did and keeps recent latencies.
type Stats struct {
	mu                            sync.Mutex
	classifiedN, publishedN, fail int64
	lastError                     string
	inference, endToEnd           ring
}

// StatsSnapshot is Stats at one moment, with latency percentiles in ms.
type StatsSnapshot struct {
	Classified     int64   `json:"classified" metric:"counter"`
	Published      int64   `json:"published" metric:"counter"`
	Failed         int64   `json:"failed" metric:"counter"`
	LastError      string  `json:"last_error,omitempty"`
	InferenceP50Ms float64 `json:"inference_p50_ms"`
	InferenceP99Ms float64 `json:"inference_p99_ms"`
	EndToEndP50Ms  float64 `json:"end_to_end_p50_ms"`
	EndToEndP99Ms  float64 `json:"end_to_end_p99_ms"`
}

func (s *Stats) classified(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.classifiedN++
	s.inference.add(d)
}

func (s *Stats) classifyFailed(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail++
	s.lastError = err.Error()
}

func (s *Stats) published(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.publishedN++
	s.endToEnd.add(d)
}

// Snapshot copies the counters and computes the percentiles.
func (s *Stats) Snapshot() StatsSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return StatsSnapshot{Classified: s.classifiedN, Published: s.publishedN, Failed: s.fail, LastError: s.lastError,
		InferenceP50Ms: s.inference.percentile(0.50), InferenceP99Ms: s.inference.percentile(0.99),
		EndToEndP50Ms: s.endToEnd.percentile(0.50), EndToEndP99Ms: s.endToEnd.percentile(0.99)}
}

// ring keeps the last len(v) durations.
type ring struct {
	v [1024]time.Duration
	n int
}

func (r *ring) add(d time.Duration) {
	r.v[r.n%len(r.v)] = d
	r.n++
}

// percentile of the kept durations in ms (nearest rank), 0 when empty.
func (r *ring) percentile(p float64) float64 {
	n := min(r.n, len(r.v))
	if n == 0 {
		return 0
	}
	s := slices.Clone(r.v[:n])
	slices.Sort(s)
	i := int(math.Ceil(p*float64(n))) - 1
	return float64(s[max(0, i)].Microseconds()) / 1000
}
