package agent

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/coatnet-edge/coatnet-edge/camera"
)

// Check opens what cfg names that opens without a camera or a broker, as
// `coatnet run --check` does before an agent is started with it: the model
// file (loaded as the agent loads it), a camera source that is a file or a
// folder, and the MQTT password and TLS files. A camera device need not
// exist yet. Like Validate it lists every problem, each with its key.
func Check(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	var problems []problem
	bad := func(key, format string, args ...any) {
		problems = append(problems, problem{key: key, msg: fmt.Sprintf(format, args...)})
	}
	if cfg.Model.Path != Demo {
		one := cfg
		one.Model.Threads = 1 // the check needs no workers
		if inf, err := openInference(one); err != nil {
			problems = append(problems, problem{msg: err.Error()}) // names model.path
		} else {
			inf.close()
		}
	}
	if src := strings.TrimSpace(cfg.Camera.Source); src != Demo {
		switch camera.SourceKind(src) {
		case "file":
			if st, err := os.Stat(src); err != nil {
				bad("camera.source", "%v", err)
			} else if st.IsDir() {
				if f, err := camera.OpenFolder(src, 0, false); err != nil {
					bad("camera.source", "%v", err)
				} else {
					f.Close()
				}
			}
		case "stream":
			if u, err := url.Parse(src); err != nil || u.Hostname() == "" {
				bad("camera.source", "%q: a stream URL needs a host", src)
			}
		case "gstreamer":
			if !strings.Contains(src, "appsink") {
				bad("camera.source", "%q: a GStreamer pipeline must end in appsink", src)
			}
		}
	}
	m := &cfg.MQTT
	if m.Username != "" && m.PasswordFile != "" {
		if _, err := os.ReadFile(m.PasswordFile); err != nil {
			bad("mqtt.password_file", "%v", err)
		}
	}
	if m.CAFile != "" || m.CertFile != "" {
		if _, err := tlsConfig(m); err != nil {
			problems = append(problems, problem{msg: err.Error()}) // names the file
		}
	}
	return problemsError(problems)
}
