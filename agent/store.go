package agent

import (
	"cmp"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// boundedStore wraps paho's message store with two guards. It keeps at most
// limit outbound messages: beyond that a new message is not persisted (it
// still goes out while connected, but would not survive an agent restart)
// and is counted as dropped. And paho's FileStore panics on a disk error (a
// full SD card); the panic is caught, logged and counted the same way.
//
// The limit is the labels': control messages (retained status, state and
// discovery, subscriptions) have a share of their own, controlStoreLimit,
// so that a flood of them cannot fill the store. Beyond it they are not
// persisted and not counted: every connection publishes them afresh, so
// a lost one costs nothing. Messages found on disk at Open count as
// labels.
type boundedStore struct {
	inner   mqtt.Store
	limit   int
	log     *slog.Logger
	dropped atomic.Int64
	// gate, when set, follows paho's resend on connecting (resumegate.go).
	gate *resumeGate

	mu       sync.Mutex
	outbound map[string]bool // keys of stored outbound labels ("o.<id>")
	control  map[string]bool // keys of stored outbound control messages
	// putOrder numbers the stored outbound messages in the order they were
	// stored, for All: paho resends in the order All lists, and the files
	// list in name order (o.10 before o.9).
	putOrder map[string]uint64
	puts     uint64

	// A full disk fails every message: one log line per storeLogInterval.
	logMu      sync.Mutex
	lastLog    time.Time
	suppressed int
}

// storeLogInterval spaces the store's failure lines.
const storeLogInterval = 10 * time.Second

// controlStoreLimit is the store's share for control messages: a few are
// in flight at a time (see stateEchoBurst).
const controlStoreLimit = 64

// isControl tells control messages from labels: labels are the only
// publishes not retained (and only they can be QoS 2, with a PUBREL).
func isControl(m packets.ControlPacket) bool {
	switch m := m.(type) {
	case *packets.PublishPacket:
		return m.Retain
	case *packets.SubscribePacket, *packets.UnsubscribePacket:
		return true
	}
	// PUBREL (the second half of a QoS 2 label) and anything unforeseen
	// count as messages: counted when dropped, never evicted for control.
	return false
}

func newBoundedStore(inner mqtt.Store, limit int, log *slog.Logger) *boundedStore {
	return &boundedStore{inner: inner, limit: limit, log: log, outbound: map[string]bool{}, control: map[string]bool{},
		putOrder: map[string]uint64{}}
}

func isOutbound(key string) bool { return strings.HasPrefix(key, "o.") }

// guard runs f, turning a panic of the inner store into a logged error.
func (s *boundedStore) guard(op, key string, f func()) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			s.logFailure(op, key, r)
			ok = false
		}
	}()
	f()
	return true
}

// logFailure logs a store failure, at most once per storeLogInterval,
// saying how many were not logged since.
func (s *boundedStore) logFailure(op, key string, r any) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	if now := time.Now(); now.Sub(s.lastLog) >= storeLogInterval {
		s.log.Error("mqtt message store failed; message not persisted", "op", op, "key", key, "err", r,
			"similar_failures_not_logged", s.suppressed)
		s.lastLog, s.suppressed = now, 0
		return
	}
	s.suppressed++
}

func (s *boundedStore) Open() {
	s.guard("open", "", s.inner.Open)
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.outbound)
	var keys []string
	s.guard("list", "", func() { keys = s.inner.All() })
	clear(s.putOrder)
	// A previous run's messages, in the order of their ids: the order
	// they were published in, unless the ids wrapped around.
	slices.SortFunc(keys, func(a, b string) int { return cmp.Compare(keyID(a), keyID(b)) })
	for _, k := range keys {
		if isOutbound(k) {
			s.outbound[k] = true
			s.stored(k)
		}
	}
}

// keyID is the message id in a store key ("o.17" -> 17).
func keyID(key string) int {
	_, id, _ := strings.Cut(key, ".")
	n, _ := strconv.Atoi(id)
	return n
}

// stored numbers a newly stored outbound key (s.mu held).
func (s *boundedStore) stored(key string) {
	if _, ok := s.putOrder[key]; !ok {
		s.puts++
		s.putOrder[key] = s.puts
	}
}

func (s *boundedStore) Put(key string, m packets.ControlPacket) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if isOutbound(key) && !s.outbound[key] && (s.control[key] || isControl(m)) {
		if s.control[key] || len(s.control) < controlStoreLimit {
			if s.guard("put", key, func() { s.inner.Put(key, m) }) {
				s.control[key] = true
				s.stored(key)
			}
		}
		return
	}
	if isOutbound(key) && !s.outbound[key] && len(s.outbound) >= s.limit {
		if s.dropped.Add(1) == 1 {
			s.log.Warn("mqtt message store full; new messages are not persisted until it drains", "limit", s.limit)
		}
		return
	}
	if !s.guard("put", key, func() { s.inner.Put(key, m) }) {
		s.dropped.Add(1)
		return
	}
	if isOutbound(key) {
		s.outbound[key] = true
		s.stored(key)
	}
}

// Get returns nil for a missing or corrupt message (paho's FileStore sets
// a corrupt file aside), which then no longer counts towards the limit.
func (s *boundedStore) Get(key string) (m packets.ControlPacket) {
	s.guard("get", key, func() { m = s.inner.Get(key) })
	if s.gate != nil {
		s.gate.storeGot(key, m)
	}
	if m == nil && isOutbound(key) {
		s.mu.Lock()
		delete(s.outbound, key)
		delete(s.control, key)
		delete(s.putOrder, key)
		s.mu.Unlock()
	}
	return m
}

func (s *boundedStore) All() (keys []string) {
	s.guard("list", "", func() { keys = s.inner.All() })
	s.mu.Lock()
	// Outbound messages in the order they were stored (inbound ones, which
	// paho acknowledges rather than resends, first).
	slices.SortStableFunc(keys, func(a, b string) int { return cmp.Compare(s.putOrder[a], s.putOrder[b]) })
	s.mu.Unlock()
	if s.gate != nil {
		s.gate.storeListed(keys)
	}
	return keys
}

func (s *boundedStore) Del(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.guard("delete", key, func() { s.inner.Del(key) })
	delete(s.outbound, key)
	delete(s.control, key)
	delete(s.putOrder, key)
}

func (s *boundedStore) Close() { s.guard("close", "", s.inner.Close) }

func (s *boundedStore) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.guard("reset", "", s.inner.Reset)
	clear(s.outbound)
	clear(s.control)
	clear(s.putOrder)
}

// Dropped is how many messages were not persisted.
func (s *boundedStore) Dropped() int64 { return s.dropped.Load() }
