package agent

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/camera"
	"github.com/coatnet-edge/coatnet-edge/model"
)

func TestTopK(t *testing.T) {
	labels := []string{"a", "b", "c", "d"}
	got := TopK([]float32{1, 3, 3, 0}, labels, 3, 0)
	if len(got) != 3 || got[0].Label != "b" || got[1].Label != "c" || got[2].Label != "a" {
		t.Fatalf("order: %+v", got)
	}
	var sum float64
	for _, l := range TopK([]float32{1, 3, 3, 0}, labels, 10, 0) {
		sum += l.Score
	}
	if sum < 0.999999 || sum > 1.000001 {
		t.Errorf("scores sum to %v", sum)
	}
	if got := TopK([]float32{1, 3, 3, 0}, labels, 3, 0.3); len(got) != 2 {
		t.Errorf("threshold 0.3 kept %+v", got)
	}
	if got := TopK([]float32{1000, -1000}, nil, 2, 0); got[0].Label != "0" || got[0].Score != 1 {
		t.Errorf("extreme logits or no labels: %+v", got)
	}
}

func TestChangeFilter(t *testing.T) {
	f := changeFilter{hysteresis: 3}
	seq := []string{"A", "A", "B", "A", "B", "B", "B", "B", "C", "C", "A", "C"}
	want := []bool{true, false, false, false, false, false, true, false, false, false, false, false}
	for i, top := range seq {
		if got := f.admit(top); got != want[i] {
			t.Fatalf("frame %d (%s): admitted %v, want %v", i, top, got, want[i])
		}
	}
	one := changeFilter{hysteresis: 1}
	for i, top := range []string{"A", "A", "B", "A"} {
		if got := one.admit(top); got != (i != 1) {
			t.Fatalf("hysteresis 1, frame %d: %v", i, got)
		}
	}
}

// sink keeps the messages, numbered as a Publisher numbers them.
type sink struct {
	mu   sync.Mutex
	msgs []LabelsMessage
}

func (s *sink) PublishLabels(m LabelsMessage) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m.Seq = uint64(len(s.msgs) + 1)
	s.msgs = append(s.msgs, m)
	return m.Seq, nil
}

// demoClassifier opens the shipped int8 demo model, closed at the end of
// the test.
func demoClassifier(t *testing.T) (model.Any, *model.Classifier) {
	t.Helper()
	m, err := model.Open("../models/fmnist-pre-int8.coatnet")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	c, err := model.NewClassifier(m, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return m, c
}

// TestPipelineClassifiesFolder plays the sample pictures through the
// shipped int8 demo model: the source ends with io.EOF, frames only move
// forward, the last picture is always classified, and each published top
// label is the one the model gives that picture on its own.
func TestPipelineClassifiesFolder(t *testing.T) {
	m, c := demoClassifier(t)
	src, err := camera.OpenFolder("../testdata/fashion", 200, false)
	if err != nil {
		t.Fatal(err)
	}
	// What each picture is, classified directly.
	direct, err := camera.OpenFolder("../testdata/fashion", 0, false)
	if err != nil {
		t.Fatal(err)
	}
	labels := m.Describe().Labels
	var want []string
	for range direct.Len() {
		fr, err := direct.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		logits, err := c.Logits(fr.Image)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, TopK(logits, labels, 1, 0)[0].Label)
	}
	out := &sink{}
	cfg := Defaults().Pipeline
	cfg.MaxRate = 0
	p := Pipeline{Source: camera.NewLatest(context.Background(), src), Classifier: c, Labels: labels, Sink: out,
		Camera: "folder", Model: "fmnist-pre", Config: cfg, Stats: &Stats{}}
	defer p.Source.Close()
	if err := p.Run(context.Background()); err == nil || err.Error() != "EOF" {
		t.Fatalf("run ended with %v, want EOF", err)
	}
	if len(out.msgs) == 0 {
		t.Fatal("nothing published")
	}
	last := int64(-1)
	for _, msg := range out.msgs {
		if msg.Frame <= last {
			t.Fatalf("frame %d after %d", msg.Frame, last)
		}
		last = msg.Frame
		if len(msg.Labels) != cfg.TopK || msg.Labels[0].Label != want[msg.Frame] {
			t.Errorf("frame %d: published %+v, the model says %s", msg.Frame, msg.Labels, want[msg.Frame])
		}
	}
	if last != int64(len(want)-1) {
		t.Errorf("the last picture (%d) was not classified; last %d", len(want)-1, last)
	}
	st := p.Stats.Snapshot()
	if st.Classified != int64(len(out.msgs)) || st.Published != st.Classified || st.InferenceP50Ms <= 0 ||
		st.EndToEndP99Ms < st.EndToEndP50Ms {
		t.Errorf("stats %+v for %d messages", st, len(out.msgs))
	}
	t.Logf("%d of %d frames classified (the rest replaced by newer ones); %+v", len(out.msgs), len(want), st)
}

