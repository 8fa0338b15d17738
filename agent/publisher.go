package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// Topics are the agent's MQTT topics, all under <prefix>/<device>/.
type Topics struct {
	Labels string // one message per published classification
	Status string // retained "online" / "offline"
	Stats  string // periodic statistics
	Set    string // commands: Set itself and Set/paused, Set/threshold, Set/rate
	State  string // retained Settings, after every change
}

// TopicsFor derives the topics from the configuration.
func TopicsFor(cfg *Config) Topics {
	base := cfg.MQTT.Prefix + "/" + cfg.Device + "/"
	return Topics{Labels: base + "labels", Status: base + "status", Stats: base + "stats", Set: base + "set",
		State: base + "state"}
}

// Label is one class and its score.
type Label struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

// LabelsMessage is the payload of the labels topic. Seq numbers the
// messages of one agent run from 1, so a subscriber can see gaps.
type LabelsMessage struct {
	Time        time.Time `json:"time"`
	Seq         uint64    `json:"seq"`
	Camera      string    `json:"camera"`
	Frame       int64     `json:"frame"` // the frame's position in its source, from 0
	Loop        int64     `json:"loop"`  // how often a looping file or folder started again
	Labels      []Label   `json:"labels"`
	InferenceMs float64   `json:"inference_ms"`
	Model       string    `json:"model"`
}

// Publisher is the agent's MQTT session: a persistent session (fixed client
// id, CleanSession false, a file store in the state directory) so that
// QoS 1 labels survive a broker or agent restart, with availability on the
// status topic: "online" (retained) on every connect, "offline" as the will
// and before a clean stop.
//
// It also takes commands from the set topics into a Control, mirrors the
// settings on the retained state topic, and keeps Home Assistant's
// discovery message current.
type Publisher struct {
	cfg        Config
	topics     Topics
	client     mqtt.Client
	store      *boundedStore
	log        *slog.Logger
	control    *Control
	discovery  atomic.Pointer[[]byte] // nil: discovery off
	seq        atomic.Uint64
	connects   atomic.Int64
	published  atomic.Int64
	connLosses atomic.Int64
	rejected   atomic.Int64 // malformed commands
}

// publishTimeout bounds how long Close waits for "offline" to be accepted.
const publishTimeout = 5 * time.Second

// NewPublisher connects to the configured broker, waiting until the first
// connection succeeds or ctx ends; later losses reconnect with back-off in
// the background. Commands change control; discovery (nil when off) is
// Home Assistant's discovery message.
func NewPublisher(ctx context.Context, cfg Config, control *Control, discovery []byte, log *slog.Logger) (*Publisher, error) {
	if cfg.MQTT.Broker == "" {
		return nil, errors.New("mqtt: no broker configured")
	}
	p := &Publisher{cfg: cfg, topics: TopicsFor(&cfg), log: log, control: control}
	if discovery != nil {
		p.discovery.Store(&discovery)
	}
	opts, err := p.options()
	if err != nil {
		return nil, err
	}
	p.client = mqtt.NewClient(opts)
	// Until the first connection, each failed attempt is logged with its
	// reason (paho's own retry would hide it) and retried with back-off.
	wait := firstConnectBackoff
	for attempt := 1; ; attempt++ {
		tok := p.client.Connect()
		select {
		case <-tok.Done():
		case <-ctx.Done():
			p.client.Disconnect(0)
			return nil, fmt.Errorf("mqtt: connecting to %s: %w", cfg.MQTT.Broker, ctx.Err())
		}
		err := tok.Error()
		if err == nil {
			p.announce()
			return p, nil
		}
		err = explainConnectError(err, &cfg.MQTT)
		log.Warn("mqtt: cannot connect; retrying", "broker", cfg.MQTT.Broker, "err", err, "attempt", attempt,
			"retry_in", wait)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, fmt.Errorf("mqtt: connecting to %s: %w (last error: %w)", cfg.MQTT.Broker, ctx.Err(), err)
		}
		wait = min(2*wait, maxConnectBackoff)
	}
}

// Back-off between attempts at the first connection.
const (
	firstConnectBackoff = time.Second
	maxConnectBackoff   = 30 * time.Second
)

