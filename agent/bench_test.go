package agent

import (
	"context"
	"image"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coatnet-edge/coatnet-edge/camera"
	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
)

// constantClassifier stands in for the model, so a benchmark measures the
// rest of the pipeline: it answers at once, the top class changing with
// every frame.
type constantClassifier struct {
	logits []float32
	n      int
}

func (c *constantClassifier) next() ([]float32, error) {
	for i := range c.logits {
		c.logits[i] = 0
	}
	c.logits[c.n%len(c.logits)] = 4
	c.n++
	return c.logits, nil
}

func (c *constantClassifier) Logits(image.Image) ([]float32, error) { return c.next() }
func (c *constantClassifier) LogitsBGR([]byte, int, int, int) ([]float32, error) {
	return c.next()
}

// countingSink passes messages to a Publisher and ends the run after n.
type countingSink struct {
	pub   *Publisher
	max   int64
	done  context.CancelFunc
	count atomic.Int64
}

func (s *countingSink) PublishLabels(m LabelsMessage) (uint64, error) {
	seq, err := s.pub.PublishLabels(m)
	if s.count.Add(1) == s.max {
		s.done()
	}
	return seq, err
}

// memorySource repeats one 640x480 BGR frame, the next one as soon as
// the last is released, so it neither spins a core nor drops frames.
type memorySource struct {
	pix     []byte
	index   int64
	free    chan struct{}
	release func()
}

func newMemorySource() *memorySource {
	m := &memorySource{pix: make([]byte, 640*480*3), free: make(chan struct{}, 1)}
	m.free <- struct{}{}
	m.release = func() { m.free <- struct{}{} }
	return m
}

func (m *memorySource) Next(ctx context.Context) (camera.Frame, error) {
	select {
	case <-m.free:
	case <-ctx.Done():
		return camera.Frame{}, ctx.Err()
	}
	m.index++
	return camera.NewFrame(m.pix, 640, 480, 3*640, time.Now(), m.index, m.release), nil
}
func (m *memorySource) Name() string { return "memory" }
func (m *memorySource) Close() error { return nil }

// benchPipeline publishes b.N label messages from src through a real
// mosquitto with the model replaced by constantClassifier: the
// per-message cost of capture, the newest-frame hand-over, top-k, JSON and
// the QoS 1 publish with its file store.
func benchPipeline(b *testing.B, src camera.Source) {
	br := mqtttest.Start(b, mqtttest.Options{})
	cfg := testConfig(b, br.URL)
	cfg.Pipeline.MaxRate = 0
	pub, err := NewPublisher(context.Background(), cfg, NewControl(cfg.Pipeline), nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer pub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	frames := camera.NewLatest(ctx, src)
	defer frames.Close()
	sink := &countingSink{pub: pub, max: int64(b.N), done: cancel}
	p := Pipeline{Source: frames, Classifier: &constantClassifier{logits: make([]float32, 10)},
		Labels: []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}, Sink: sink, Camera: src.Name(),
		Model: "bench", Config: cfg.Pipeline, Stats: &Stats{}}
	b.ReportAllocs()
	b.ResetTimer()
	if err := p.Run(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	st := p.Stats.Snapshot()
	b.ReportMetric(st.EndToEndP50Ms, "p50-ms")
	b.ReportMetric(st.EndToEndP99Ms, "p99-ms")
}

// BenchmarkPublishPath is the pipeline without camera or model: frames
// from memory to QoS 1 label messages at the broker.
func BenchmarkPublishPath(b *testing.B) {
	benchPipeline(b, newMemorySource())
}
