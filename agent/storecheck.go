package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// checkedFileStore is paho's FileStore with what a file on disk needs
// before paho trusts it. paho resends whatever decodes, so one bad file
// (a PUBREL with the wrong flags, random bytes that happen to parse) made
// the broker drop every connection, and it reads a packet's claimed
// length into memory. Open therefore checks every message file and sets
// aside, as paho does with the ones it cannot decode (.CORRUPT), each
// that is not a packet paho stores for this client. A write that fails
// (a full disk) leaves no temporary file behind.
type checkedFileStore struct {
	*mqtt.FileStore
	dir         string
	log         *slog.Logger
	quarantined atomic.Int64

	mu     sync.Mutex
	hidden map[string]bool // bad files that could not be renamed
}

// maxStoredPacket bounds a stored message file: the agent's own messages
// are a few KB; a bigger file was not written for them.
const maxStoredPacket = 1 << 20

// storeLoggedFiles is how many set-aside files Open logs one by one.
const storeLoggedFiles = 10

func newCheckedFileStore(dir string, log *slog.Logger) *checkedFileStore {
	return &checkedFileStore{FileStore: mqtt.NewFileStore(dir), dir: dir, log: log, hidden: map[string]bool{}}
}

// Quarantined is how many message files were set aside.
func (s *checkedFileStore) Quarantined() int64 { return s.quarantined.Load() }

func (s *checkedFileStore) Open() {
	s.FileStore.Open()
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		s.log.Error("mqtt message store: cannot list it", "dir", s.dir, "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.hidden)
	var n int64
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			// paho writes to key.tmp and renames it: this write never
			// finished.
			if err := os.Remove(filepath.Join(s.dir, name)); err != nil {
				s.log.Warn("mqtt message store: cannot remove an unfinished write", "file", name, "err", err)
			}
			continue
		}
		key, ok := strings.CutSuffix(name, ".msg")
		if !ok {
			continue // paho reads only .msg files
		}
		if err := s.checkFile(e); err != nil {
			n++
			s.setAside(key, err, n <= storeLoggedFiles)
		}
	}
	if n > storeLoggedFiles {
		s.log.Warn("mqtt message store: invalid message files set aside, the first ones logged above", "count", n,
			"dir", s.dir)
	}
}

// checkFile checks a message file, reading it only when its size is
// within maxStoredPacket.
func (s *checkedFileStore) checkFile(e os.DirEntry) error {
	info, err := e.Info()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("not a regular file (%v)", info.Mode().Type())
	}
	if info.Size() > maxStoredPacket {
		return fmt.Errorf("%d bytes, more than any message the agent stores (%d)", info.Size(), maxStoredPacket)
	}
	f, err := os.Open(filepath.Join(s.dir, e.Name()))
	if err != nil {
		return err
	}
	defer f.Close()
	data := make([]byte, info.Size()+1) // +1: a file that grew since
	n, err := io.ReadFull(f, data)
	switch {
	case err == nil:
		return errors.New("the file grew while it was read")
	case !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF):
		return err
	}
	_, err = checkStored(strings.TrimSuffix(e.Name(), ".msg"), data[:n])
	return err
}

// setAside renames key's file to key.CORRUPT, or where that fails
// removes it, or else hides it from paho; log says whether to log it.
func (s *checkedFileStore) setAside(key string, why error, log bool) {
	s.quarantined.Add(1)
	from, to := filepath.Join(s.dir, key+".msg"), filepath.Join(s.dir, key+".CORRUPT")
	err := os.Rename(from, to)
	switch {
	case err == nil:
		if log {
			s.log.Warn("mqtt message store: invalid message file set aside", "file", filepath.Base(from), "err", why,
				"moved_to", filepath.Base(to))
		}
	case os.Remove(from) == nil:
		s.log.Warn("mqtt message store: invalid message file removed", "file", filepath.Base(from), "err", why,
			"rename_err", err)
	default:
		s.hidden[key] = true
		s.log.Error("mqtt message store: invalid message file cannot be set aside; ignored", "file", filepath.Base(from),
			"err", why, "rename_err", err)
	}
}

