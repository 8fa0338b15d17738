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
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/coatnet-edge/coatnet-edge/internal/backoff"
	"github.com/coatnet-edge/coatnet-edge/internal/boundedio"
	"github.com/coatnet-edge/coatnet-edge/internal/redact"
)

// Topics are the agent's MQTT topics, all under <prefix>/<device>/.
type Topics struct {
	Labels string // one message per published classification
	Status string // retained "online" / "offline"
	Stats  string // periodic statistics
	Set    string // commands: Set itself and Set/paused, Set/threshold, Set/rate, Set/model
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
	// Retain publishes it retained (not part of the payload): in "change"
	// mode a label can stand for hours, and a subscriber that connects
	// meanwhile (Home Assistant after a restart) gets it at once.
	Retain bool `json:"-"`
}

// Publisher is the agent's MQTT session: a persistent session (fixed client
// id, CleanSession false, a file store in the state directory) so that
// QoS 1 labels survive a broker or agent restart, with availability on the
// status topic: "online" (retained) on every connect, "offline" as the will
// and before a clean stop. Labels may be published from the start: until
// the first connection, as during a later outage, QoS 1 ones wait in the
// store.
//
// It also takes commands from the set topics into a Control, mirrors the
// settings on the retained state topic, and keeps Home Assistant's
// discovery message current.
type Publisher struct {
	cfg        Config
	topics     Topics
	client     mqtt.Client
	store      *boundedStore
	files      *checkedFileStore // the store's files
	gate       *resumeGate       // every publish passes it (see publish)
	log        *slog.Logger
	control    *Control
	discovery  atomic.Pointer[[]byte] // nil: discovery off
	seq        atomic.Uint64
	connects   atomic.Int64
	published  atomic.Int64
	connLosses atomic.Int64
	rejected   atomic.Int64 // malformed commands, and those a full queue dropped
	cmds       chan command // from route to applyCommands, in arrival order
	cmdLog     *logLimiter
	stateMu    sync.Mutex // state echoes go out in the order they are read

	models chan ModelRequest          // set/model, to the agent's loop
	model  atomic.Pointer[ModelState] // on the state topic beside the settings

	// The waits between connection attempts are ours (see options).
	bo        backoff.Policy
	mu        sync.Mutex // guards the connection attempt state below
	reconnect bool       // the attempt in progress follows a lost connection
	attempt   int        // of the current series, from 0
	retryIn   time.Duration
	lastErr   error         // of the last failed attempt, explained
	up        chan struct{} // closed at the first connection
	upOnce    sync.Once
	closing   chan struct{} // closed by Close: no more waiting
	closeOnce sync.Once
}

// publishTimeout bounds how long Close waits for "offline" to be accepted.
const publishTimeout = 5 * time.Second

// sendTimeout bounds how long a publish waits for paho's sender: paho
// hands a QoS 1 message to the connection only while it thinks it is
// connected, and in the moments between a broker's death and paho noticing
// it the hand-over blocks (30 s by default), stalling the pipeline. The
// message is in the store by then, so it goes out after the reconnect
// either way. It also bounds each network write.
const sendTimeout = 5 * time.Second

// NewPublisher is StartPublisher waiting for the first connection: it
// returns once connected, or an error when ctx ends first (with the last
// attempt's reason).
func NewPublisher(ctx context.Context, cfg Config, control *Control, discovery []byte, log *slog.Logger) (*Publisher, error) {
	p, err := StartPublisher(cfg, control, discovery, log)
	if err != nil {
		return nil, err
	}
	if err := p.WaitConnected(ctx); err != nil {
		p.closeOnce.Do(func() { close(p.closing) })
		p.client.Disconnect(0)
		return nil, err
	}
	return p, nil
}

// StartPublisher starts the MQTT session and returns without waiting for
// the broker: the connection is tried in the background, each failed
// attempt logged with the keys to check, with back-off, and so is every
// reconnection after a loss. Only what cannot work (no broker, an
// unreadable password, CA or certificate file, a state_dir the store
// cannot be written in) is an error. Commands change control; discovery
// (nil when off) is Home Assistant's discovery message.
func StartPublisher(cfg Config, control *Control, discovery []byte, log *slog.Logger) (*Publisher, error) {
	if cfg.MQTT.Broker == "" {
		return nil, errors.New("mqtt: no broker configured")
	}
	p := &Publisher{cfg: cfg, topics: TopicsFor(&cfg), log: log, control: control, bo: connectBackoff,
		up: make(chan struct{}), closing: make(chan struct{}), gate: newResumeGate()}
	if discovery != nil {
		p.discovery.Store(&discovery)
	}
	opts, err := p.options()
	if err != nil {
		return nil, err
	}
	p.initCommands()
	go p.applyCommands()
	p.client = mqtt.NewClient(opts)
	// With ConnectRetry, Connect takes the message ids of the labels a
	// previous run left in the store before it returns, so publishing
	// right away cannot reuse (and overwrite) them; its token completes
	// at the first connection, which OnConnect announces.
	p.client.Connect()
	return p, nil
}

