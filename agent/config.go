// Package agent is the long-running service: camera frames to the int8
// engine to MQTT labels.
package agent

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/coatnet-edge/coatnet-edge/internal/affinity"
	"github.com/coatnet-edge/coatnet-edge/internal/boundedio"
	"github.com/coatnet-edge/coatnet-edge/internal/redact"
)

// Config is the agent's configuration file. Every field has its default in
// Defaults; a file only names what it changes.
type Config struct {
	// Device names this agent in topics and client ids: unique per
	// device, MQTT topic-safe (letters, digits, '-', '_').
	Device   string         `yaml:"device"`
	Model    ModelConfig    `yaml:"model"`
	Camera   CameraConfig   `yaml:"camera"`
	Pipeline PipelineConfig `yaml:"pipeline"`
	MQTT     MQTTConfig     `yaml:"mqtt"`
	// Cameras names several cameras, each with its regions (places.go);
	// without it Camera is the one camera, classified whole.
	Cameras map[string]CameraSpec `yaml:"cameras,omitempty"`
	// StateDir keeps what must survive a restart: the MQTT message store,
	// and the demo model and video.
	StateDir string `yaml:"state_dir"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level"`
	// LogLabels logs every published label message (at info).
	LogLabels bool `yaml:"log_labels"`
	// CPUAffinity restricts the agent to these CPUs ("1-3", as taskset
	// -c takes them), so inference can leave a core free; empty: all.
	CPUAffinity string        `yaml:"cpu_affinity"`
	Thermal     ThermalConfig `yaml:"thermal"`
	HTTP        HTTPConfig    `yaml:"http"`
}

// HTTPConfig is the agent's web server: the status page, its JSON API, the
// live MJPEG streams, snapshots, /healthz and /metrics (httpserver.go).
type HTTPConfig struct {
	// Listen is host:port; "" turns the server off. On a loopback
	// address (the default) only this machine reaches it; elsewhere
	// reads need authentication too, like writes always do.
	Listen string `yaml:"listen"`
	// AuthFile holds the credentials: one line, USER:PASSWORD (basic
	// auth) or a token (Authorization: Bearer TOKEN, or basic auth with
	// any user). "": state_dir/http-auth, a random token written (0600)
	// at the first start.
	AuthFile string `yaml:"auth_file"`
	// PublicURL is the page's address as others reach it (behind a
	// reverse proxy, or a name the listen address does not say): Home
	// Assistant's link to the device's page. "": made from a
	// non-loopback listen, none for a loopback one.
	PublicURL string `yaml:"public_url"`
	// StreamFPS bounds each MJPEG stream's frames a second (and how often
	// a frame is copied off the camera for it).
	StreamFPS float64 `yaml:"stream_fps"`
	// MaxStreams bounds each camera's MJPEG clients at once (503
	// beyond); MaxConnections all connections at once (more wait).
	MaxStreams     int `yaml:"max_streams"`
	MaxConnections int `yaml:"max_connections"`
}

// ThermalConfig lowers the frame rate while the CPU is hot, before the
// board throttles itself.
type ThermalConfig struct {
	// LimitAbove: from this CPU temperature (°C) classification runs at
	// most LimitedRate a second until the temperature is below
	// ResumeBelow. 0 turns it off; boards without a temperature sensor
	// in /sys are never limited.
	LimitAbove  float64 `yaml:"limit_above"`
	ResumeBelow float64 `yaml:"resume_below"`
	LimitedRate float64 `yaml:"limited_rate"`
	// Interval: how often the temperature and throttling state are read.
	Interval time.Duration `yaml:"interval"`
}

// ModelConfig chooses the model file and how it runs.
type ModelConfig struct {
	// Path is a coatnet model file, float or int8, or "demo": the int8
	// Fashion-MNIST model built into the binary.
	Path    string `yaml:"path"`
	Threads int    `yaml:"threads"` // inference threads; 0: every CPU
}

