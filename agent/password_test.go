package agent

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
)

// TestAgentNeverLogsBrokerPassword: a user:password@ in mqtt.broker logs
// the agent in, and neither its log nor its errors show the password,
// whether the broker accepts it or not.
func TestAgentNeverLogsBrokerPassword(t *testing.T) {
	const secret = "s3cret-pw"
	b := mqtttest.Start(t, mqtttest.Options{Auth: mqtttest.PasswordAuth(t, "agent", secret)})

	cfg := testConfig(t, fmt.Sprintf("mqtt://agent:%s@127.0.0.1:%d", secret, b.Port))
	log, err := connect(t, cfg, 20*time.Second)
	if err != nil {
		t.Fatalf("the URL's credentials: %v\n%s", err, log)
	}
	if !strings.Contains(log, "mqtt connected") || strings.Contains(log, secret) {
		t.Errorf("the log shows the password, or no connection:\n%s", log)
	}

	cfg.MQTT.Broker = fmt.Sprintf("mqtt://agent:wrong-%s@127.0.0.1:%d", secret, b.Port)
	log, err = connect(t, cfg, 2*time.Second)
	if err == nil || !strings.Contains(log, "cannot connect") || strings.Contains(log+err.Error(), secret) {
		t.Errorf("a refused password: %v\n%s", err, log)
	}

	for _, broker := range []string{"mqtt://agent:" + secret + "@host:port", "ftp://agent:" + secret + "@host"} {
		if _, err := ParseConfig([]byte("mqtt: {broker: \"" + broker + "\"}\n")); err == nil || strings.Contains(err.Error(), secret) {
			t.Errorf("config %s: %v", broker, err)
		}
	}
}
