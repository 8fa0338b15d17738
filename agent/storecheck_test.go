package agent

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
)

// encode is what paho's FileStore writes for m.
func encode(t testing.TB, m packets.ControlPacket) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := m.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pubrelPacket(id uint16) packets.ControlPacket {
	p := packets.NewControlPacket(packets.Pubrel).(*packets.PubrelPacket)
	p.MessageID = id
	return p
}

// badStoreFiles are message files a crash, a disk fault or someone with
// write access to the state directory may leave in the store, by name,
// none of which paho wrote for this client.
func badStoreFiles(t testing.TB, first int) map[string][]byte {
	badPubrel := encode(t, pubrelPacket(uint16(first)))
	badPubrel[0] = 0x60 // PUBREL's fixed header flags must be 0010
	random := make([]byte, 300)
	rand.NewChaCha8([32]byte{19}).Read(random)
	qos0 := publishPacket(uint16(first + 3)).(*packets.PublishPacket)
	qos0.Qos = 0
	wildcard := publishPacket(uint16(first + 4)).(*packets.PublishPacket)
	wildcard.TopicName = "coatnet/+/labels"
	connect := packets.NewControlPacket(packets.Connect).(*packets.ConnectPacket)
	connect.ProtocolName, connect.ProtocolVersion, connect.ClientIdentifier = "MQTT", 4, "x"
	key := func(n int) string { return "o." + strconv.Itoa(first+n) + ".msg" }
	return map[string][]byte{
		key(0): badPubrel,
		key(1): random,
		// A PUBLISH claiming 256 MiB: paho's reader would allocate it.
		key(2):                                {0x32, 0xff, 0xff, 0xff, 0x7f, 0, 1, 't', 0, 1},
		key(3):                                encode(t, qos0),
		key(4):                                encode(t, wildcard),
		key(5):                                encode(t, publishPacket(uint16(first+50))), // its key says another id
		key(6):                                encode(t, connect),
		key(7):                                append(encode(t, publishPacket(uint16(first+7))), "trailing"...),
		"o.0.msg":                             encode(t, publishPacket(0)),
		"x.msg":                               {0x62, 2, 0, 1},
		"o.070000.msg":                        encode(t, pubrelPacket(4464)),
		"i.1.msg":                             {0x62, 2, 0, 2}, // an inbound PUBREL under another id
		"o." + strconv.Itoa(first+8) + ".msg": nil,             // empty
	}
}

func writeStoreFiles(t testing.TB, dir string, files map[string][]byte, mtime time.Time) {
	t.Helper()
	for name, data := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStoreOpenSetsAsideInvalidFiles: opening the store keeps the messages
// paho stores for this client (outbound QoS 1 and 2 PUBLISH and PUBREL,
// inbound PUBLISH and PUBREL, each under its own id) and renames every
// other message file to .CORRUPT, with a log line and a count, without
// reading a packet's claimed length into memory; a temporary file of a
// write that never finished is removed.
func TestStoreOpenSetsAsideInvalidFiles(t *testing.T) {
	dir := t.TempDir()
	good := map[string][]byte{
		"o.1.msg":     encode(t, publishPacket(1)),
		"o.2.msg":     encode(t, pubrelPacket(2)),
		"i.3.msg":     encode(t, pubrelPacket(3)),
		"i.4.msg":     encode(t, publishPacket(4)),
		"o.65535.msg": encode(t, publishPacket(65535)),
	}
	q2 := publishPacket(5).(*packets.PublishPacket)
	q2.Qos, q2.Retain, q2.Dup = 2, true, true
	good["o.5.msg"] = encode(t, q2)
	bad := badStoreFiles(t, 100)
	writeStoreFiles(t, dir, good, time.Now())
	writeStoreFiles(t, dir, bad, time.Now())
	writeStoreFiles(t, dir, map[string][]byte{"o.9.tmp": nil, "notes.txt": []byte("kept")}, time.Now())

	var logBuf syncLog
	log := slog.New(slog.NewTextHandler(&logBuf, nil))
	fs := newCheckedFileStore(dir, log)
	s := newBoundedStore(fs, 100, log)
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	s.Open()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	defer s.Close()
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Errorf("opening the store allocated %d MiB", grew>>20)
	}

	keys := s.All()
	slices.Sort(keys)
	want := []string{"i.3", "i.4", "o.1", "o.2", "o.5", "o.65535"}
	if !slices.Equal(keys, want) {
		t.Errorf("after Open the store holds %q, want %q", keys, want)
	}
	for name := range bad {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("%s is still a message file (%v)", name, err)
		}
		aside := filepath.Join(dir, strings.TrimSuffix(name, ".msg")+".CORRUPT")
		if data, err := os.ReadFile(aside); err != nil || !bytes.Equal(data, bad[name]) {
			t.Errorf("%s not set aside as %s: %v", name, filepath.Base(aside), err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "o.9.tmp")); !os.IsNotExist(err) {
		t.Errorf("the unfinished write o.9.tmp is still there (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Errorf("a file that is not the store's was touched: %v", err)
	}
	if got := fs.Quarantined(); got != int64(len(bad)) {
		t.Errorf("%d files counted as set aside, want %d", got, len(bad))
	}
	if n := strings.Count(logBuf.String(), "set aside"); n == 0 {
		t.Errorf("nothing logged:\n%s", logBuf.String())
	}
	// The limit counts only what was kept: 4 outbound of 6.
	s2 := newBoundedStore(newCheckedFileStore(dir, log), 4, log)
	s2.Open()
	s2.Put("o.7", publishPacket(7))
	if s2.Dropped() != 1 {
		t.Errorf("a store of 4 outbound messages with limit 4 took one more (dropped %d)", s2.Dropped())
	}
	t.Logf("log:\n%s", logBuf.String())
}

// failingPacket fails to write after paho created its temporary file, as a
// full disk does.
type failingPacket struct{ packets.ControlPacket }

func (failingPacket) Write(io.Writer) error { return os.ErrDeadlineExceeded }

// TestStorePutFailureLeavesNoTemporaryFile: a write that fails (a full
// disk) is dropped and counted, and leaves no o.N.tmp behind; the next
// write goes on as usual.
func TestStorePutFailureLeavesNoTemporaryFile(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := newBoundedStore(newCheckedFileStore(dir, log), 10, log)
	s.Open()
	defer s.Close()
	s.Put("o.1", failingPacket{publishPacket(1)})
	if s.Dropped() != 1 {
		t.Errorf("dropped %d, want 1", s.Dropped())
	}
	s.Put("o.2", publishPacket(2))
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"o.2.msg"}) {
		t.Errorf("the store directory holds %q, want only o.2.msg", names)
	}
}