// CameraConfig chooses the frame source.
type CameraConfig struct {
	// Source: a V4L2 device index or /dev/videoN, a GStreamer pipeline
	// ending in appsink, an rtsp:// or http(s):// URL, a video file or a
	// folder of pictures (both played like a camera, at FPS), or "demo": a
	// video of Fashion-MNIST test images made once in state_dir.
	Source string `yaml:"source"`
	// FPS is the frame rate a video file or folder plays at, whatever
	// pipeline.max_rate classifies of it; 0: a file's own rate, and for a
	// folder (which has none) pipeline.max_rate, or 25 without a cap. A
	// V4L2 device is asked for it (0: the driver's choice); GStreamer
	// pipelines and streams keep their own.
	FPS float64 `yaml:"fps"`
	// Loop replays a video file or folder from the start when it ends.
	Loop bool `yaml:"loop"`
	// StallTimeout: no frame for this long counts as a stall, and the
	// source is reopened.
	StallTimeout time.Duration `yaml:"stall_timeout"`
	// ReopenBackoff and ReopenBackoffMax bound the wait between reopen
	// attempts (a source that does not open at the start too), doubling
	// from the first to the second; each wait is random below its bound.
	ReopenBackoff    time.Duration `yaml:"reopen_backoff"`
	ReopenBackoffMax time.Duration `yaml:"reopen_backoff_max"`
}

// PipelineConfig shapes what is classified and published.
type PipelineConfig struct {
	// MaxRate caps classifications per second; 0: as fast as inference goes.
	MaxRate float64 `yaml:"max_rate"`
	TopK    int     `yaml:"top_k"` // labels per message
	// Threshold drops labels scoring below it (0..1).
	Threshold float64 `yaml:"threshold"`
	// Publish is "every" (one message per classified frame) or "change"
	// (only when the top label changes, with Hysteresis).
	Publish string `yaml:"publish"`
	// Hysteresis: in "change" mode a new top label must lead for this many
	// consecutive frames before it is published, so labels do not flicker.
	Hysteresis int `yaml:"hysteresis"`
	// Collect keeps whole frames for training (collect.go), as a region's
	// collect: keeps its crops; only without cameras:, whose regions have
	// their own.
	Collect CollectConfig `yaml:"collect"`
}

// MQTTConfig is the broker connection and the topics.
type MQTTConfig struct {
	// Broker is mqtt://host:port, mqtts://host:port (TLS), or empty for
	// the embedded broker listening on EmbeddedListen.
	Broker string `yaml:"broker"`
	// EmbeddedListen is the embedded broker's address: keep it on
	// loopback, it lets every client in. Where a broker already listens
	// there, the agent uses that one.
	EmbeddedListen string `yaml:"embedded_listen"`
	// ClientID defaults to coatnet-<device>; it must be unique per broker.
	ClientID string `yaml:"client_id"`
	// Prefix starts every topic: <prefix>/<device>/labels, ...
	Prefix   string `yaml:"prefix"`
	Username string `yaml:"username"`
	// PasswordFile holds the password (never on the command line).
	PasswordFile string `yaml:"password_file"`
	CAFile       string `yaml:"ca_file"`
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	LabelsQoS    int    `yaml:"labels_qos"` // 0, 1 or 2
	// StatsInterval: stats every this long; 0 turns them off.
	StatsInterval time.Duration `yaml:"stats_interval"`
	KeepAlive     time.Duration `yaml:"keep_alive"`
	// StoreLimit bounds the labels kept for redelivery; beyond it new
	// ones are not kept, counted in stats (control messages have their
	// own share, controlStoreLimit).
	StoreLimit int `yaml:"store_limit"`
	// Discovery publishes Home Assistant discovery under DiscoveryPrefix.
	Discovery       bool   `yaml:"discovery"`
	DiscoveryPrefix string `yaml:"discovery_prefix"`
}