// TestPipelineChangeMode publishes only changes of the top label.
func TestPipelineChangeMode(t *testing.T) {
	m, c := demoClassifier(t)
	src, err := camera.OpenFolder("../testdata/fashion", 100, false)
	if err != nil {
		t.Fatal(err)
	}
	out := &sink{}
	cfg := Defaults().Pipeline
	cfg.MaxRate, cfg.Publish, cfg.Hysteresis = 0, "change", 1
	p := Pipeline{Source: camera.NewLatest(context.Background(), src), Classifier: c, Labels: m.Describe().Labels,
		Sink: out, Config: cfg, Stats: &Stats{}}
	defer p.Source.Close()
	p.Run(context.Background())
	for i := 1; i < len(out.msgs); i++ {
		if out.msgs[i].Labels[0].Label == out.msgs[i-1].Labels[0].Label {
			t.Fatalf("messages %d and %d both say %s", i-1, i, out.msgs[i].Labels[0].Label)
		}
	}
	if st := p.Stats.Snapshot(); st.Published != int64(len(out.msgs)) || st.Classified < st.Published {
		t.Errorf("stats %+v", st)
	}
}

// TestTopKMatchesSorting compares TopK with sorting every class by
// probability (stable, so ties keep the class order) on random logits with
// many ties, and checks that it allocates only its result.
func TestTopKMatchesSorting(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	labels := make([]string, 50)
	for i := range labels {
		labels[i] = fmt.Sprint("class", i)
	}
	for range 200 {
		logits := make([]float32, 1+r.IntN(len(labels)))
		for i := range logits {
			logits[i] = float32(r.IntN(7)) // few values: many ties
		}
		k, threshold := 1+r.IntN(12), r.Float64()*0.2
		mx := float64(slices.Max(logits))
		var sum float64
		for _, v := range logits {
			sum += math.Exp(float64(v) - mx)
		}
		idx := make([]int, len(logits))
		for i := range idx {
			idx[i] = i
		}
		p := func(i int) float64 { return math.Exp(float64(logits[i])-mx) / sum }
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(p(b), p(a)) })
		var want []Label
		for _, i := range idx[:min(k, len(idx))] {
			if p(i) < threshold {
				break
			}
			want = append(want, Label{Label: labels[i], Score: p(i)})
		}
		got := TopK(logits, labels, k, threshold)
		if len(got) != len(want) || (len(want) > 0 && !slices.Equal(got, want)) {
			t.Fatalf("logits %v, k %d, threshold %.3f: %v, want %v", logits, k, threshold, got, want)
		}
	}
	logits, names := make([]float32, 1000), make([]string, 1000)
	if a := testing.AllocsPerRun(10, func() { TopK(logits, names, 5, 0) }); a > 1 {
		t.Errorf("TopK allocates %v times for 1000 classes", a)
	}
}