// FuzzCheckStored: any file content under any key is accepted or set
// aside, never a panic; what is accepted is a packet paho would write
// back as the same bytes, with the id of its key.
func FuzzCheckStored(f *testing.F) {
	f.Add("o.1", encode(f, publishPacket(1)))
	f.Add("o.2", encode(f, pubrelPacket(2)))
	f.Add("i.3", encode(f, pubrelPacket(3)))
	for name, data := range badStoreFiles(f, 100) {
		f.Add(strings.TrimSuffix(name, ".msg"), data)
	}
	f.Fuzz(func(t *testing.T, key string, data []byte) {
		if len(data) > maxStoredPacket {
			return
		}
		m, err := checkStored(key, data)
		if err != nil {
			return
		}
		if !bytes.Equal(encode(t, m), data) {
			t.Fatalf("accepted %q under %s, which writes back as other bytes", data, key)
		}
		if id := m.Details().MessageID; key[2:] != strconv.Itoa(int(id)) {
			t.Fatalf("accepted a packet with id %d under %s", id, key)
		}
	})
}

// TestCorruptStoreFilesDoNotStopDelivery: labels queued while the broker
// was out of reach wait in the store beside corrupt message files older
// than they are, which paho would resend first (one of them a PUBREL
// mosquitto drops the connection for, every time). Started again with a
// broker, the agent sets the bad files aside and delivers every label.
func TestCorruptStoreFilesDoNotStopDelivery(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	sub := subscribe(t, b.URL, cfg.MQTT.Prefix+"/"+cfg.Device+"/labels")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	away := cfg
	away.MQTT.Broker = "mqtt://" + l.Addr().String()
	l.Close() // nothing listens there
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	first, err := StartPublisher(away, NewControl(cfg.Pipeline), nil, discard)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	for range n {
		if _, err := first.PublishLabels(LabelsMessage{Camera: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	first.Close()
	store := filepath.Join(cfg.StateDir, "mqtt-store")
	bad := badStoreFiles(t, 1000)
	delete(bad, "x.msg") // paho's resume would panic on a key that short
	writeStoreFiles(t, store, bad, time.Now().Add(-time.Hour))

	log := &syncLog{}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	second, err := NewPublisher(ctx, cfg, NewControl(cfg.Pipeline), nil, slog.New(slog.NewTextHandler(log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("agent log:\n%s", log)
		}
	})
	waitFor(t, "the stored labels", func() bool { return len(sub.missing(n)) == 0 })
	if got := second.StoreQuarantined(); got != int64(len(bad)) {
		t.Errorf("%d store files set aside, want %d", got, len(bad))
	}
	if strings.Contains(log.String(), "connection lost") {
		t.Errorf("the connection was lost:\n%s", log)
	}
}
