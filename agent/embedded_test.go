package agent

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

func startEmbedded(t *testing.T, log *slog.Logger) *EmbeddedBroker {
	t.Helper()
	b, err := StartEmbeddedBroker("127.0.0.1:0", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// embeddedClient connects a paho client (MQTT 3.1.1, as the agent uses)
// whose messages, from any subscription, go to got.
func embeddedClient(t *testing.T, b *EmbeddedBroker, id string, clean bool, got chan<- paho.Message) paho.Client {
	t.Helper()
	opts := paho.NewClientOptions().AddBroker("tcp://" + b.Addr()).SetClientID(id).
		SetCleanSession(clean).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	if got != nil {
		opts.SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { got <- m })
	}
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("%s: connect to %s: %v", id, b.URL(), tok.Error())
	}
	return c
}

func waitToken(t *testing.T, what string, tok paho.Token) {
	t.Helper()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("%s: %v (or timed out)", what, tok.Error())
	}
}

func receive(t *testing.T, what string, got <-chan paho.Message) paho.Message {
	t.Helper()
	select {
	case m := <-got:
		return m
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		return nil
	}
}

func TestEmbeddedBrokerRetainedAndQoS1(t *testing.T) {
	b := startEmbedded(t, nil)
	if _, port, _ := net.SplitHostPort(b.Addr()); port == "0" || port == "" {
		t.Fatalf("Addr() = %q, want the port chosen", b.Addr())
	}
	if b.URL() != "mqtt://"+b.Addr() {
		t.Errorf("URL() = %q, want mqtt://%s", b.URL(), b.Addr())
	}
	if e := b.server.Options.Capabilities.MaximumMessageExpiryInterval; e < 10*365*24*3600 {
		t.Errorf("retained messages expire after %d s; the agent's status must outlive days", e)
	}

	early := make(chan paho.Message, 100)
	sub := embeddedClient(t, b, "early", true, early)
	defer sub.Disconnect(100)
	waitToken(t, "subscribe", sub.Subscribe("cam/dev/labels", 1, nil))

	// A persistent session that goes away: QoS 1 labels must wait for it.
	away := make(chan paho.Message, 100)
	gone := embeddedClient(t, b, "away", false, away)
	waitToken(t, "subscribe", gone.Subscribe("cam/dev/labels", 1, nil))
	gone.Disconnect(100)

	pub := embeddedClient(t, b, "agent", true, nil)
	defer pub.Disconnect(100)
	waitToken(t, "publish status", pub.Publish("cam/dev/status", 1, true, "online"))
	const n = 20
	for i := range n {
		waitToken(t, "publish label", pub.Publish("cam/dev/labels", 1, false, fmt.Sprint(i)))
	}
	for i := range n {
		m := receive(t, fmt.Sprintf("label %d", i), early)
		if string(m.Payload()) != fmt.Sprint(i) || m.Qos() != 1 || m.Retained() {
			t.Fatalf("label %d: got %q qos %d retained %v", i, m.Payload(), m.Qos(), m.Retained())
		}
	}

	late := make(chan paho.Message, 10)
	ls := embeddedClient(t, b, "late", true, late)
	defer ls.Disconnect(100)
	waitToken(t, "subscribe", ls.Subscribe("cam/+/status", 1, nil))
	m := receive(t, "the retained status", late)
	if string(m.Payload()) != "online" || !m.Retained() || m.Topic() != "cam/dev/status" {
		t.Fatalf("late subscriber got %q on %s retained %v, want the retained online", m.Payload(), m.Topic(), m.Retained())
	}

	// mochi 2.7.9 resends a resumed session's queue sorted by the low 16
	// bits of its creation second (Inflight.GetAll), so within a second the
	// order is arbitrary: check that every label arrives, not the order.
	back := embeddedClient(t, b, "away", false, away)
	defer back.Disconnect(100)
	seen := map[string]bool{}
	var order []string
	for len(seen) < n {
		m := receive(t, fmt.Sprintf("queued labels (have %v)", order), away)
		seen[string(m.Payload())] = true
		order = append(order, string(m.Payload()))
	}
	for i := range n {
		if !seen[fmt.Sprint(i)] {
			t.Errorf("queued label %d never arrived; got %v", i, order)
		}
	}
	t.Logf("queued labels arrived in the order %v", order)
}

func TestEmbeddedBrokerPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	addr := l.Addr().String()
	b, err := StartEmbeddedBroker(addr, nil)
	if err == nil {
		b.Close()
		t.Fatalf("started on %s, which is taken", addr)
	}
	if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "mqtt.broker") {
		t.Errorf("error %q should be EADDRINUSE, name %s and point to mqtt.broker", err, addr)
	}
}

func TestEmbeddedBrokerCloseFreesPort(t *testing.T) {
	b := startEmbedded(t, nil)
	lost := make(chan error, 1)
	opts := paho.NewClientOptions().AddBroker("tcp://" + b.Addr()).SetClientID("c").SetAutoReconnect(false).
		SetConnectionLostHandler(func(_ paho.Client, err error) { lost <- err })
	c := paho.NewClient(opts)
	waitToken(t, "connect", c.Connect())
	defer c.Disconnect(0)

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Error("the client was not disconnected by Close")
	}
	l, err := net.Listen("tcp", b.Addr())
	if err != nil {
		t.Fatalf("after Close, %s is still taken: %v", b.Addr(), err)
	}
	l.Close()
}

// syncLog is a slog destination that the broker's goroutines may share.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncLog) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncLog) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func TestEmbeddedBrokerLogIsQuiet(t *testing.T) {
	var out syncLog
	log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b := startEmbedded(t, log)
	// A connection that closes without CONNECT: mochi warns, with no message.
	conn, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "mqtt client connection ended") {
		if time.Now().After(deadline) {
			t.Fatalf("no record of the dropped connection in:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	text := out.String()
	for _, bad := range []string{"level=WARN", "level=INFO msg=\"attached listener\"", "msg=\"\""} {
		if strings.Contains(text, bad) {
			t.Errorf("log has %s:\n%s", bad, text)
		}
	}
	for _, want := range []string{"level=DEBUG msg=\"mqtt client connection ended\" component=mqtt-broker", "url=" + b.URL()} {
		if !strings.Contains(text, want) {
			t.Errorf("log lacks %s:\n%s", want, text)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{"127.0.0.1": true, "::1": true, "localhost": true,
		"0.0.0.0": false, "": false, "192.168.1.10": false, "::": false} {
		if got := isLoopback(host); got != want {
			t.Errorf("isLoopback(%q) = %v", host, got)
		}
	}
}