// checkStored decodes the content of the message file of key and checks
// that it is what paho stores for this client, under key "o.<id>" for an
// outbound message and "i.<id>" for an inbound one: a QoS 1 or 2
// PUBLISH with a valid topic name, or a PUBREL, with id <id>, each
// exactly as paho writes it.
func checkStored(key string, data []byte) (m packets.ControlPacket, err error) {
	id, err := storeKeyID(key)
	if err != nil {
		return nil, err
	}
	if len(data) < 2 {
		return nil, fmt.Errorf("%d bytes: shorter than any packet", len(data))
	}
	// The length the fixed header claims, before paho allocates it.
	length, n := 0, 0
	for shift := 0; ; shift += 7 {
		if n == 4 || 1+n >= len(data) {
			return nil, errors.New("the fixed header's remaining length is malformed or cut off")
		}
		b := data[1+n]
		n++
		length |= int(b&0x7f) << shift
		if b&0x80 == 0 {
			break
		}
	}
	if 1+n+length != len(data) {
		return nil, fmt.Errorf("the packet claims %d bytes, the file has %d", 1+n+length, len(data))
	}
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("undecodable: %v", r)
		}
	}()
	m, err = packets.ReadPacket(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("undecodable: %w", err)
	}
	switch p := m.(type) {
	case *packets.PublishPacket:
		if p.Qos != 1 && p.Qos != 2 {
			return nil, fmt.Errorf("a PUBLISH with QoS %d, which is never stored", p.Qos)
		}
		if err := checkTopicName(p.TopicName); err != nil {
			return nil, fmt.Errorf("a PUBLISH whose topic %w", err)
		}
	case *packets.PubrelPacket:
		if data[0] != packets.Pubrel<<4|0x02 {
			return nil, fmt.Errorf("a PUBREL with fixed header flags %#x (MQTT requires 0x2)", data[0]&0x0f)
		}
	default:
		return nil, fmt.Errorf("a %s packet, which is never stored", packets.PacketNames[data[0]>>4])
	}
	if got := m.Details().MessageID; got != id {
		return nil, fmt.Errorf("packet id %d under the key of id %d", got, id)
	}
	var b bytes.Buffer
	if err := m.Write(&b); err != nil || !bytes.Equal(b.Bytes(), data) {
		return nil, errors.New("not a packet as paho writes it (trailing or inconsistent bytes)")
	}
	return m, nil
}

// storeKeyID is the packet id of a store key: "o.<id>" or "i.<id>", as
// paho names them, with id 1 to 65535.
func storeKeyID(key string) (uint16, error) {
	digits, ok := strings.CutPrefix(key, "o.")
	if !ok {
		digits, ok = strings.CutPrefix(key, "i.")
	}
	id, err := strconv.ParseUint(digits, 10, 16)
	if !ok || err != nil || id == 0 || strconv.FormatUint(id, 10) != digits {
		return 0, fmt.Errorf("%q is not a message key (o.<id> or i.<id>, id 1 to 65535)", key)
	}
	return uint16(id), nil
}

// checkTopicName is MQTT 3.1.1's rule for a topic name in PUBLISH:
// non-empty UTF-8 without NUL or wildcards.
func checkTopicName(topic string) error {
	switch {
	case topic == "":
		return errors.New("is empty")
	case !utf8.ValidString(topic) || strings.ContainsRune(topic, 0):
		return fmt.Errorf("%q is not valid UTF-8 without NUL", topic)
	case strings.ContainsAny(topic, "+#"):
		return fmt.Errorf("%q has a wildcard", topic)
	}
	return nil
}

// Put removes paho's temporary file when the write failed (paho panics
// then, which boundedStore logs and counts).
func (s *checkedFileStore) Put(key string, m packets.ControlPacket) {
	defer func() {
		if r := recover(); r != nil {
			os.Remove(filepath.Join(s.dir, key+".tmp"))
			panic(r)
		}
	}()
	s.FileStore.Put(key, m)
	s.mu.Lock()
	delete(s.hidden, key)
	s.mu.Unlock()
}

func (s *checkedFileStore) Get(key string) packets.ControlPacket {
	if s.isHidden(key) {
		return nil
	}
	return s.FileStore.Get(key)
}

func (s *checkedFileStore) All() []string {
	keys := s.FileStore.All()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.hidden) == 0 {
		return keys
	}
	kept := keys[:0]
	for _, k := range keys {
		if !s.hidden[k] {
			kept = append(kept, k)
		}
	}
	return kept
}

func (s *checkedFileStore) Del(key string) {
	s.mu.Lock()
	delete(s.hidden, key)
	s.mu.Unlock()
	s.FileStore.Del(key)
}

func (s *checkedFileStore) Reset() {
	s.mu.Lock()
	clear(s.hidden)
	s.mu.Unlock()
	s.FileStore.Reset()
}

func (s *checkedFileStore) isHidden(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hidden[key]
}
