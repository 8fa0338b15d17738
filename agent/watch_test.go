package agent

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
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

// TestWatchBrokerRestart: mosquitto is killed and started again while
// watch runs; labels published after the restart are still printed.
func TestWatchBrokerRestart(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	out := &syncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- Watch(ctx, WatchOptions{Broker: b.URL, Device: "cam1"}, out) }()
	waitFor(t, "the watcher to subscribe", func() bool { return strings.Contains(out.String(), "watching") })

	publish := func(seq uint64) {
		t.Helper()
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(pahoURL(b.URL)).SetClientID("test-pub"))
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
		defer c.Disconnect(100)
		msg, _ := json.Marshal(LabelsMessage{Seq: seq, Labels: []Label{{Label: "Bag", Score: 0.9}}, InferenceMs: 11})
		if tok := c.Publish("coatnet/cam1/labels", 1, false, msg); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	publish(1)
	waitFor(t, "label #1", func() bool { return strings.Contains(out.String(), "cam1 #1 ") })

	b.Kill()
	b.Start()
	// Until watch has subscribed again, a label has nobody to go to: keep
	// publishing the next one until one is printed.
	seen := func() bool {
		for seq := 2; seq < 200; seq++ {
			if strings.Contains(out.String(), fmt.Sprintf("cam1 #%d ", seq)) {
				return true
			}
		}
		return false
	}
	deadline := time.Now().Add(45 * time.Second)
	for seq := uint64(2); !seen(); seq++ {
		if time.Now().After(deadline) || seq >= 200 {
			t.Fatalf("no label published after the broker restarted was printed:\n%s", out.String())
		}
		publish(seq)
		poll := time.Now().Add(500 * time.Millisecond)
		for !seen() && time.Now().Before(poll) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	t.Logf("output:\n%s", out.String())
	if !strings.Contains(out.String(), "reconnected") {
		t.Errorf("the reconnection was not shown:\n%s", out.String())
	}
}

// fakeMessage is a received MQTT message, for feeding the watcher directly.
type fakeMessage struct {
	topic   string
	payload []byte
}

func (m fakeMessage) Duplicate() bool   { return false }
func (m fakeMessage) Qos() byte         { return 1 }
func (m fakeMessage) Retained() bool    { return false }
func (m fakeMessage) Topic() string     { return m.topic }
func (m fakeMessage) MessageID() uint16 { return 0 }
func (m fakeMessage) Payload() []byte   { return m.payload }
func (m fakeMessage) Ack()              {}

// feed hands the watcher label messages of cam1 with these numbers.
func feed(w *watcher, seqs ...uint64) {
	for _, seq := range seqs {
		msg, _ := json.Marshal(LabelsMessage{Seq: seq, Labels: []Label{{Label: "Bag", Score: 0.9}}})
		w.handle(nil, fakeMessage{topic: "coatnet/cam1/labels", payload: msg})
	}
}

