package agent

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestConfigValuesAreBounded: values that parse but cannot work are
// problems naming their key: stats every nanosecond, a keep-alive MQTT
// cannot send (65536 s went out as 0, turning it off), topic prefixes
// that are not MQTT topic names (a NUL made every connection fail with
// EOF for ever).
func TestConfigValuesAreBounded(t *testing.T) {
	for _, c := range []struct{ text, key string }{
		{"mqtt: {stats_interval: 1ns}", "mqtt.stats_interval:"},
		{"mqtt: {stats_interval: 99ms}", "mqtt.stats_interval:"},
		{"mqtt: {keep_alive: 65536s}", "mqtt.keep_alive:"},
		{"mqtt: {keep_alive: 1000h}", "mqtt.keep_alive:"},
		{`mqtt: {prefix: "a\0b"}`, "mqtt.prefix:"},
		{`mqtt: {prefix: "a\x1bb"}`, "mqtt.prefix:"},
		{`mqtt: {prefix: "a/+/b"}`, "mqtt.prefix:"},
		{"mqtt: {prefix: " + strings.Repeat("p", 300) + "}", "mqtt.prefix:"},
		{`mqtt: {discovery_prefix: "home\0assistant"}`, "mqtt.discovery_prefix:"},
		{`mqtt: {discovery_prefix: "ha/#"}`, "mqtt.discovery_prefix:"},
		{`mqtt: {discovery_prefix: "/ha"}`, "mqtt.discovery_prefix:"},
		{`mqtt: {client_id: "id\0"}`, "mqtt.client_id:"},
	} {
		if _, err := ParseConfig([]byte(c.text + "\n")); err == nil || !strings.Contains(err.Error(), "line 1: "+c.key) {
			t.Errorf("%s: %v, want a problem with %s", c.text, err, c.key)
		}
	}
	for _, ok := range []string{"mqtt: {stats_interval: 0s}", "mqtt: {stats_interval: 100ms}", "mqtt: {keep_alive: 65535s}",
		"mqtt: {prefix: site/floor-2/cams}", "mqtt: {prefix: café}", "mqtt: {discovery_prefix: ha/discovery}"} {
		if _, err := ParseConfig([]byte(ok + "\n")); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

// TestConfigMessagesQuoteAClip: a huge bad value is quoted as a short clip,
// not copied whole into the error (a 100 MB device gave a 100 MB message).
func TestConfigMessagesQuoteAClip(t *testing.T) {
	huge := strings.Repeat("x\x01", 1<<20)
	cfg := Defaults()
	cfg.Device, cfg.MQTT.ClientID, cfg.MQTT.Prefix, cfg.MQTT.DiscoveryPrefix = huge, huge, huge, huge
	cfg.Pipeline.Publish, cfg.LogLevel, cfg.CPUAffinity = huge, huge, huge
	cfg.MQTT.Broker = "mqtt://" + huge
	err := cfg.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, key := range []string{"device:", "mqtt.client_id:", "mqtt.prefix:", "mqtt.discovery_prefix:", "pipeline.publish:",
		"log_level:", "cpu_affinity:", "mqtt.broker:"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("no problem for %s", key)
		}
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if len(line) > 300 {
			t.Errorf("a problem of %d bytes: %.120q...", len(line), line)
		}
	}
	cfg = Defaults()
	cfg.MQTT.Broker, cfg.MQTT.EmbeddedListen = "", huge
	if err := cfg.Validate(); err == nil || len(err.Error()) > 300 {
		t.Errorf("embedded_listen: a message of %d bytes", len(fmt.Sprint(err)))
	}
	// Through a file, as far as its 1 MiB allows.
	_, err = ParseConfig([]byte("device: " + strings.Repeat("d", 900<<10) + "\n"))
	if err == nil || len(err.Error()) > 300 || !strings.Contains(err.Error(), "line 1: device:") {
		t.Errorf("a 900 KB device: %d bytes: %.200s", len(fmt.Sprint(err)), err)
	}
}

// TestManyUnknownKeys: 100,000 unknown keys (a 1 MB file) are a quick
// error listing the first 100, not minutes of work.
func TestManyUnknownKeys(t *testing.T) {
	var b strings.Builder
	const n = 100000
	for i := range n {
		fmt.Fprintf(&b, "k%05d: 1\n", i)
	}
	start := time.Now()
	err := finishes(t, "ParseConfig", func() error { _, err := ParseConfig([]byte(b.String())); return err })
	t.Logf("%d unknown keys in %v", n, time.Since(start))
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%d problems", n)) || !strings.Contains(err.Error(), "and 99900 more") {
		t.Errorf("error: %.300s", err)
	}
	if len(err.Error()) > 100<<10 {
		t.Errorf("a message of %d bytes", len(err.Error()))
	}
}
