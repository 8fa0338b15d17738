package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
)

// sender is a plain client that publishes commands.
func sender(t *testing.T, url, id string) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(pahoURL(url)).SetClientID(id))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("sender connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

// publishAll publishes each message in order, waiting for the tokens
// every batch messages.
func publishAll(t *testing.T, c mqtt.Client, qos byte, batch int, msgs [][2]string) {
	t.Helper()
	var toks []mqtt.Token
	wait := func() {
		for _, tok := range toks {
			if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
				t.Fatalf("publish: %v", tok.Error())
			}
		}
		toks = toks[:0]
	}
	for _, m := range msgs {
		toks = append(toks, c.Publish(m[0], qos, false, m[1]))
		if len(toks) == batch {
			wait()
		}
	}
	wait()
}

// until sends a command again every second until cond holds (the agent
// subscribes without waiting, so a first command can come too early).
func until(t *testing.T, what string, c mqtt.Client, topic, payload string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		c.Publish(topic, 1, false, payload).WaitTimeout(10 * time.Second)
		for next := time.Now().Add(time.Second); !cond() && time.Now().Before(next); {
			time.Sleep(10 * time.Millisecond)
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func newTestPublisher(t *testing.T, cfg Config, control *Control, discovery []byte, log *slog.Logger) *Publisher {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := NewPublisher(ctx, cfg, control, discovery, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestCommandsApplyInOrder: commands take effect in the order they
// arrive. 200 thresholds sent back to back, then a rate: once the rate is
// in force, the threshold is the last one sent. Before, paho ran each
// handler in its own goroutine and the threshold sometimes ended at the
// one before the last.
func TestCommandsApplyInOrder(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	control := NewControl(cfg.Pipeline)
	p := newTestPublisher(t, cfg, control, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	topics := p.Topics()
	c := sender(t, b.URL, "test-sender")
	until(t, "the first command", c, topics.Set+"/rate", "1", func() bool { s, _ := control.Get(); return s.MaxRate == 1 })
	for round := range 8 {
		var msgs [][2]string
		var last float64
		for i := 1; i <= 200; i++ {
			last = float64(i+round) / 1000
			msgs = append(msgs, [2]string{topics.Set + "/threshold", strconv.FormatFloat(last, 'g', -1, 64)})
		}
		rate := float64(round + 2)
		msgs = append(msgs, [2]string{topics.Set + "/rate", strconv.FormatFloat(rate, 'g', -1, 64)})
		publishAll(t, c, 1, len(msgs), msgs)
		waitFor(t, "the rate after the thresholds", func() bool { s, _ := control.Get(); return s.MaxRate == rate })
		if s, _ := control.Get(); s.Threshold != last {
			t.Errorf("round %d: threshold %v after 200 commands in order, want the last one, %v", round, s.Threshold, last)
		}
	}
}

// TestCommandFlood: a flood of commands, half of them malformed, and of
// Home Assistant "online" messages costs a few log lines, state echoes
// and discovery messages (each bounded by its rate limit over the
// flood's duration), not one or more per message; and control traffic
// leaves the labels their whole store: with store_limit 100 and the
// broker gone, 100 labels are all kept and all delivered later.
func TestCommandFlood(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	cfg.MQTT.StoreLimit = 100
	control := NewControl(cfg.Pipeline)
	log := &syncLog{}
	discovery := []byte(`{"test": "discovery"}`)
	topics := TopicsFor(&cfg)
	disc := DiscoveryTopic(&cfg)
	rec := record(t, b.URL, "test-recorder", topics.State, disc)
	sub := subscribe(t, b.URL, topics.Labels)
	p := newTestPublisher(t, cfg, control, discovery, slog.New(slog.NewTextHandler(log, nil)))
	c := sender(t, b.URL, "test-sender")
	until(t, "the first command", c, topics.Set+"/rate", "1", func() bool { s, _ := control.Get(); return s.MaxRate == 1 })
	waitFor(t, "the first state and discovery", func() bool { return rec.count(topics.State) > 0 && rec.count(disc) > 0 })
	commandLines := func() int {
		return strings.Count(log.String(), "command applied") + strings.Count(log.String(), "command ignored")
	}
	states, discoveries, lines := rec.count(topics.State), rec.count(disc), commandLines()

	const n, onlines = 5000, 1000
	var msgs [][2]string
	for i := range n {
		if i%2 == 0 {
			msgs = append(msgs, [2]string{topics.Set, "explode"})
		} else {
			msgs = append(msgs, [2]string{topics.Set + "/threshold", strconv.FormatFloat(float64(i)/n, 'g', -1, 64)})
		}
		if i%(n/onlines) == 0 {
			msgs = append(msgs, [2]string{cfg.MQTT.DiscoveryPrefix + "/status", "online"})
		}
	}
	start := time.Now()
	// QoS 0, as fast as the broker takes them (QoS 1 would be paced by
	// mosquitto saving its database after every message).
	publishAll(t, c, 0, 500, msgs)
	until(t, "the command after the flood", c, topics.Set+"/rate", "7", func() bool { s, _ := control.Get(); return s.MaxRate == 7 })
	final, _ := control.Get()
	waitFor(t, "the final state echoed", func() bool { return rec.state(t, topics.State) == final })
	elapsed := time.Since(start)
	t.Logf("%d messages in %v: %d state echoes, %d command log lines", len(msgs), elapsed,
		rec.count(topics.State)-states, commandLines()-lines)
	// What each rate limit allows over the flood, plus one trailing
	// message and one for the command after it.
	allowed := func(burst int, every time.Duration) int { return burst + int(elapsed/every) + 2 }
	if got, most := rec.count(topics.State)-states, allowed(stateEchoBurst, stateEchoEvery); got > most {
		t.Errorf("%d state echoes for %d commands in %v, want at most %d", got, n, elapsed, most)
	}
	if got, most := commandLines()-lines, allowed(commandLogBurst, commandLogEvery); got > most {
		t.Errorf("%d command log lines for %d commands in %v, want at most %d", got, n, elapsed, most)
	}
	// Discovery may still owe its trailing message.
	time.Sleep(discoveryEvery + 500*time.Millisecond)
	elapsed = time.Since(start)
	if got, most := rec.count(disc)-discoveries, allowed(discoveryBurst, discoveryEvery); got > most || got == 0 {
		t.Errorf("%d discovery messages for %d \"online\" in %v, want 1 to %d", got, onlines, elapsed, most)
	}
	if p.CommandsRejected() == 0 {
		t.Error("no malformed command counted")
	}

	// The broker goes; labels wait in the store, all of them.
	b.Kill()
	waitFor(t, "the agent to notice", func() bool { return !p.client.IsConnectionOpen() })
	for i := range cfg.MQTT.StoreLimit {
		if _, err := p.PublishLabels(LabelsMessage{Time: time.Now(), Camera: "demo", Frame: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if d := p.StoreDropped(); d != 0 {
		t.Errorf("%d labels not stored after a command flood (store_limit %d)", d, cfg.MQTT.StoreLimit)
	}
	b.Start()
	waitFor(t, "every label after the restart", func() bool { return len(sub.missing(cfg.MQTT.StoreLimit)) == 0 })
}

// TestCommandQueueFull: route never blocks; commands beyond the queue are
// dropped, counted and logged a few times; those queued keep their order.
func TestCommandQueueFull(t *testing.T) {
	cfg := testConfig(t, "mqtt://127.0.0.1:1")
	log := &syncLog{}
	p := &Publisher{cfg: cfg, topics: TopicsFor(&cfg), log: slog.New(slog.NewTextHandler(log, nil)),
		control: NewControl(cfg.Pipeline)}
	p.initCommands() // no goroutine takes them
	extra := 1000
	for i := range commandQueueLen + extra {
		p.route(nil, fakeMessage{p.topics.Set + "/rate", []byte(strconv.Itoa(i%1000 + 1))})
	}
	if got := p.CommandsRejected(); got != int64(extra) {
		t.Errorf("%d commands counted as rejected, want the %d beyond the queue", got, extra)
	}
	if got := strings.Count(log.String(), "command queue full"); got < 1 || got > commandLogBurst+1 {
		t.Errorf("%d log lines for %d dropped commands:\n%s", got, extra, log.String())
	}
	for i := range commandQueueLen {
		c := <-p.cmds
		var s Settings
		c.edit(&s)
		if s.MaxRate != float64(i+1) {
			t.Fatalf("queued command %d sets rate %v", i, s.MaxRate)
		}
	}
}

// TestStoreKeepsLabelsFromControl: retained control messages (status,
// state, discovery) have their own small share of the store and never
// take the labels' room; they need no more, since every connection
// publishes them afresh.
func TestStoreKeepsLabelsFromControl(t *testing.T) {
	s := newBoundedStore(mqtt.NewFileStore(t.TempDir()), 100, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.Open()
	defer s.Close()
	id := uint16(0)
	for range 300 {
		id++
		p := publishPacket(id).(*packets.PublishPacket)
		p.Retain = true
		s.Put(fmt.Sprintf("o.%d", id), p)
	}
	for range 100 {
		id++
		s.Put(fmt.Sprintf("o.%d", id), publishPacket(id))
	}
	if d := s.Dropped(); d != 0 {
		t.Errorf("%d labels dropped behind 300 retained control messages", d)
	}
	for i := id - 99; i <= id; i++ {
		if s.Get(fmt.Sprintf("o.%d", i)) == nil {
			t.Fatalf("label o.%d not stored", i)
		}
	}
	if got := len(s.All()); got > 100+controlStoreLimit {
		t.Errorf("%d messages stored, want at most 100 labels and %d control messages", got, controlStoreLimit)
	}
}
