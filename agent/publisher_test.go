package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
)

// subscriber records what arrives on a topic filter.
type subscriber struct {
	mu       sync.Mutex
	labels   []LabelsMessage
	statuses []string
	stats    []AgentStats
}

func subscribe(t *testing.T, url, filter string) *subscriber {
	t.Helper()
	s := &subscriber{}
	// A persistent session, so that what the broker queued for it while
	// either was away still arrives.
	opts := mqtt.NewClientOptions().AddBroker(pahoURL(url)).SetClientID("test-subscriber").
		SetOrderMatters(true).SetCleanSession(false).SetAutoReconnect(true).SetResumeSubs(true).
		SetMaxReconnectInterval(time.Second)
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	tok := c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		s.mu.Lock()
		defer s.mu.Unlock()
		switch {
		case strings.HasSuffix(m.Topic(), "/labels"):
			var l LabelsMessage
			if err := json.Unmarshal(m.Payload(), &l); err != nil {
				t.Errorf("labels payload %q: %v", m.Payload(), err)
			}
			s.labels = append(s.labels, l)
		case strings.HasSuffix(m.Topic(), "/status"):
			s.statuses = append(s.statuses, string(m.Payload()))
		case strings.HasSuffix(m.Topic(), "/stats"):
			var st AgentStats
			if err := json.Unmarshal(m.Payload(), &st); err != nil {
				t.Errorf("stats payload %q: %v", m.Payload(), err)
			}
			s.stats = append(s.stats, st)
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return s
}

// waitFor polls cond for up to 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testConfig(t testing.TB, url string) Config {
	cfg := Defaults()
	cfg.Device = "test-cam"
	cfg.Model.Path = "../models/fmnist-pre-int8.coatnet"
	cfg.Camera.Source, cfg.Camera.Loop = "../testdata/fashion", false
	cfg.MQTT.Broker = url
	cfg.StateDir = t.TempDir()
	cfg.HTTP.Listen = "" // a test that needs the server listens on 127.0.0.1:0
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestPublisherLabelsAndStatus: "online" on connect, every label message
// in order with no sequence gap, "offline" on a clean close.
func TestPublisherLabelsAndStatus(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	sub := subscribe(t, b.URL, cfg.MQTT.Prefix+"/"+cfg.Device+"/#")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := NewPublisher(ctx, cfg, NewControl(cfg.Pipeline), nil, log)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "online", func() bool {
		sub.mu.Lock()
		defer sub.mu.Unlock()
		return len(sub.statuses) > 0 && sub.statuses[len(sub.statuses)-1] == "online"
	})
	const n = 300
	for i := range n {
		msg := LabelsMessage{Time: time.Now(), Camera: "demo", Model: "fmnist-pre",
			Labels: []Label{{Label: "Bag", Score: float64(i) / n}}}
		seq, err := p.PublishLabels(msg)
		if err != nil {
			t.Fatal(err)
		}
		if seq != uint64(i+1) {
			t.Fatalf("message %d numbered %d", i, seq)
		}
	}
	waitFor(t, "every label", func() bool {
		sub.mu.Lock()
		defer sub.mu.Unlock()
		return len(sub.labels) >= n
	})
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "offline", func() bool {
		sub.mu.Lock()
		defer sub.mu.Unlock()
		return sub.statuses[len(sub.statuses)-1] == "offline"
	})
	sub.mu.Lock()
	defer sub.mu.Unlock()
	// QoS 1 allows duplicates, never gaps; with one connection here the
	// order is the publishing order.
	next := uint64(1)
	for _, l := range sub.labels {
		if l.Seq > next {
			t.Fatalf("gap: got %d, expected %d", l.Seq, next)
		}
		if l.Seq == next {
			next++
		}
		if l.Camera != "demo" || l.Model != "fmnist-pre" || len(l.Labels) != 1 {
			t.Fatalf("message %d garbled: %+v", l.Seq, l)
		}
	}
	if next != n+1 {
		t.Fatalf("received up to %d of %d", next-1, n)
	}
}

