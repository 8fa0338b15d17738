package agent

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coatnet-edge/coatnet-edge/internal/mqtttest"
)

// TestAgentNeverLogsBrokerPassword: a user:password@ in mqtt.broker logs
// the agent in, and neither its log nor its errors show the password,
// whether the broker accepts it or not.
func TestAgentNeverLogsBrokerPassword(t *testing.T) {
	passwd, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		t.Skip("no mosquitto_passwd (apt-get install mosquitto)")
	}
	const secret = "s3cret-pw"
	users := filepath.Join(t.TempDir(), "users")
	if out, err := exec.Command(passwd, "-b", "-c", users, "agent", secret).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v: %s", err, out)
	}
	b := mqtttest.Start(t, mqtttest.Options{Auth: "allow_anonymous false\npassword_file " + users})

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
