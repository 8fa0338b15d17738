package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"sync"
	"syscall"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// DefaultEmbeddedAddr is where the embedded broker listens when the
// configuration names no broker: loopback only, because it lets every
// client in.
const DefaultEmbeddedAddr = "127.0.0.1:1883"

// embeddedMessageExpiry replaces mochi's default of one day, after which it
// deletes retained messages and queued QoS 1 messages: the agent publishes
// its retained "online" once per connection, so a day-old status must stay.
// It is finite (68 years) because mochi gives acknowledgements an expiry
// of now plus this value.
const embeddedMessageExpiry = math.MaxInt32

// EmbeddedBroker is an in-process MQTT 3.1.1/5 broker (mochi-mqtt), so that
// the agent runs out of the box with no broker installed. It allows every
// client and topic: it is meant for loopback, for one device and its
// local subscribers. Messages are kept in memory only. mochi 2.7.9 hands a
// resumed session its queued QoS 1 messages in no fixed order (sorted by
// creation second); live delivery is in order, and labels carry sequence
// numbers.
type EmbeddedBroker struct {
	server *mqtt.Server
	tcp    *listeners.TCP
	once   sync.Once
	err    error
}

// StartEmbeddedBroker listens on the TCP address addr (DefaultEmbeddedAddr
// when empty; port 0 picks a free one) and serves until Close. mochi's own
// messages go to log, warnings and errors only.
func StartEmbeddedBroker(addr string, log *slog.Logger) (*EmbeddedBroker, error) {
	if addr == "" {
		addr = DefaultEmbeddedAddr
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumMessageExpiryInterval = embeddedMessageExpiry
	server := mqtt.New(&mqtt.Options{
		Capabilities: caps,
		Logger:       slog.New(&brokerLogHandler{next: log.Handler(), min: slog.LevelWarn}).With("component", "mqtt-broker"),
	})
	// mochi refuses every connection until an auth hook says otherwise.
	if err := server.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, fmt.Errorf("embedded MQTT broker: %w", err)
	}
	tcp := listeners.NewTCP(listeners.Config{ID: "tcp", Address: addr})
	if err := server.AddListener(tcp); err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("embedded MQTT broker: %s is already in use (another broker or agent?); "+
				"stop it, or set mqtt.broker in the config to use that broker instead: %w", addr, err)
		}
		return nil, fmt.Errorf("embedded MQTT broker: listen on %s: %w", addr, err)
	}
	if err := server.Serve(); err != nil {
		server.Close()
		return nil, fmt.Errorf("embedded MQTT broker on %s: %w", addr, err)
	}
	b := &EmbeddedBroker{server: server, tcp: tcp}
	if host, _, _ := net.SplitHostPort(b.Addr()); !isLoopback(host) {
		log.Warn("the embedded MQTT broker lets any client in, and it listens beyond loopback", "addr", b.Addr())
	}
	log.Info("embedded MQTT broker started", "url", b.URL())
	return b, nil
}

// Addr is the address the broker listens on, with the port chosen when
// the requested one was 0.
func (b *EmbeddedBroker) Addr() string { return b.tcp.Address() }

// URL is the broker's address as the mqtt.broker setting takes it.
func (b *EmbeddedBroker) URL() string { return "mqtt://" + b.Addr() }

// Close disconnects every client and frees the port. It may be called
// more than once (mochi's own Close panics the second time).
func (b *EmbeddedBroker) Close() error {
	b.once.Do(func() { b.err = b.server.Close() })
	return b.err
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// brokerLogHandler keeps mochi quiet in the agent's log: records below min
// are dropped, and the listener's unlabelled per-connection errors (a
// client gone without DISCONNECT) become debug records, since a vanished
// subscriber is not the agent's problem.
type brokerLogHandler struct {
	next slog.Handler
	min  slog.Level
}

func (h *brokerLogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min
}

func (h *brokerLogHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "" {
		d := slog.NewRecord(r.Time, slog.LevelDebug, "mqtt client connection ended", r.PC)
		r.Attrs(func(a slog.Attr) bool { d.AddAttrs(a); return true })
		r = d
	}
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h *brokerLogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &brokerLogHandler{next: h.next.WithAttrs(as), min: h.min}
}

func (h *brokerLogHandler) WithGroup(name string) slog.Handler {
	return &brokerLogHandler{next: h.next.WithGroup(name), min: h.min}
}
