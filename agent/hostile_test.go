package agent

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// finishes runs f and fails the test if it has not returned within a
// generous deadline: before the reads were bounded, /dev/zero made them
// run until memory ran out.
func finishes(t *testing.T, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("%s still reading after 30s", what)
		return nil
	}
}

// TestNamedFilesAreBounded: every file the configuration names is read
// with a bound, so /dev/zero is a quick, clear error.
func TestNamedFilesAreBounded(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero:", err)
	}
	err := finishes(t, "LoadConfig(/dev/zero)", func() error { _, err := LoadConfig("/dev/zero"); return err })
	if err == nil || !strings.Contains(err.Error(), "/dev/zero") || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("LoadConfig(/dev/zero) = %v, want an error naming it as not a regular file", err)
	}
	junk := filepath.Join(t.TempDir(), "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		key string
		set func(m *MQTTConfig)
	}{
		{"password_file", func(m *MQTTConfig) { m.Username = "u"; m.PasswordFile = "/dev/zero" }},
		{"ca_file", func(m *MQTTConfig) { m.CAFile = "/dev/zero" }},
		{"cert_file", func(m *MQTTConfig) { m.CertFile, m.KeyFile = "/dev/zero", junk }},
		{"key_file", func(m *MQTTConfig) { m.CertFile, m.KeyFile = junk, "/dev/zero" }},
	} {
		cfg := Defaults()
		cfg.StateDir = t.TempDir()
		cfg.MQTT.Broker = "mqtts://127.0.0.1:1" // TLS files need mqtts://
		c.set(&cfg.MQTT)
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // never wait for a connection: the files are read first
		err := finishes(t, c.key, func() error {
			p, err := NewPublisher(ctx, cfg, NewControl(cfg.Pipeline), nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err == nil {
				p.Close()
			}
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "/dev/zero") || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("mqtt.%s = /dev/zero: %v, want an error naming it as not a regular file", c.key, err)
		}
	}
}

// TestCommandPayloadIsCapped: a command larger than maxCommandBytes is
// rejected before it is parsed, even one that would parse.
func TestCommandPayloadIsCapped(t *testing.T) {
	pad := bytes.Repeat([]byte{' '}, 8<<20)
	for _, c := range []struct{ sub, head, tail string }{
		{"", `{"threshold": 0.5`, `}`},
		{"", "pause", ""},
		{"rate", "5", ""},
		{"threshold", "0.5", ""},
		{"paused", "ON", ""},
	} {
		payload := append(append([]byte(c.head), pad...), c.tail...)
		_, err := ParseCommand(c.sub, payload)
		if err == nil || !strings.Contains(err.Error(), "4096 bytes") {
			t.Errorf("set/%s with %d bytes: %v, want a rejection naming the 4096 bytes limit", c.sub, len(payload), err)
		}
		// At the limit it is still a command.
		fit := append(append([]byte(c.head), pad[:4096-len(c.head)-len(c.tail)]...), c.tail...)
		if _, err := ParseCommand(c.sub, fit); err != nil {
			t.Errorf("set/%s with %d bytes: %v", c.sub, len(fit), err)
		}
	}
}

// TestTinyRatesAreRejected: a rate so small that one frame's interval
// overflows time.Duration is an error, from a command and in the
// configuration alike.
func TestTinyRatesAreRejected(t *testing.T) {
	for _, c := range []struct{ sub, payload string }{
		{"rate", "1e-10"},
		{"rate", "5e-324"},
		{"", `{"max_rate": 1e-10}`},
	} {
		if _, err := ParseCommand(c.sub, []byte(c.payload)); err == nil || !strings.Contains(err.Error(), "below") {
			t.Errorf("set/%s %s: %v, want a rate below the least one", c.sub, c.payload, err)
		}
	}
	if _, err := ParseCommand("rate", []byte("0.0003")); err != nil {
		t.Errorf("one frame an hour or so: %v", err)
	}
	_, err := ParseConfig([]byte("pipeline: {max_rate: 1e-10}\nthermal: {limit_above: 80, resume_below: 70, limited_rate: 1e-10}\n"))
	wantProblems(t, err, "pipeline.max_rate:", "thermal.limited_rate:")
}

// TestCorruptStoreFileFreesItsSlot: a message file left corrupt by a
// crash is set aside by paho's store (Get returns nil); it must not keep
// a place under store_limit for ever.
func TestCorruptStoreFileFreesItsSlot(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "o.1.msg"), []byte("\x30\x7fgarbage: 127 bytes promised"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newBoundedStore(mqtt.NewFileStore(dir), 1, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.Open()
	defer s.Close()
	if m := s.Get("o.1"); m != nil {
		t.Fatalf("corrupt file read as %v", m)
	}
	s.Put("o.2", publishPacket(2))
	if s.Dropped() != 0 || s.Get("o.2") == nil {
		t.Errorf("after a corrupt file, a new message was dropped (%d dropped)", s.Dropped())
	}
}

// FuzzParseCommand: any payload on any command topic is a valid edit or an
// error, never a panic, and an edit never sets a value out of range.
func FuzzParseCommand(f *testing.F) {
	for _, seed := range []struct{ sub, payload string }{
		{"", "pause"}, {"", `{"max_rate": 2, "threshold": 0.5}`}, {"", "{\"paused\": true}\x00"},
		{"", "\xff\xfe{"}, {"rate", "5\x00"}, {"rate", "1e-10"}, {"rate", "NaN"}, {"threshold", "0x1p-2"},
		{"paused", "ON\xc3"}, {"nope", ""},
	} {
		f.Add(seed.sub, []byte(seed.payload))
	}
	f.Fuzz(func(t *testing.T, sub string, payload []byte) {
		edit, err := ParseCommand(sub, payload)
		if err != nil {
			return
		}
		s := Settings{Threshold: 0.5, MaxRate: 5}
		edit(&s)
		if checkThreshold(s.Threshold) != nil || checkRate(s.MaxRate) != nil {
			t.Fatalf("set/%s %q gave %+v", sub, payload, s)
		}
	})
}