// connectBackoff spaces the attempts at connecting and reconnecting.
var connectBackoff = backoff.Policy{Base: time.Second, Max: time.Minute, Min: 100 * time.Millisecond}

// WaitConnected waits for the first connection; when ctx ends first, the
// error says why the last attempt failed.
func (p *Publisher) WaitConnected(ctx context.Context) error {
	select {
	case <-p.up:
		return nil
	case <-ctx.Done():
	}
	if err := p.LastConnectError(); err != nil {
		return fmt.Errorf("mqtt: connecting to %s: %w (last error: %w)", redact.URL(p.cfg.MQTT.Broker), ctx.Err(), err)
	}
	return fmt.Errorf("mqtt: connecting to %s: %w", redact.URL(p.cfg.MQTT.Broker), ctx.Err())
}

// Connected reports whether the session has connected at least once.
func (p *Publisher) Connected() bool { return p.connects.Load() > 0 }

// LastConnectError is why the last connection attempt failed (with the
// keys to check), nil before any failed.
func (p *Publisher) LastConnectError() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastErr
}

// connectionEvent drives the waits between connection attempts. paho's own
// waits (ConnectRetryInterval, and the reconnect's doubling up to
// MaxReconnectInterval) are deterministic, so every agent that lost the
// same broker would come back at the same moments; they are set to a
// millisecond, and the wait happens here instead, before each attempt but
// the very first, with full jitter (see internal/backoff). paho calls this
// on the goroutine that makes the attempts, so the wait delays exactly the
// next attempt; Close ends it. The session (store, message ids) is paho's
// as before: only the timing is ours.
func (p *Publisher) connectionEvent(_ mqtt.Client, n mqtt.ConnectionNotification) {
	switch n := n.(type) {
	case mqtt.ConnectionNotificationConnecting:
		p.mu.Lock()
		p.reconnect, p.attempt = n.IsReconnect, n.Attempt
		wait := p.retryIn
		if n.IsReconnect && n.Attempt == 0 {
			// Right after a loss: the broker may have restarted, and
			// every client it had comes back now.
			wait = p.bo.Delay(0)
		}
		p.mu.Unlock()
		if n.IsReconnect || n.Attempt > 0 {
			t := time.NewTimer(wait)
			defer t.Stop()
			select {
			case <-t.C:
			case <-p.closing:
			}
		}
	case mqtt.ConnectionNotificationFailed:
		select {
		case <-p.closing:
			return
		default:
		}
		err := explainConnectError(n.Reason, &p.cfg.MQTT)
		p.mu.Lock()
		k := p.attempt
		if p.reconnect {
			k++ // attempt 0 of a reconnect waited Delay(0) already
		}
		p.retryIn, p.lastErr = p.bo.Delay(k), err
		attempt, retryIn := p.attempt+1, p.retryIn
		p.mu.Unlock()
		p.log.Warn("mqtt: cannot connect; retrying", "broker", redact.URL(p.cfg.MQTT.Broker), "err", err, "attempt", attempt,
			"retry_in", retryIn)
	}
}

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
	if err := checkStoreDir(storeDir); err != nil {
		return nil, err
	}
	p.files = newCheckedFileStore(storeDir, p.log)
	p.store = newBoundedStore(p.files, m.StoreLimit, p.log)
	p.store.gate = p.gate
	opts := mqtt.NewClientOptions().
		AddBroker(broker).
		SetClientID(p.cfg.ClientID()).
		SetCleanSession(false).
		SetStore(p.store).
		SetCustomOpenConnectionFn(p.gate.dial).
		// Commands in arrival order: route only queues them, so it
		// never blocks the client.
		SetOrderMatters(true).
		SetKeepAlive(m.KeepAlive).
		SetWriteTimeout(sendTimeout).
		// Publishing works from the start (QoS 1 waits in the store), and
		// connectionEvent logs each failed attempt and does the waits.
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Millisecond).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(time.Millisecond).
		SetConnectionNotificationHandler(p.connectionEvent).
		SetWill(p.topics.Status, "offline", 1, true).
		SetDefaultPublishHandler(p.route).
		SetOnConnectHandler(func(mqtt.Client) {
			n := p.connects.Add(1)
			p.log.Info("mqtt connected", "broker", redact.URL(m.Broker), "client_id", p.cfg.ClientID(), "connects", n)
			// Safe on the first connection too: with ConnectRetry, paho
			// took the stored messages' ids in Connect, before any
			// publish (see StartPublisher).
			p.announce()
			p.upOnce.Do(func() { close(p.up) })
		}).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			p.connLosses.Add(1)
			p.log.Warn("mqtt connection lost; reconnecting", "broker", redact.URL(m.Broker), "err", err)
		})
	if err := setCredentials(opts, m); err != nil {
		return nil, err
	}
	return opts, nil
}

