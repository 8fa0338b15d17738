package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/coatnet-edge/coatnet-edge/agent"
	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
)

// lockedBuffer is written by the command while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestWatchLogsIn: watch takes the broker, prefix and credentials from the
// agent's configuration file, a flag overrides one of them, and a password
// in a broker URL is never printed.
func TestWatchLogsIn(t *testing.T) {
	const secret = "s3cret-pw"
	dir := t.TempDir()
	b := mqtttest.Start(t, mqtttest.Options{Auth: mqtttest.PasswordAuth(t, "laptop", secret)})
	pwFile := filepath.Join(dir, "password")
	config := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(pwFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(config, []byte(fmt.Sprintf("device: cam1\nmqtt:\n  broker: mqtt://127.0.0.1:1\n  prefix: lab\n"+
		"  username: laptop\n  password_file: %s\n", pwFile)), 0o600); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr lockedBuffer
	root := newRootCmd(&stdout, &stderr)
	root.SetArgs([]string{"watch", "--config", config, "--broker", b.URL, "--device", "cam1", "--count", "1"})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- root.ExecuteContext(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stdout.String(), "watching lab/cam1/+") {
		select {
		case err := <-errc:
			t.Fatalf("watch: %v\n%s%s", err, stdout.String(), stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("watch did not subscribe:\n%s%s", stdout.String(), stderr.String())
		}
	}
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(fmt.Sprintf("tcp://laptop:%s@127.0.0.1:%d", secret, b.Port)).SetClientID("test-pub"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c.Disconnect(100)
	msg, _ := json.Marshal(agent.LabelsMessage{Seq: 1, Labels: []agent.Label{{Label: "Bag", Score: 0.9}}})
	if tok := c.Publish("lab/cam1/labels", 1, false, msg); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if err := <-errc; err != nil {
		t.Fatalf("watch: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "cam1 #1 Bag 0.90") {
		t.Errorf("label not shown:\n%s", stdout.String())
	}

	wrong := fmt.Sprintf("mqtt://laptop:wrong-%s@127.0.0.1:%d", secret, b.Port)
	out, errText, err := run(t, "watch", "--broker", wrong, "--count", "1")
	if err == nil || !strings.Contains(err.Error(), "laptop:xxxxx@") || strings.Contains(out+errText+err.Error(), secret) {
		t.Errorf("a wrong password in the URL: %v\n%s%s", err, out, errText)
	}
}

func TestWatchHelpShowsLogin(t *testing.T) {
	stdout, _, err := run(t, "watch", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"coatnet watch --broker", "--username laptop --password-file", "--ca-file ca.pem --cert-file",
		"coatnet watch --config", "--client-id"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("watch --help lacks %q:\n%s", want, stdout)
		}
	}
}
