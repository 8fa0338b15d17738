package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
)

// pki writes a CA and certificates it signs, as PEM files in dir.
type pki struct {
	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA(t *testing.T, dir, name string) *pki {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &pki{dir: dir, cert: cert, key: key}
	ca.write(t, name+".pem", "CERTIFICATE", der)
	return ca
}

func (ca *pki) write(t *testing.T, name, kind string, der []byte) string {
	t.Helper()
	path := filepath.Join(ca.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// issue writes a certificate and key for 127.0.0.1 signed by ca.
func (ca *pki) issue(t *testing.T, name string, usage x509.ExtKeyUsage) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return ca.write(t, name+".pem", "CERTIFICATE", der), ca.write(t, name+"-key.pem", "EC PRIVATE KEY", kder)
}

// connect runs NewPublisher for at most d and returns its error and log.
func connect(t *testing.T, cfg Config, d time.Duration) (string, error) {
	t.Helper()
	log := &syncLog{}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	p, err := NewPublisher(ctx, cfg, NewControl(cfg.Pipeline), nil, slog.New(slog.NewTextHandler(log, nil)))
	if err == nil {
		p.Close()
	}
	return log.String(), err
}

// TestTLS: mutual TLS against mosquitto; a wrong CA and a missing client
// certificate are each a clear error naming the keys to check.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t, dir, "ca")
	other := newCA(t, dir, "other-ca")
	serverCert, serverKey := ca.issue(t, "server", x509.ExtKeyUsageServerAuth)
	clientCert, clientKey := ca.issue(t, "client", x509.ExtKeyUsageClientAuth)
	b := mqtttest.Start(t, mqtttest.Options{Listener: fmt.Sprintf(
		"cafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate true\ntls_version tlsv1.2",
		filepath.Join(dir, "ca.pem"), serverCert, serverKey)})
	cfg := testConfig(t, fmt.Sprintf("mqtts://127.0.0.1:%d", b.Port))
	cfg.MQTT.CAFile, cfg.MQTT.CertFile, cfg.MQTT.KeyFile = filepath.Join(dir, "ca.pem"), clientCert, clientKey
	if log, err := connect(t, cfg, 20*time.Second); err != nil {
		t.Fatalf("mutual TLS: %v\n%s", err, log)
	}

	wrongCA := cfg
	wrongCA.MQTT.CAFile = filepath.Join(other.dir, "other-ca.pem")
	log, err := connect(t, wrongCA, 3*time.Second)
	if err == nil || !strings.Contains(err.Error(), "mqtt.ca_file") || !strings.Contains(log, "mqtt.ca_file") {
		t.Errorf("wrong CA: %v\n%s", err, log)
	}

	noClientCert := cfg
	noClientCert.MQTT.CertFile, noClientCert.MQTT.KeyFile = "", ""
	if log, err := connect(t, noClientCert, 3*time.Second); err == nil || !strings.Contains(err.Error(), "mqtt.cert_file") {
		t.Errorf("no client certificate: %v\n%s", err, log)
	} else {
		t.Logf("no client certificate: %v", err)
	}
}

// TestPassword: the password comes from a file; a refused one is a clear,
// repeated log line, and the agent connects once the broker accepts it.
func TestPassword(t *testing.T) {
	passwd, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		t.Skip("no mosquitto_passwd (apt-get install mosquitto)")
	}
	dir := t.TempDir()
	users := filepath.Join(dir, "users")
	setPassword := func(pw string) {
		if out, err := exec.Command(passwd, "-b", "-c", users, "agent", pw).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd: %v: %s", err, out)
		}
	}
	setPassword("right")
	b := mqtttest.Start(t, mqtttest.Options{Auth: "allow_anonymous false\npassword_file " + users})
	cfg := testConfig(t, b.URL)
	cfg.MQTT.Username = "agent"
	cfg.MQTT.PasswordFile = filepath.Join(dir, "password")
	if err := os.WriteFile(cfg.MQTT.PasswordFile, []byte("right\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if log, err := connect(t, cfg, 20*time.Second); err != nil {
		t.Fatalf("right password: %v\n%s", err, log)
	}

	setPassword("changed")
	if err := b.Reload(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var (
		cerr error
		log  string
	)
	go func() {
		defer close(done)
		log, cerr = connect(t, cfg, 60*time.Second)
	}()
	// The broker refuses for a while, then is told the agent's password.
	time.Sleep(2500 * time.Millisecond)
	setPassword("right")
	if err := b.Reload(); err != nil {
		t.Fatal(err)
	}
	<-done
	if cerr != nil {
		t.Fatalf("after the broker took the password back: %v\n%s", cerr, log)
	}
	if n := strings.Count(log, "mqtt.password_file"); n < 1 {
		t.Errorf("refusals were not explained:\n%s", log)
	}
	t.Logf("log while refused:\n%s", log)
}