// TestPublisherNeedsABroker: a broker that is not there is an error once
// the context ends, not a hang.
func TestPublisherNoBroker(t *testing.T) {
	cfg := testConfig(t, "mqtt://127.0.0.1:1")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := NewPublisher(ctx, cfg, NewControl(cfg.Pipeline), nil, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
		t.Fatal("connected to nothing")
	}
	cfg.MQTT.Broker = ""
	if _, err := NewPublisher(context.Background(), cfg, NewControl(cfg.Pipeline), nil, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
		t.Fatal("no broker configured, no error")
	}
}

// missing lists the sequence numbers in 1..n that never arrived
// (duplicates, which QoS 1 allows, are ignored).
func (s *subscriber) missing(n int) []uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := make([]bool, n+1)
	for _, l := range s.labels {
		if l.Seq >= 1 && l.Seq <= uint64(n) {
			seen[l.Seq] = true
		}
	}
	var out []uint64
	for i := 1; i <= n; i++ {
		if !seen[i] {
			out = append(out, uint64(i))
		}
	}
	return out
}

// TestPublisherSurvivesBrokerRestart kills the broker (SIGKILL) in the
// middle of a stream of QoS 1 labels and starts it again: every sequence
// number must reach the subscriber. The broker keeps its queue on disk
// (persistence, autosave on every change); the agent keeps what the broker
// had not acknowledged in its file store and sends it after reconnecting.
func TestPublisherSurvivesBrokerRestart(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	sub := subscribe(t, b.URL, cfg.MQTT.Prefix+"/"+cfg.Device+"/labels")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := NewPublisher(ctx, cfg, NewControl(cfg.Pipeline), nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	const n = 600
	for i := range n {
		if i == n/3 {
			b.Kill()
		}
		if i == n/2 {
			b.Start()
		}
		if _, err := p.PublishLabels(LabelsMessage{Time: time.Now(), Camera: "demo", Labels: []Label{{Label: "Coat", Score: 1}}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	waitFor(t, "every sequence number after the restart", func() bool { return len(sub.missing(n)) == 0 })
	if got := p.connects.Load(); got < 2 {
		t.Errorf("%d connections: the broker restart was not noticed", got)
	}
}

// TestPublisherExactlyOnceAcrossConnect: labels published from the start,
// while the first connection is being made, arrive exactly once and in
// order. paho sends a QoS 1 message itself when it sees the connection up
// and also resends whatever its store held when the connection came up;
// a message stored just before and handed over just after counted twice
// (see connGate).
func TestPublisherExactlyOnceAcrossConnect(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	const starts, n = 12, 400
	for i := range starts {
		cfg := testConfig(t, b.URL)
		cfg.Device = fmt.Sprintf("start-%d", i)
		rec := record(t, b.URL, "exactly-once-"+cfg.Device, cfg.MQTT.Prefix+"/"+cfg.Device+"/labels")
		p, err := StartPublisher(cfg, NewControl(cfg.Pipeline), nil, log)
		if err != nil {
			t.Fatal(err)
		}
		topic := p.Topics().Labels
		for j := range n {
			if _, err := p.PublishLabels(LabelsMessage{Camera: "demo", Labels: []Label{{Label: "Bag", Score: 1}}}); err != nil {
				t.Fatal(err)
			}
			if j%20 == 0 {
				time.Sleep(200 * time.Microsecond) // spread over the connection's first moments
			}
		}
		waitFor(t, "every label", func() bool { return rec.count(topic) >= n })
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // a duplicate would be right behind
		msgs := rec.labels(t, topic)
		if len(msgs) != n {
			t.Errorf("start %d: %d messages for %d labels", i, len(msgs), n)
		}
		noGaps(t, msgs)
	}
}