// Defaults is the configuration before any file is read: the one place
// defaults live. On its own it is the demo: the built-in model, the demo
// video and the embedded broker, so the agent runs with nothing set up.
func Defaults() Config {
	host, err := os.Hostname()
	if err != nil || !deviceName.MatchString(host) {
		host = "coatnet"
	}
	return Config{
		Device:   host,
		Model:    ModelConfig{Path: Demo},
		Camera:   defaultCamera(),
		Pipeline: PipelineConfig{MaxRate: 5, TopK: 3, Threshold: 0, Publish: "every", Hysteresis: 3, Collect: defaultCollect()},
		MQTT: MQTTConfig{EmbeddedListen: DefaultEmbeddedAddr, Prefix: "coatnet", LabelsQoS: 1,
			StatsInterval: 30 * time.Second, KeepAlive: 30 * time.Second, StoreLimit: 10000, Discovery: true,
			DiscoveryPrefix: "homeassistant"},
		StateDir: defaultStateDir(),
		LogLevel: "info",
		Thermal:  ThermalConfig{LimitAbove: 80, ResumeBelow: 75, LimitedRate: 1, Interval: 5 * time.Second},
		HTTP:     HTTPConfig{Listen: DefaultHTTPListen, StreamFPS: 5, MaxStreams: 8, MaxConnections: 64},
	}
}

// DefaultHTTPListen is http.listen's default: this machine only.
const DefaultHTTPListen = "127.0.0.1:8080"

// defaultCamera is camera's defaults, and each of cameras'.
func defaultCamera() CameraConfig {
	return CameraConfig{Source: Demo, Loop: true, StallTimeout: 10 * time.Second, ReopenBackoff: time.Second,
		ReopenBackoffMax: time.Minute}
}

// defaultStateDir is systemd's StateDirectory= when it runs the agent
// ($STATE_DIRECTORY), else $XDG_STATE_HOME/coatnet or
// ~/.local/state/coatnet, so a user's `coatnet run` needs no root.
func defaultStateDir() string {
	if d, _, _ := strings.Cut(os.Getenv("STATE_DIRECTORY"), ":"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "coatnet")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "coatnet")
	}
	return "/var/lib/coatnet"
}

// deviceName is what a device id (and a topic level made from it) may hold.
var deviceName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// maxConfigSize bounds a configuration file: far above any real one, and
// reading stops there, so a wrong path (a device, a log) fails at once.
const maxConfigSize = 1 << 20

// ParseConfig reads a YAML configuration over Defaults. Unknown keys,
// values of the wrong type and invalid values are all errors; the error
// lists every problem found, one per line, each as "line N: key: what is
// wrong" (without the line where the file does not set the key).
func ParseConfig(data []byte) (Config, error) {
	cfg, d, err := parseConfig(data)
	if err != nil {
		return cfg, err
	}
	return cfg, problemsError(d.problems)
}

// parseConfig is ParseConfig with the problems still apart, and the line
// of each key, for Check to add its own; err is for a file that is not a
// configuration at all.
func parseConfig(data []byte) (Config, *configDecoder, error) {
	cfg := Defaults()
	if len(data) > maxConfigSize {
		return cfg, nil, fmt.Errorf("config: over the %d MiB a configuration file may hold", maxConfigSize>>20)
	}
	if !utf8.Valid(data) {
		bad := 0
		for r, n := utf8.DecodeRune(data); r != utf8.RuneError || n != 1; r, n = utf8.DecodeRune(data[bad:]) {
			bad += n
		}
		return cfg, nil, fmt.Errorf("config: line %d: not UTF-8 text", 1+bytes.Count(data[:bad], []byte("\n")))
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return cfg, nil, fmt.Errorf("config: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return cfg, nil, errors.New("config: more than one YAML document")
	}
	d := newConfigDecoder(len(data))
	if len(doc.Content) > 0 {
		d.decode(doc.Content[0], reflect.ValueOf(&cfg).Elem(), "")
	}
	if d.steps > d.maxSteps {
		return cfg, nil, errors.New("config: its aliases expand to more than the file could hold without them")
	}
	for _, p := range cfg.problems() {
		if !d.bad[p.key] { // a value that did not decode has a problem already
			d.add(p)
		}
	}
	if d.lines["camera"] > 0 && len(cfg.Cameras) > 0 && cfg.Camera == defaultCamera() {
		// Set to its defaults, which problems cannot tell from unset.
		d.add(cameraWithCameras)
	}
	return cfg, d, nil
}

// problemsError lists problems one per line in the order of the file, or
// is nil without any.
func problemsError(problems []problem) error {
	// Those without a line (keys the file does not set) come last.
	order := func(p problem) int { return cmp.Or(p.line, math.MaxInt) }
	slices.SortStableFunc(problems, func(a, b problem) int { return cmp.Compare(order(a), order(b)) })
	const shown = 100
	lines := make([]string, 0, min(len(problems), shown+1))
	for i, p := range problems {
		if i == shown {
			lines = append(lines, fmt.Sprintf("and %d more", len(problems)-shown))
			break
		}
		lines = append(lines, p.String())
	}
	switch len(problems) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("config: %s", lines[0])
	}
	return fmt.Errorf("config: %d problems:\n  %s", len(problems), strings.Join(lines, "\n  "))
}

