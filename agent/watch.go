package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/coatnet-edge/coatnet-edge/internal/redact"
	"github.com/coatnet-edge/coatnet-edge/internal/termtext"
)

// WatchOptions choose what Watch follows and how it logs in.
type WatchOptions struct {
	// Broker is mqtt://host:port or mqtts://host:port. A user:password@
	// in it logs in (and is never printed).
	Broker   string
	Prefix   string // topic prefix of the agents (default coatnet)
	Device   string // one device, or "" for all
	MaxLabel int    // stop after this many label messages; 0: until ctx ends
	// ClientID, when set, is a fixed client id with a persistent session
	// (CleanSession false): the broker keeps the subscription and the QoS 1
	// labels sent while watch is away, and hands them over when it is
	// back. Empty: a fresh id and a clean session each time.
	ClientID string
	// Username, PasswordFile, CAFile, CertFile and KeyFile mean what the
	// agent's mqtt.* keys of the same names mean.
	Username, PasswordFile, CAFile, CertFile, KeyFile string
}

// Watch subscribes to the labels, status and stats of one or every agent
// and prints them as lines to out until ctx ends or MaxLabel messages
// arrived. It subscribes on every (re)connection, since a clean session or
// a broker that lost its database keeps no subscription, and says when it
// reconnected. It reports when a device's label sequence numbers skip
// (messages lost) or restart (the agent restarted); see watcher for how
// late messages are told from lost ones.
func Watch(ctx context.Context, opt WatchOptions, out io.Writer) error {
	if opt.Prefix == "" {
		opt.Prefix = "coatnet"
	}
	device := opt.Device
	if device == "" {
		device = "+"
	}
	broker := redact.URL(opt.Broker)
	if opt.PasswordFile != "" && opt.Username == "" {
		return errors.New("watch: a password file needs a username")
	}
	if (opt.CertFile == "") != (opt.KeyFile == "") {
		return errors.New("watch: a client certificate needs both a certificate and a key file")
	}
	w := newWatcher(out, opt.MaxLabel)
	filter := opt.Prefix + "/" + device + "/+"
	id := opt.ClientID
	if id == "" {
		id = fmt.Sprintf("coatnet-watch-%d", time.Now().UnixNano())
	}
	first := make(chan mqtt.Token, 1)
	var connects atomic.Int64
	opts := mqtt.NewClientOptions().AddBroker(pahoURL(opt.Broker)).
		SetClientID(id).SetCleanSession(opt.ClientID == "").
		SetOrderMatters(true).SetAutoReconnect(true).SetConnectRetry(false).
		SetMaxReconnectInterval(10 * time.Second).
		// A persistent session's queued messages can come before the
		// subscription is renewed.
		SetDefaultPublishHandler(w.handle).
		SetOnConnectHandler(func(c mqtt.Client) {
			tok := c.Subscribe(filter, 1, w.handle)
			if connects.Add(1) == 1 {
				first <- tok
				return
			}
			go func() { // paho's goroutine must not wait for the SUBACK
				if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
					w.printf("reconnected to %s, but subscribing to %s failed: %v", broker, filter, tok.Error())
					return
				}
				w.printf("reconnected to %s", broker)
			}()
		}).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			w.printf("connection to %s lost (%v); reconnecting", broker, err)
		})
	if err := setCredentials(opts, &MQTTConfig{Broker: opt.Broker, Username: opt.Username, PasswordFile: opt.PasswordFile,
		CAFile: opt.CAFile, CertFile: opt.CertFile, KeyFile: opt.KeyFile}); err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		c.Disconnect(0)
		if tok.Error() != nil {
			return fmt.Errorf("watch: connecting to %s: %w", broker, tok.Error())
		}
		return fmt.Errorf("watch: connecting to %s: no answer in 10s", broker)
	}
	defer c.Disconnect(250)
	select {
	case tok := <-first:
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			return fmt.Errorf("watch: subscribing to %s: %v", filter, tok.Error())
		}
	case <-ctx.Done():
		return nil
	}
	w.mu.Lock() // a persistent session's messages may be printing already
	fmt.Fprintf(out, "watching %s on %s\n", filter, broker)
	w.mu.Unlock()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			w.expire()
		case <-ctx.Done():
			w.flush()
			return nil
		case <-w.done:
			w.flush()
			return nil
		}
	}
}

// Gap detection. Labels can arrive out of order: after a broker restart
// the agent resends what the broker had not acknowledged, so #322 may come
// before #236..#321. A number that skips ahead therefore opens a hole (the
// numbers not yet seen) instead of being reported at once; messages that
// arrive later fill it, and are marked "late". A hole still open after
// gapGrace is reported as a gap, and so is every open hole when the agent
// restarts (#1 again: nothing of the old run is coming any more) or watch
// stops. Each device keeps at most maxHoles holes; opening one more
// reports the oldest at once.
const (
	gapGrace = 10 * time.Second
	maxHoles = 64
)

type watcher struct {
	mu      sync.Mutex
	out     io.Writer
	devices map[string]*sequence
	clock   func() time.Time
	labels  int
	max     int
	done    chan struct{}
}

