package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/coatnet-edge/coatnet-edge/internal/mqtttest"
)

// syncBuffer is a bytes.Buffer safe for the watcher and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestWatch follows a device through mosquitto: its status, its labels,
// and the gap when sequence numbers skip.
func TestWatch(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	out := &syncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- Watch(ctx, WatchOptions{Broker: b.URL, Device: "cam1", MaxLabel: 5}, out) }()
	waitFor(t, "the watcher to subscribe", func() bool { return strings.Contains(out.String(), "watching") })

	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(pahoURL(b.URL)).SetClientID("test-pub"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c.Disconnect(100)
	pub := func(topic string, payload []byte) {
		if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	pub("coatnet/cam1/status", []byte("online"))
	pub("coatnet/cam2/status", []byte("online"))  // another device: not watched
	for _, seq := range []uint64{1, 2, 5, 5, 1} { // a gap, a QoS 1 duplicate, a restart
		msg, _ := json.Marshal(LabelsMessage{Seq: seq, Labels: []Label{{Label: "Bag", Score: 0.9}}, InferenceMs: 11})
		pub("coatnet/cam1/labels", msg)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"cam1 status online", "cam1 #1 Bag 0.90 (11.0 ms)", "cam1 #2", "cam1 gap: 2 label messages missing (#3 to #4)", "cam1 #5",
		"cam1 restarted (sequence back to 1)"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if strings.Count(text, "gap:") != 1 {
		t.Errorf("the duplicate or the restart was taken for a gap:\n%s", text)
	}
	if strings.Contains(text, "cam2") {
		t.Errorf("another device shown:\n%s", text)
	}
}

func TestWatchNoBroker(t *testing.T) {
	if err := Watch(context.Background(), WatchOptions{Broker: "mqtt://127.0.0.1:1"}, &syncBuffer{}); err == nil {
		t.Fatal("watching nothing gave no error")
	}
}