// LoadConfig reads and checks the configuration file at path.
func LoadConfig(path string) (Config, error) {
	data, err := readConfig(path)
	if err != nil {
		return Config{}, err
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// readConfig reads the file at path, or fails once it is over the limit.
func readConfig(path string) ([]byte, error) {
	// A pipe is fine (--config <(...)); a device such as /dev/zero is not.
	data, err := boundedio.ReadFile(path, maxConfigSize)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return data, nil
}

// Validate reports every invalid value at once, each with its key.
func (c *Config) Validate() error { return problemsError(c.problems()) }

// problems lists the invalid values, each with its key.
func (c *Config) problems() []problem {
	var problems []problem
	bad := func(key, format string, args ...any) {
		// Values are quoted as clips (see clipQuote); this bounds the
		// messages of other packages that quote them whole.
		problems = append(problems, problem{key: key, msg: shorten(fmt.Sprintf(format, args...), 240)})
	}
	if !deviceName.MatchString(c.Device) {
		bad("device", "%s must be 1 to 64 letters, digits, '-' or '_'", clipQuote(c.Device))
	}
	if c.Model.Path == "" {
		bad("model.path", "is empty")
	}
	if c.Model.Threads < 0 {
		bad("model.threads", "%d is negative (0 means every CPU)", c.Model.Threads)
	}
	c.Camera.check("camera", bad)
	if err := checkRate(c.Pipeline.MaxRate); err != nil {
		bad("pipeline.max_rate", "%v", err)
	}
	if c.Pipeline.TopK < 1 || c.Pipeline.TopK > 100 {
		bad("pipeline.top_k", "%d must be in [1, 100]", c.Pipeline.TopK)
	}
	if checkThreshold(c.Pipeline.Threshold) != nil {
		bad("pipeline.threshold", "%v must be in [0, 1]", c.Pipeline.Threshold)
	}
	if c.Pipeline.Publish != "every" && c.Pipeline.Publish != "change" {
		bad("pipeline.publish", "%s must be \"every\" or \"change\"", clipQuote(c.Pipeline.Publish))
	}
	if c.Pipeline.Hysteresis < 1 {
		bad("pipeline.hysteresis", "%d must be at least 1 frame", c.Pipeline.Hysteresis)
	}
	c.Pipeline.Collect.check("pipeline.collect", bad)
	if len(c.Cameras) > 0 && c.Pipeline.Collect != defaultCollect() {
		bad("pipeline.collect", "is for a file without cameras: set collect: on the regions to collect instead")
	}
	c.validatePlaces(bad)
	c.validateMQTT(bad)
	c.HTTP.check(bad)
	if c.StateDir == "" {
		bad("state_dir", "is empty")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level", "%s must be debug, info, warn or error", clipQuote(c.LogLevel))
	}
	if c.CPUAffinity != "" {
		if _, err := affinity.Parse(c.CPUAffinity); err != nil {
			bad("cpu_affinity", "%v", err)
		}
	}
	if t := &c.Thermal; t.LimitAbove != 0 {
		if !(t.LimitAbove > 0 && t.LimitAbove < 150) {
			bad("thermal.limit_above", "%v must be in (0, 150) °C, or 0 for off", t.LimitAbove)
		}
		if !(t.ResumeBelow < t.LimitAbove) {
			bad("thermal.resume_below", "%v must be below limit_above %v", t.ResumeBelow, t.LimitAbove)
		}
		if !(t.LimitedRate > 0) || checkRate(t.LimitedRate) != nil {
			bad("thermal.limited_rate", "%v must be in [%.6f, %d] per second", t.LimitedRate, minRate, maxRateLimit)
		}
		if t.Interval < 100*time.Millisecond {
			bad("thermal.interval", "%v must be at least 100ms", t.Interval)
		}
	}
	return problems
}

// check reports the invalid values of a camera's settings under key
// (camera, or cameras.NAME).
func (cam *CameraConfig) check(key string, bad func(key, format string, args ...any)) {
	if strings.TrimSpace(cam.Source) == "" {
		bad(key+".source", "is empty")
	}
	if cam.StallTimeout <= 0 {
		bad(key+".stall_timeout", "%v must be positive", cam.StallTimeout)
	}
	if fps := cam.FPS; !(fps >= 0 && fps <= maxRateLimit) {
		bad(key+".fps", "%v must be in [0, %d] frames a second (0: the source's own)", fps, maxRateLimit)
	} else if fps > 0 && time.Duration(float64(time.Second)/fps) >= cam.StallTimeout {
		bad(key+".fps", "%v is a frame every %v, which %s.stall_timeout %v counts as a stall", fps,
			time.Duration(float64(time.Second)/fps), key, cam.StallTimeout)
	}
	if cam.ReopenBackoff <= 0 {
		bad(key+".reopen_backoff", "%v must be positive", cam.ReopenBackoff)
	}
	if cam.ReopenBackoffMax < cam.ReopenBackoff {
		bad(key+".reopen_backoff_max", "%v is below reopen_backoff %v", cam.ReopenBackoffMax, cam.ReopenBackoff)
	}
}

func (c *Config) validateMQTT(bad func(key, format string, args ...any)) {
	m := &c.MQTT
	scheme := "mqtt" // the embedded broker's
	if m.Broker == "" {
		if _, _, err := net.SplitHostPort(m.EmbeddedListen); err != nil {
			bad("mqtt.embedded_listen", "%s must be host:port: %v", clipQuote(m.EmbeddedListen), err)
		}
	} else {
		u, err := url.Parse(m.Broker)
		switch {
		case err != nil:
			var ue *url.Error // its message quotes the URL: redact it
			if errors.As(err, &ue) {
				err = ue.Err
			}
			bad("mqtt.broker", "%s: %v", clipQuote(redact.URL(m.Broker)), err)
		case u.Scheme != "mqtt" && u.Scheme != "mqtts":
			bad("mqtt.broker", "%s: the scheme must be mqtt:// or mqtts://", clipQuote(redact.URL(m.Broker)))
		case u.Hostname() == "":
			bad("mqtt.broker", "%s has no host", clipQuote(redact.URL(m.Broker)))
		}
		if err == nil {
			scheme = u.Scheme
		}
	}
	if m.ClientID != "" && (len(m.ClientID) > 64 || strings.ContainsAny(m.ClientID, "+#/ ") || checkTopicPrefix(m.ClientID) != nil) {
		bad("mqtt.client_id", "%s must be at most 64 characters without '+', '#', '/', spaces or control characters",
			clipQuote(m.ClientID))
	}
	if err := checkTopicPrefix(m.Prefix); err != nil {
		bad("mqtt.prefix", "%v", err)
	}
	if m.LabelsQoS < 0 || m.LabelsQoS > 2 {
		bad("mqtt.labels_qos", "%d must be 0, 1 or 2", m.LabelsQoS)
	}
	if m.StatsInterval != 0 && m.StatsInterval < minStatsInterval {
		bad("mqtt.stats_interval", "%v must be at least %v (0 turns stats off)", m.StatsInterval, minStatsInterval)
	}
	// MQTT sends it as 16-bit seconds: 65536s would go out as 0, no
	// keep-alive at all.
	if m.KeepAlive < time.Second || m.KeepAlive > math.MaxUint16*time.Second {
		bad("mqtt.keep_alive", "%v must be in [1s, %v]", m.KeepAlive, math.MaxUint16*time.Second)
	}
	if m.StoreLimit < 1 || m.StoreLimit > 65535 {
		bad("mqtt.store_limit", "%d must be in [1, 65535] (MQTT's in-flight limit)", m.StoreLimit)
	}
	if (m.CertFile == "") != (m.KeyFile == "") {
		bad("mqtt.cert_file", "a client certificate needs both cert_file and key_file")
	}
	// paho speaks plain text to an mqtt:// broker whatever TLS files are
	// set: the password would go in clear while the setup looks secured.
	for _, f := range []struct{ key, file string }{{"mqtt.ca_file", m.CAFile}, {"mqtt.cert_file", m.CertFile}} {
		if f.file != "" && scheme == "mqtt" {
			bad(f.key, "is set, but the broker is plain text: use an mqtts:// URL in mqtt.broker (an mqtt:// one, or "+
				"none for the embedded broker, never uses TLS)")
		}
	}
	if m.Username == "" && m.PasswordFile != "" {
		bad("mqtt.password_file", "is set without a username")
	}
	if m.Discovery {
		if err := checkTopicPrefix(m.DiscoveryPrefix); err != nil {
			bad("mqtt.discovery_prefix", "%v", err)
		}
	}
}

// Bounds of the http: section: a board serves a handful of viewers; the
// stream rate is a view's, not the camera's.
const (
	maxStreamFPS      = 30
	maxHTTPConns      = 1024
	maxPublicURLBytes = 2000
)

func (h *HTTPConfig) check(bad func(key, format string, args ...any)) {
	if h.Listen != "" {
		if _, port, err := net.SplitHostPort(h.Listen); err != nil {
			bad("http.listen", "%s must be host:port, or \"\" for no server: %v", clipQuote(h.Listen), err)
		} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			bad("http.listen", "%s: the port must be a number in [0, 65535]", clipQuote(h.Listen))
		}
	}
	if h.PublicURL != "" {
		u, err := url.Parse(h.PublicURL)
		if err != nil || len(h.PublicURL) > maxPublicURLBytes || (u.Scheme != "http" && u.Scheme != "https") ||
			u.Host == "" || u.User != nil {
			bad("http.public_url", "%s must be an http:// or https:// URL with a host (and no password)",
				clipQuote(h.PublicURL))
		}
	}
	if !(h.StreamFPS > 0 && h.StreamFPS <= maxStreamFPS) {
		bad("http.stream_fps", "%v must be in (0, %d] frames a second", h.StreamFPS, maxStreamFPS)
	}
	if h.MaxConnections < 2 || h.MaxConnections > maxHTTPConns {
		bad("http.max_connections", "%d must be in [2, %d]", h.MaxConnections, maxHTTPConns)
	}
	if h.MaxStreams < 1 || h.MaxStreams >= max(h.MaxConnections, 2) {
		bad("http.max_streams", "%d must be at least 1 and below max_connections %d (the page needs a connection "+
			"besides its streams)", h.MaxStreams, h.MaxConnections)
	}
}

// minStatsInterval keeps stats from flooding the broker (1ns was 100,000
// messages in 5 s).
const minStatsInterval = 100 * time.Millisecond

// maxTopicPrefix bounds a topic prefix, far above any real one (an MQTT
// topic may hold 65535 bytes).
const maxTopicPrefix = 256

// checkTopicPrefix accepts what can start an MQTT topic name: UTF-8
// without the wildcards '+' and '#', NUL (a broker closes the connection
// over it) or other control characters, not starting or ending with '/',
// at most maxTopicPrefix bytes.
func checkTopicPrefix(s string) error {
	ok := s != "" && len(s) <= maxTopicPrefix && utf8.ValidString(s) && !strings.HasPrefix(s, "/") && !strings.HasSuffix(s, "/") &&
		!strings.ContainsFunc(s, func(r rune) bool { return r == '+' || r == '#' || unicode.IsControl(r) })
	if !ok {
		return fmt.Errorf("%s must be 1 to %d bytes of UTF-8 without '+', '#' or control characters, not starting or ending with '/'",
			clipQuote(s), maxTopicPrefix)
	}
	return nil
}

// clipQuote quotes at most 40 bytes of a value for a message.
func clipQuote(s string) string { return strconv.Quote(shorten(s, 40)) }

// ClientID is the MQTT client id in use: the configured one or
// coatnet-<device>.
func (c *Config) ClientID() string {
	if c.MQTT.ClientID != "" {
		return c.MQTT.ClientID
	}
	return "coatnet-" + c.Device
}