// explainConnectError adds which configuration keys to check to the
// failures a user can fix.
func explainConnectError(err error, m *MQTTConfig) error {
	var unknownCA x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var hostname x509.HostnameError
	switch {
	case errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword), errors.Is(err, packets.ErrorRefusedNotAuthorised):
		return fmt.Errorf("%w: the broker refused the credentials (mqtt.username, mqtt.password_file)", err)
	case errors.As(err, &unknownCA), errors.As(err, &invalid), errors.As(err, &hostname):
		return fmt.Errorf("%w: the broker's certificate does not verify (mqtt.ca_file, and the host name in mqtt.broker)", err)
	case strings.Contains(err.Error(), "certificate required"), strings.Contains(err.Error(), "bad certificate"):
		return fmt.Errorf("%w: the broker did not accept the client certificate (mqtt.cert_file, mqtt.key_file)", err)
	case strings.HasPrefix(m.Broker, "mqtts://") && m.CertFile == "" &&
		(strings.Contains(err.Error(), "connection reset") || strings.HasSuffix(err.Error(), "EOF")):
		// TLS 1.3 servers reject a missing client certificate after the
		// handshake, by closing the connection.
		return fmt.Errorf("%w: the broker closed the TLS connection; does it require a client certificate (mqtt.cert_file, mqtt.key_file)?", err)
	}
	return err
}

func (p *Publisher) options() (*mqtt.ClientOptions, error) {
	m := &p.cfg.MQTT
	broker := pahoURL(m.Broker)
	storeDir := filepath.Join(p.cfg.StateDir, "mqtt-store")
	if err := os.MkdirAll(storeDir, 0o700); err != nil {
		return nil, fmt.Errorf("mqtt: message store: %w", err)
	}
	p.store = newBoundedStore(mqtt.NewFileStore(storeDir), m.StoreLimit, p.log)
	opts := mqtt.NewClientOptions().
		AddBroker(broker).
		SetClientID(p.cfg.ClientID()).
		SetCleanSession(false).
		SetStore(p.store).
		SetOrderMatters(false). // handlers must never block the client
		SetKeepAlive(m.KeepAlive).
		SetAutoReconnect(true). // after the first connection
		SetMaxReconnectInterval(time.Minute).
		SetWill(p.topics.Status, "offline", 1, true).
		SetDefaultPublishHandler(p.route).
		SetOnConnectHandler(func(mqtt.Client) {
			n := p.connects.Add(1)
			p.log.Info("mqtt connected", "broker", m.Broker, "client_id", p.cfg.ClientID(), "connects", n)
			// The first connection announces once Connect has returned:
			// only then has paho taken the message ids of the messages
			// it resends from the store, which a publish from here could
			// otherwise reuse, overwriting them in the store.
			if n > 1 {
				p.announce()
			}
		}).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			p.connLosses.Add(1)
			p.log.Warn("mqtt connection lost; reconnecting", "broker", m.Broker, "err", err)
		})
	if m.Username != "" {
		opts.SetUsername(m.Username)
		if m.PasswordFile != "" {
			pw, err := os.ReadFile(m.PasswordFile)
			if err != nil {
				return nil, fmt.Errorf("mqtt: password: %w", err)
			}
			opts.SetPassword(strings.TrimRight(string(pw), "\r\n"))
		}
	}
	if strings.HasPrefix(broker, "ssl://") || m.CAFile != "" || m.CertFile != "" {
		tc, err := tlsConfig(m)
		if err != nil {
			return nil, err
		}
		opts.SetTLSConfig(tc)
	}
	return opts, nil
}

// pahoURL spells a broker URL the way paho reads it: mqtt:// as tcp://,
// mqtts:// as ssl://.
func pahoURL(broker string) string {
	if rest, ok := strings.CutPrefix(broker, "mqtts://"); ok {
		return "ssl://" + rest
	}
	if rest, ok := strings.CutPrefix(broker, "mqtt://"); ok {
		return "tcp://" + rest
	}
	return broker
}