func seqRange(from, to uint64) []uint64 {
	var s []uint64
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

// TestWatchReordered: a resend that arrives out of order after a broker
// restart (322 before 236..321) is no gap; messages that never come are.
func TestWatchReordered(t *testing.T) {
	out := &syncBuffer{}
	w := newWatcher(out, 0)
	feed(w, seqRange(1, 235)...)
	feed(w, 322)
	feed(w, seqRange(236, 321)...)
	feed(w, 323)
	if strings.Contains(out.String(), "gap") {
		t.Errorf("a reordered resend was taken for a gap:\n%s", out.String())
	}
	if n := strings.Count(out.String(), "cam1 #"); n != 323 {
		t.Errorf("%d label lines, want 323", n)
	}
}

// TestWatchLoss: numbers that never arrive are a gap once gapGrace has
// passed, or when the agent restarts, or when watch stops.
func TestWatchLoss(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	out := &syncBuffer{}
	w := newWatcher(out, 0)
	w.clock = func() time.Time { return now }
	feed(w, seqRange(1, 10)...)
	feed(w, seqRange(15, 20)...)
	if strings.Contains(out.String(), "gap") {
		t.Fatalf("a gap reported before the grace ran out:\n%s", out.String())
	}
	now = now.Add(gapGrace)
	w.expire()
	if !strings.Contains(out.String(), "cam1 gap: 4 label messages missing (#11 to #14)") || strings.Count(out.String(), "gap") != 1 {
		t.Fatalf("want one gap of 4:\n%s", out.String())
	}
	feed(w, 12) // after the gap was reported: a duplicate now, no new hole
	w.expire()
	if strings.Count(out.String(), "gap") != 1 {
		t.Errorf("the gap was reported twice:\n%s", out.String())
	}

	// A hole that is half filled, then the agent restarts: the rest is lost.
	feed(w, 25, 22, 21)
	feed(w, 1)
	text := out.String()
	if !strings.Contains(text, "cam1 #22 Bag 0.90 (0.0 ms) late") || !strings.Contains(text, "cam1 gap: 2 label messages missing (#23 to #24)") ||
		!strings.Contains(text, "cam1 restarted") || strings.Index(text, "#23 to #24") > strings.Index(text, "restarted") {
		t.Errorf("want the late #22, then the gap #23..#24, then the restart:\n%s", text)
	}
	feed(w, 2, 4)
	w.flush()
	if !strings.Contains(out.String(), "cam1 gap: 1 label messages missing (#3 to #3)") {
		t.Errorf("stopping did not report the open hole:\n%s", out.String())
	}
}

// TestWatchHolesBounded: a device that skips a number every message keeps
// at most maxHoles holes; the oldest are reported as it goes.
func TestWatchHolesBounded(t *testing.T) {
	out := &syncBuffer{}
	w := newWatcher(out, 0)
	for seq := uint64(1); seq < 1000; seq += 2 {
		feed(w, seq)
	}
	if n := len(w.devices["cam1"].holes); n != maxHoles {
		t.Errorf("%d holes kept, want %d", n, maxHoles)
	}
	if n := strings.Count(out.String(), "gap: 1 label messages"); n != 499-maxHoles {
		t.Errorf("%d gaps reported, want %d", n, 499-maxHoles)
	}
}

// TestWatchPersistentSession: with a client id, the labels published while
// watch was away are shown when it is back.
func TestWatchPersistentSession(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	opt := WatchOptions{Broker: b.URL, Device: "cam1", ClientID: "watch-test", MaxLabel: 1}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out := &syncBuffer{}
	errc := make(chan error, 1)
	go func() { errc <- Watch(ctx, opt, out) }()
	waitFor(t, "the watcher to subscribe", func() bool { return strings.Contains(out.String(), "watching") })
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(pahoURL(b.URL)).SetClientID("test-pub"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c.Disconnect(100)
	pub := func(seq uint64) {
		msg, _ := json.Marshal(LabelsMessage{Seq: seq, Labels: []Label{{Label: "Bag", Score: 0.9}}})
		if tok := c.Publish("coatnet/cam1/labels", 1, false, msg); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	pub(1)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	pub(2) // watch is away
	pub(3)
	// QoS 1 is at least once: #1 may come again if its acknowledgement
	// did not reach the broker before the first watch disconnected, so
	// the second one runs until #2 and #3 are shown, whatever else is.
	opt.MaxLabel = 0
	again := &syncBuffer{}
	ctx2, stop := context.WithCancel(ctx)
	defer stop()
	errc = make(chan error, 1)
	go func() { errc <- Watch(ctx2, opt, again) }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(again.String(), "cam1 #2 ") || !strings.Contains(again.String(), "cam1 #3 ") {
		if time.Now().After(deadline) {
			t.Fatalf("the labels sent while watch was away are missing:\n%s", again.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// labelOnce publishes label #1 of cam1 through a client made with opts.
func labelOnce(t *testing.T, opts *mqtt.ClientOptions) {
	t.Helper()
	c := mqtt.NewClient(opts.SetClientID("test-pub"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c.Disconnect(100)
	msg, _ := json.Marshal(LabelsMessage{Seq: 1, Labels: []Label{{Label: "Bag", Score: 0.9}}})
	if tok := c.Publish("coatnet/cam1/labels", 1, false, msg); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
}

// watchOne runs Watch until it printed one label, publishing it once
// watch has subscribed.
func watchOne(t *testing.T, opt WatchOptions, pub *mqtt.ClientOptions) string {
	t.Helper()
	opt.Device, opt.MaxLabel = "cam1", 1
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := &syncBuffer{}
	errc := make(chan error, 1)
	go func() { errc <- Watch(ctx, opt, out) }()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "watching") {
		select {
		case err := <-errc:
			t.Fatalf("watch: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("watch did not subscribe:\n%s", out.String())
		}
	}
	labelOnce(t, pub)
	if err := <-errc; err != nil {
		t.Fatalf("watch: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "cam1 #1 Bag 0.90") {
		t.Errorf("label not shown:\n%s", out.String())
	}
	return out.String()
}

// TestWatchPassword: watch logs in with a username and password file, or
// with user:password in the URL, and never prints the password.
func TestWatchPassword(t *testing.T) {
	const secret = "s3cret-pw"
	dir := t.TempDir()
	b := mqtttest.Start(t, mqtttest.Options{Auth: mqtttest.PasswordAuth(t, "watch", secret)})
	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(pwFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pub := mqtt.NewClientOptions().AddBroker(pahoURL(b.URL)).SetUsername("watch").SetPassword(secret)

	if err := Watch(context.Background(), WatchOptions{Broker: b.URL}, &syncBuffer{}); err == nil ||
		!strings.Contains(err.Error(), "not Authorized") {
		t.Errorf("no credentials: %v", err)
	}
	watchOne(t, WatchOptions{Broker: b.URL, Username: "watch", PasswordFile: pwFile}, pub)

	inURL := fmt.Sprintf("mqtt://watch:%s@127.0.0.1:%d", secret, b.Port)
	if text := watchOne(t, WatchOptions{Broker: inURL}, pub); strings.Contains(text, secret) ||
		!strings.Contains(text, "watch:xxxxx@127.0.0.1") {
		t.Errorf("the URL's password shown, or the URL not at all:\n%s", text)
	}
	wrong := fmt.Sprintf("mqtt://watch:wrong-%s@127.0.0.1:%d", secret, b.Port)
	out := &syncBuffer{}
	if err := Watch(context.Background(), WatchOptions{Broker: wrong}, out); err == nil || strings.Contains(err.Error()+out.String(), secret) {
		t.Errorf("a wrong password in the URL: %v\n%s", err, out.String())
	}
}

// TestWatchTLS: watch checks the broker against a CA and shows a client
// certificate, from the same kind of files as the agent.
func TestWatchTLS(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t, dir, "ca")
	serverCert, serverKey := ca.issue(t, "server", x509.ExtKeyUsageServerAuth)
	clientCert, clientKey := ca.issue(t, "client", x509.ExtKeyUsageClientAuth)
	caFile := filepath.Join(dir, "ca.pem")
	b := mqtttest.Start(t, mqtttest.Options{Listener: fmt.Sprintf(
		"cafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate true\ntls_version tlsv1.2", caFile, serverCert, serverKey)})
	broker := fmt.Sprintf("mqtts://127.0.0.1:%d", b.Port)
	m := MQTTConfig{Broker: broker, CAFile: caFile, CertFile: clientCert, KeyFile: clientKey}
	tc, err := tlsConfig(&m)
	if err != nil {
		t.Fatal(err)
	}
	watchOne(t, WatchOptions{Broker: broker, CAFile: caFile, CertFile: clientCert, KeyFile: clientKey},
		mqtt.NewClientOptions().AddBroker(pahoURL(broker)).SetTLSConfig(tc))

	if err := Watch(context.Background(), WatchOptions{Broker: broker, CertFile: clientCert, KeyFile: clientKey}, &syncBuffer{}); err == nil {
		t.Error("a broker certificate from an unknown CA was accepted")
	}
}
