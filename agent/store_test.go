package agent

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

func publishPacket(id uint16) packets.ControlPacket {
	p := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	p.TopicName, p.Qos, p.MessageID, p.Payload = "t", 1, id, []byte("x")
	return p
}

// TestBoundedStoreLimit: outbound messages beyond the limit are counted,
// not stored; deleting one makes room; inbound ones are not limited; a
// reopened store counts what is on disk.
func TestBoundedStoreLimit(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := newBoundedStore(mqtt.NewFileStore(dir), 3, log)
	s.Open()
	for id := uint16(1); id <= 5; id++ {
		s.Put(fmt.Sprintf("o.%d", id), publishPacket(id))
	}
	s.Put("i.9", publishPacket(9))
	if got := len(s.All()); got != 4 {
		t.Errorf("%d messages stored, want 3 outbound + 1 inbound", got)
	}
	if s.Dropped() != 2 {
		t.Errorf("dropped %d, want 2", s.Dropped())
	}
	s.Del("o.1")
	s.Put("o.6", publishPacket(6))
	if s.Get("o.6") == nil || s.Dropped() != 2 {
		t.Errorf("a deleted message did not make room (dropped %d)", s.Dropped())
	}
	s.Close()
	again := newBoundedStore(mqtt.NewFileStore(dir), 3, log)
	again.Open()
	again.Put("o.7", publishPacket(7))
	if again.Dropped() != 1 {
		t.Errorf("reopened store: dropped %d, want 1 (3 outbound already on disk)", again.Dropped())
	}
}

// TestBoundedStoreListsInPutOrder: All, the order paho resends in, is the
// order the messages were stored, not the files' name order (o.10 before
// o.9); a reopened store lists a previous run's messages by id.
func TestBoundedStoreListsInPutOrder(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := newBoundedStore(mqtt.NewFileStore(dir), 100, log)
	s.Open()
	for _, id := range []uint16{9, 10, 2, 65535, 1} {
		s.Put(fmt.Sprintf("o.%d", id), publishPacket(id))
	}
	s.Put("i.4", publishPacket(4))
	if got, want := fmt.Sprint(s.All()), "[i.4 o.9 o.10 o.2 o.65535 o.1]"; got != want {
		t.Errorf("All = %s, want %s", got, want)
	}
	s.Del("o.2")
	s.Put("o.2", publishPacket(2))
	if got, want := fmt.Sprint(s.All()), "[i.4 o.9 o.10 o.65535 o.1 o.2]"; got != want {
		t.Errorf("after o.2 was sent and its id reused: All = %s, want %s", got, want)
	}
	s.Close()
	again := newBoundedStore(mqtt.NewFileStore(dir), 100, log)
	again.Open()
	if got, want := fmt.Sprint(again.All()), "[i.4 o.1 o.2 o.9 o.10 o.65535]"; got != want {
		t.Errorf("reopened: All = %s, want %s", got, want)
	}
}

// TestBoundedStoreDiskError: paho's FileStore panics when it cannot write;
// the wrapper logs, counts and goes on.
func TestBoundedStoreDiskError(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	s := newBoundedStore(mqtt.NewFileStore(dir), 10, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.Open()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	s.Put("o.1", publishPacket(1)) // must not panic
	if s.Dropped() != 1 {
		t.Errorf("dropped %d, want 1", s.Dropped())
	}
}
