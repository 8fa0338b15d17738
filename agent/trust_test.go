package agent

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
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