// errStateDir marks the errors a state_dir that cannot be used causes.
var errStateDir = errors.New("state_dir")

// checkStoreDir makes the message store's folder and checks that it can
// be written: paho's store fails only later, message by message.
func checkStoreDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("%w: message store: %w", errStateDir, err)
	}
	f, err := os.CreateTemp(dir, "write-check-*.tmp")
	if err != nil {
		return fmt.Errorf("%w: message store %s is not writable: %w", errStateDir, dir, err)
	}
	f.Close()
	if err := os.Remove(f.Name()); err != nil {
		return fmt.Errorf("%w: message store: %w", errStateDir, err)
	}
	return nil
}

// setCredentials sets the username, the password from its file and TLS
// as m configures them: the agent and watch log in alike.
func setCredentials(opts *mqtt.ClientOptions, m *MQTTConfig) error {
	if m.Username != "" {
		opts.SetUsername(m.Username)
		if m.PasswordFile != "" {
			pw, err := boundedio.ReadFile(m.PasswordFile, maxPasswordBytes)
			if err != nil {
				return fmt.Errorf("mqtt: password: %w", err)
			}
			opts.SetPassword(strings.TrimRight(string(pw), "\r\n"))
		}
	}
	secure := strings.HasPrefix(pahoURL(m.Broker), "ssl://")
	if !secure && (m.CAFile != "" || m.CertFile != "") {
		// paho would speak plain text anyway, the password in clear.
		return errors.New("mqtt: a CA or client certificate (mqtt.ca_file, mqtt.cert_file) needs an mqtts:// broker; " +
			"mqtt:// is plain text")
	}
	if secure {
		tc, err := tlsConfig(m)
		if err != nil {
			return err
		}
		opts.SetTLSConfig(tc)
	}
	return nil
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

// Bounds on the files mqtt.password_file, ca_file, cert_file and
// key_file name (Debian's whole CA bundle is about 220 KB).
const (
	maxPasswordBytes = 64 << 10
	maxPEMBytes      = 4 << 20
)

// tlsConfig is TLS 1.2 or newer with the configured CA and client
// certificate (the system's roots without a CA file).
func tlsConfig(m *MQTTConfig) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if m.CAFile != "" {
		pem, err := boundedio.ReadFile(m.CAFile, maxPEMBytes)
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
		certPEM, err := boundedio.ReadFile(m.CertFile, maxPEMBytes)
		if err != nil {
			return nil, fmt.Errorf("mqtt: client certificate: %w", err)
		}
		keyPEM, err := boundedio.ReadFile(m.KeyFile, maxPEMBytes)
		if err != nil {
			return nil, fmt.Errorf("mqtt: client key: %w", err)
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
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
	p.publish(p.topics.Status, 1, true, "online")
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

// clip quotes at most n bytes of a payload for a log line.
func clip(b []byte, n int) string {
	if len(b) > n {
		return fmt.Sprintf("%q...", b[:n])
	}
	return fmt.Sprintf("%q", b)
}

// PublishState publishes the settings in force, retained: on connect,
// after a command and after a reload. While disconnected it does nothing:
// a retained message queued now could reach the broker after the next
// connection's fresher one; that connection announces the state anyway.
func (p *Publisher) PublishState() {
	if !p.client.IsConnectionOpen() {
		return
	}
	p.stateMu.Lock()
	defer p.stateMu.Unlock()
	var state struct {
		Settings
		ModelState
	}
	state.Settings, _ = p.control.Get()
	if m := p.model.Load(); m != nil {
		state.ModelState = *m
	}
	payload, err := json.Marshal(state)
	if err != nil {
		p.log.Error("state not published", "err", err)
		return
	}
	p.publish(p.topics.State, 1, true, payload)
}

// publishDiscovery publishes the discovery message, retained (not while
// disconnected, as PublishState).
func (p *Publisher) publishDiscovery() {
	if d := p.discovery.Load(); d != nil && p.client.IsConnectionOpen() {
		p.publish(DiscoveryTopic(&p.cfg), 1, true, *d)
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

// ModelRequests are the set/model commands, one at a time: a second one
// sent while the first is loaded is rejected.
func (p *Publisher) ModelRequests() <-chan ModelRequest { return p.models }

// SetModel names the model in force on the state topic and publishes it.
func (p *Publisher) SetModel(m ModelState) {
	p.model.Store(&m)
	p.PublishState()
}

// rejectModel counts a set/model the agent refused, and publishes why
// with the model that stays.
func (p *Publisher) rejectModel(err error) {
	p.rejected.Add(1)
	m := ModelState{}
	if old := p.model.Load(); old != nil {
		m = *old
	}
	m.ModelError = err.Error()
	p.SetModel(m)
}

// CommandsRejected is how many commands were ignored: malformed, or
// dropped by a full queue.
func (p *Publisher) CommandsRejected() int64 { return p.rejected.Load() }

// Topics returns the topics in use.
func (p *Publisher) Topics() Topics { return p.topics }

// PublishLabels numbers msg and publishes it with the labels QoS,
// retained if msg.Retain. It does not wait for the broker: while
// disconnected, before the first connection too, QoS 1 and 2 messages
// wait in the store and go out on (re)connect; QoS 0 ones are lost then
// (paho keeps no QoS 0 message).
func (p *Publisher) PublishLabels(msg LabelsMessage) (uint64, error) {
	return p.publishLabelsOn(p.topics.Labels, msg)
}

// publishLabelsOn is PublishLabels on topic (a region's labels topic),
// numbered in the same sequence.
func (p *Publisher) publishLabelsOn(topic string, msg LabelsMessage) (uint64, error) {
	msg.Seq = p.seq.Add(1)
	payload, err := json.Marshal(msg)
	if err != nil {
		return msg.Seq, fmt.Errorf("mqtt: labels: %w", err)
	}
	p.publish(topic, byte(p.cfg.MQTT.LabelsQoS), msg.Retain, payload)
	p.published.Add(1)
	return msg.Seq, nil
}

// publish is the one way to paho's Publish: through the gate, so that no
// message is sent twice or ahead of older ones when a connection comes up.
func (p *Publisher) publish(topic string, qos byte, retain bool, payload any) mqtt.Token {
	p.gate.enter()
	defer p.gate.leave()
	return p.client.Publish(topic, qos, retain, payload)
}

// publishRaw publishes payload on topic as it is (a region's state,
// snapshot, a camera's motion), without waiting for the broker: QoS 1
// waits in the store while disconnected, QoS 0 is lost then.
func (p *Publisher) publishRaw(topic string, qos byte, retain bool, payload []byte) {
	p.publish(topic, qos, retain, payload)
}

// PublishStats publishes v as JSON on the stats topic (QoS 0, not
// retained: stale statistics are worse than none).
func (p *Publisher) PublishStats(v any) error {
	payload, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("mqtt: stats: %w", err)
	}
	p.publish(p.topics.Stats, 0, false, payload)
	return nil
}

// Reconnects is how many times the session connected again after the
// first connection.
func (p *Publisher) Reconnects() int64 { return max(0, p.connects.Load()-1) }

// StoreDropped is how many messages the store could not persist (full, or
// a disk error).
func (p *Publisher) StoreDropped() int64 { return p.store.Dropped() }

// StoreQuarantined is how many invalid message files the store set aside
// when it was opened.
func (p *Publisher) StoreQuarantined() int64 { return p.files.Quarantined() }

// Close publishes "offline" (retained; a will does not fire after a clean
// disconnect), waits up to publishTimeout for it, and disconnects. While
// not connected it publishes nothing: the broker has no connection of ours
// (it sent the will for the one it lost), and an "offline" left in the
// store would be resent after the next start's "online". Labels not yet
// delivered stay in the store for the next start.
func (p *Publisher) Close() error {
	p.closeOnce.Do(func() { close(p.closing) })
	var err error
	if p.client.IsConnectionOpen() {
		tok := p.publish(p.topics.Status, 1, true, "offline")
		if !tok.WaitTimeout(publishTimeout) {
			err = errors.New("mqtt: offline status not acknowledged in time")
		} else if tok.Error() != nil {
			err = fmt.Errorf("mqtt: offline status: %w", tok.Error())
		}
	}
	p.client.Disconnect(uint(publishTimeout / time.Millisecond))
	return err
}
