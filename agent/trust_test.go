package agent

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
)

// TestTLSFilesNeedMQTTS: paho speaks plain text to an mqtt:// broker
// whatever TLS files are set, so a CA or client certificate with one
// (or with the embedded broker) would send the password in clear while
// looking secured: the configuration is refused, naming the keys, and
// so is watch.
func TestTLSFilesNeedMQTTS(t *testing.T) {
	for _, c := range []struct{ yaml, key string }{
		{`mqtt: {broker: "mqtt://host:1883", ca_file: /etc/coatnet/ca.pem}`, "mqtt.ca_file"},
		{`mqtt: {broker: "MQTT://host:1883", ca_file: /etc/coatnet/ca.pem}`, "mqtt.ca_file"},
		{`mqtt: {broker: "mqtt://host", cert_file: c.pem, key_file: k.pem}`, "mqtt.cert_file"},
		{`mqtt: {ca_file: /etc/coatnet/ca.pem}`, "mqtt.ca_file"},
	} {
		_, err := ParseConfig([]byte(c.yaml + "\n"))
		if err == nil || !strings.Contains(err.Error(), c.key+":") || !strings.Contains(err.Error(), "mqtt.broker") ||
			!strings.Contains(err.Error(), "mqtts://") {
			t.Errorf("%s: %v, want a problem under %s pointing to mqtts:// in mqtt.broker", c.yaml, err, c.key)
		}
	}
	if _, err := ParseConfig([]byte(`mqtt: {broker: "mqtts://host", ca_file: ca.pem, cert_file: c.pem, key_file: k.pem}` + "\n")); err != nil {
		t.Errorf("mqtts:// with TLS files: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := Watch(ctx, WatchOptions{Broker: "mqtt://127.0.0.1:1", CAFile: "ca.pem"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "mqtts://") {
		t.Errorf("watch with a CA and an mqtt:// broker: %v, want a refusal pointing to mqtts://", err)
	}
}

// TestUnsafePermissionsAreWarned: a password_file every user can read,
// and a state_dir another user owns (who could write the messages the
// agent sends), are each a warning at the start naming the key and what
// is wrong. Changing the owner needs root; elsewhere only the password
// file is checked.
func TestUnsafePermissionsAreWarned(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	cfg.MQTT.Username = "agent"
	cfg.MQTT.PasswordFile = filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(cfg.MQTT.PasswordFile, []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(cfg.MQTT.PasswordFile, 0o644); err != nil {
		t.Fatal(err)
	}
	root := os.Geteuid() == 0
	if root {
		if err := os.Chown(cfg.StateDir, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	} else {
		t.Log("not root: the state_dir owner is not changed")
	}
	log, stop := startAgent(t, cfg, Options{})
	waitFor(t, "the agent running", func() bool { return strings.Contains(log.String(), `msg="agent running"`) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	warned := func(words ...string) bool {
		for l := range strings.Lines(log.String()) {
			if strings.Contains(l, "level=WARN") && !slices.ContainsFunc(words, func(w string) bool { return !strings.Contains(l, w) }) {
				return true
			}
		}
		return false
	}
	if !warned("mqtt.password_file", "mode=0644", cfg.MQTT.PasswordFile) {
		t.Errorf("no warning naming mqtt.password_file and its mode 0644:\n%s", log)
	}
	if root && !warned("state_dir", "owner_uid=65534") {
		t.Errorf("no warning naming state_dir and its owner:\n%s", log)
	}
}

// TestSafePermissionsAreQuiet: a private password file, one among
// systemd's credentials whatever its mode, and a state_dir of the agent's
// own user give no warning; a readable one outside the credentials does.
func TestSafePermissionsAreQuiet(t *testing.T) {
	dir, creds := t.TempDir(), t.TempDir()
	write := func(path string, mode os.FileMode) string {
		if err := os.WriteFile(path, []byte("pw\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		return path
	}
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	for _, c := range []struct {
		path string
		warn bool
	}{
		{write(filepath.Join(dir, "private"), 0o600), false},
		{write(filepath.Join(dir, "group"), 0o640), false},
		{write(filepath.Join(creds, "mqtt-password"), 0o644), false},
		{write(filepath.Join(dir, "readable"), 0o644), true},
		{filepath.Join(creds, "..", filepath.Base(dir), "readable"), true},
	} {
		var buf syncLog
		cfg := Defaults()
		cfg.StateDir, cfg.MQTT.Username, cfg.MQTT.PasswordFile = t.TempDir(), "agent", c.path
		warnUnsafeFiles(&cfg, slog.New(slog.NewTextHandler(&buf, nil)))
		if got := buf.String() != ""; got != c.warn {
			t.Errorf("%s: warned %v, want %v:\n%s", c.path, got, c.warn, buf.String())
		}
	}
}