// tlsConfig is TLS 1.2 or newer with the configured CA and client
// certificate (the system's roots without a CA file).
func tlsConfig(m *MQTTConfig) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if m.CAFile != "" {
		pem, err := os.ReadFile(m.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt: CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mqtt: CA: no PEM certificate in %s", m.CAFile)
		}
		tc.RootCAs = pool
	}
	if m.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(m.CertFile, m.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt: client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// announce publishes online, the state and the discovery message and
// subscribes to the command topics, without waiting (it runs on paho's
// goroutine after a reconnect). The session keeps subscriptions, but a
// broker that lost its database has none.
func (p *Publisher) announce() {
	p.client.Publish(p.topics.Status, 1, true, "online")
	p.PublishState()
	subs := map[string]byte{p.topics.Set: 1, p.topics.Set + "/+": 1}
	if p.discovery.Load() != nil {
		subs[p.haStatusTopic()] = 1
		p.publishDiscovery()
	}
	p.client.SubscribeMultiple(subs, nil)
}

// haStatusTopic is where Home Assistant says "online" when it starts, so
// that devices send their discovery again.
func (p *Publisher) haStatusTopic() string { return p.cfg.MQTT.DiscoveryPrefix + "/status" }

// route handles the messages of the subscribed topics on paho's goroutine:
// it must not block.
func (p *Publisher) route(_ mqtt.Client, msg mqtt.Message) {
	topic := msg.Topic()
	switch {
	case topic == p.haStatusTopic():
		if string(msg.Payload()) == "online" {
			p.publishDiscovery()
		}
	case topic == p.topics.Set || strings.HasPrefix(topic, p.topics.Set+"/"):
		sub := strings.TrimPrefix(strings.TrimPrefix(topic, p.topics.Set), "/")
		edit, err := ParseCommand(sub, msg.Payload())
		if err != nil {
			p.rejected.Add(1)
			p.log.Warn("command ignored", "topic", topic, "payload", clip(msg.Payload(), 64), "err", err)
		} else {
			s := p.control.Update(edit)
			p.log.Info("command applied", "topic", topic, "paused", s.Paused, "threshold", s.Threshold, "max_rate", s.MaxRate)
		}
		// Either way the state topic shows what is in force.
		p.PublishState()
	}
}

// clip quotes at most n bytes of a payload for a log line.
func clip(b []byte, n int) string {
	if len(b) > n {
		return fmt.Sprintf("%q...", b[:n])
	}
	return fmt.Sprintf("%q", b)
}

// PublishState publishes the settings in force, retained: on connect,
// after a command and after a reload.
func (p *Publisher) PublishState() {
	s, _ := p.control.Get()
	payload, err := json.Marshal(s)
	if err != nil {
		p.log.Error("state not published", "err", err)
		return
	}
	p.client.Publish(p.topics.State, 1, true, payload)
}

// publishDiscovery publishes the discovery message, retained.
func (p *Publisher) publishDiscovery() {
	if d := p.discovery.Load(); d != nil {
		p.client.Publish(DiscoveryTopic(&p.cfg), 1, true, *d)
	}
}

// SetDiscovery replaces the discovery message (after a reload changed
// the model) and publishes it; nil leaves discovery as it is.
func (p *Publisher) SetDiscovery(d []byte) {
	if d == nil || p.discovery.Load() == nil {
		return
	}
	p.discovery.Store(&d)
	p.publishDiscovery()
}

// CommandsRejected is how many malformed commands were ignored.
func (p *Publisher) CommandsRejected() int64 { return p.rejected.Load() }

// Topics returns the topics in use.
func (p *Publisher) Topics() Topics { return p.topics }

// PublishLabels numbers msg and publishes it with the labels QoS. It does
// not wait for the broker: while disconnected, QoS 1 and 2 messages wait in
// the store and go out on reconnect (QoS 0 ones are lost then).
func (p *Publisher) PublishLabels(msg LabelsMessage) (uint64, error) {
	msg.Seq = p.seq.Add(1)
	payload, err := json.Marshal(msg)
	if err != nil {
		return msg.Seq, fmt.Errorf("mqtt: labels: %w", err)
	}
	p.client.Publish(p.topics.Labels, byte(p.cfg.MQTT.LabelsQoS), false, payload)
	p.published.Add(1)
	return msg.Seq, nil
}

// PublishStats publishes v as JSON on the stats topic (QoS 0, not
// retained: stale statistics are worse than none).
func (p *Publisher) PublishStats(v any) error {
	payload, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("mqtt: stats: %w", err)
	}
	p.client.Publish(p.topics.Stats, 0, false, payload)
	return nil
}

// Reconnects is how many times the session connected again after the
// first connection.
func (p *Publisher) Reconnects() int64 { return max(0, p.connects.Load()-1) }

// StoreDropped is how many messages the store could not persist (full, or
// a disk error).
func (p *Publisher) StoreDropped() int64 { return p.store.Dropped() }

// Close publishes "offline" (retained; a will does not fire after a clean
// disconnect), waits up to publishTimeout for it, and disconnects.
func (p *Publisher) Close() error {
	tok := p.client.Publish(p.topics.Status, 1, true, "offline")
	var err error
	if !tok.WaitTimeout(publishTimeout) {
		err = errors.New("mqtt: offline status not acknowledged in time")
	} else if tok.Error() != nil {
		err = fmt.Errorf("mqtt: offline status: %w", tok.Error())
	}
	p.client.Disconnect(uint(publishTimeout / time.Millisecond))
	return err
}