// sequence is what one device's label numbers look like so far.
type sequence struct {
	high  uint64 // the highest number seen in this run of the agent
	holes []hole // numbers below high not seen yet, oldest first
}

type hole struct {
	from, to uint64 // inclusive
	opened   time.Time
}

func newWatcher(out io.Writer, max int) *watcher {
	return &watcher{out: out, devices: map[string]*sequence{}, clock: time.Now, max: max, done: make(chan struct{})}
}

// printf writes one line with the time in front.
func (w *watcher) printf(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.linef(w.clock(), format, args...)
}

func (w *watcher) linef(now time.Time, format string, args ...any) {
	fmt.Fprintf(w.out, "%s "+format+"\n", append([]any{now.Format("15:04:05")}, args...)...)
}

func (w *watcher) handle(_ mqtt.Client, m mqtt.Message) {
	parts := strings.Split(m.Topic(), "/")
	if len(parts) < 3 {
		return
	}
	// What others publish is printed escaped: no terminal commands.
	device, kind := termtext.Escape(parts[len(parts)-2]), parts[len(parts)-1]
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.max > 0 && w.labels >= w.max {
		return
	}
	now := w.clock()
	switch kind {
	case "labels":
		var l LabelsMessage
		if err := json.Unmarshal(m.Payload(), &l); err != nil {
			w.linef(now, "%s labels: not a labels message: %s", device, termtext.Escape(err.Error()))
			return
		}
		late := w.track(now, device, l.Seq)
		w.expireLocked(now)
		var ls []string
		for _, x := range l.Labels {
			ls = append(ls, fmt.Sprintf("%s %.2f", termtext.Escape(x.Label), x.Score))
		}
		mark := ""
		if late {
			mark = " late"
		}
		w.linef(now, "%s #%d %s (%.1f ms)%s", device, l.Seq, strings.Join(ls, ", "), l.InferenceMs, mark)
		w.labels++
		if w.max > 0 && w.labels == w.max {
			close(w.done)
		}
	case "status":
		w.linef(now, "%s status %s", device, termtext.Escape(string(m.Payload())))
	case "stats":
		var s AgentStats
		if err := json.Unmarshal(m.Payload(), &s); err != nil {
			w.linef(now, "%s stats: %s", device, termtext.Escape(err.Error()))
			return
		}
		w.linef(now, "%s stats classified %d, published %d, frames dropped %d, inference p50 %.1f ms p99 %.1f ms, reconnects %d",
			device, s.Classified, s.Published, s.FramesDropped, s.InferenceP50Ms, s.InferenceP99Ms, s.Reconnects)
	}
}

// track takes label number seq of device, reporting restarts and the gaps
// they close, and says whether seq filled a hole (came late).
func (w *watcher) track(now time.Time, device string, seq uint64) (late bool) {
	s := w.devices[device]
	switch {
	case s == nil:
		w.devices[device] = &sequence{high: seq}
	case seq == 1 && s.high > 1:
		w.reportHoles(now, device, len(s.holes))
		w.linef(now, "%s restarted (sequence back to 1)", device)
		*s = sequence{high: 1}
	case seq > s.high:
		if seq > s.high+1 {
			if len(s.holes) == maxHoles {
				w.reportHoles(now, device, 1)
			}
			s.holes = append(s.holes, hole{from: s.high + 1, to: seq - 1, opened: now})
		}
		s.high = seq
	default: // a late message, or a QoS 1 duplicate
		for i, h := range s.holes {
			if seq < h.from || seq > h.to {
				continue
			}
			switch {
			case h.from == h.to:
				s.holes = append(s.holes[:i], s.holes[i+1:]...)
			case seq == h.from:
				s.holes[i].from++
			case seq == h.to:
				s.holes[i].to--
			default: // split in two, both as old as the hole
				s.holes = append(s.holes[:i+1], s.holes[i:]...)
				s.holes[i].to, s.holes[i+1].from = seq-1, seq+1
			}
			if len(s.holes) > maxHoles {
				w.reportHoles(now, device, 1)
			}
			return true
		}
	}
	return false
}

// reportHoles reports the n oldest holes of device as gaps and forgets them.
func (w *watcher) reportHoles(now time.Time, device string, n int) {
	s := w.devices[device]
	for _, h := range s.holes[:n] {
		w.linef(now, "%s gap: %d label messages missing (#%d to #%d)", device, h.to-h.from+1, h.from, h.to)
	}
	s.holes = s.holes[n:]
}

// expire reports the holes older than gapGrace.
func (w *watcher) expire() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.expireLocked(w.clock())
}

func (w *watcher) expireLocked(now time.Time) {
	for device, s := range w.devices {
		n := 0
		for n < len(s.holes) && now.Sub(s.holes[n].opened) >= gapGrace {
			n++
		}
		if n > 0 {
			w.reportHoles(now, device, n)
		}
	}
}

// flush reports every open hole: watch stops, and they did not fill.
func (w *watcher) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for device, s := range w.devices {
		w.reportHoles(w.clock(), device, len(s.holes))
	}
}
