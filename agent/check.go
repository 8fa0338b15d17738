package agent

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/coatnet-edge/coatnet-edge/camera"
	"github.com/coatnet-edge/coatnet-edge/internal/redact"
	"github.com/coatnet-edge/coatnet-edge/web"
)

// CheckConfig is `coatnet run --check`: it reads the configuration file at
// path (the defaults for ""), and opens what it names that opens without a
// camera or a broker: the model files (loaded as the agent loads them),
// camera sources that are files or folders, the MQTT password and TLS
// files, and http.auth_file. A camera device need not exist yet. The error
// lists every problem at once, as ParseConfig's does, each with its key
// and line.
func CheckConfig(path string) error {
	cfg, d := Defaults(), newConfigDecoder(0)
	for _, p := range cfg.problems() {
		d.add(p)
	}
	if path != "" {
		data, err := readConfig(path)
		if err == nil {
			cfg, d, err = parseConfig(data)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	known := map[string]bool{}
	for _, p := range d.problems {
		known[p.key] = true
	}
	checkOpens(&cfg, known, d.add)
	if err := problemsError(d.problems); err != nil {
		if path != "" {
			return fmt.Errorf("%s: %w", path, err)
		}
		return err
	}
	return nil
}

// opening is a file checkOpens opens: a model or a camera source, and the
// key that names it.
type opening struct {
	key, path string
	model     bool
}

// opensOf lists the models (each once, under the first key naming it) and
// camera sources of cfg.
func opensOf(cfg *Config) []opening {
	if len(cfg.Cameras) == 0 {
		return []opening{{"model.path", cfg.Model.Path, true}, {"camera.source", strings.TrimSpace(cfg.Camera.Source), false}}
	}
	var out []opening
	seen := map[string]bool{}
	for _, p := range cfg.Plan() {
		out = append(out, opening{"cameras." + p.Name + ".source", strings.TrimSpace(p.Camera.Source), false})
		for _, r := range p.Regions {
			if seen[r.Model] {
				continue
			}
			seen[r.Model] = true
			key := r.Key + ".model"
			if spec := cfg.Cameras[p.Name].Regions[r.Name]; spec.Model == nil {
				key = "model.path"
			}
			out = append(out, opening{key, r.Model, true})
		}
	}
	return out
}

// checkOpens opens the files cfg names, but not those of keys in skip
// (with a problem already).
func checkOpens(cfg *Config, skip map[string]bool, add func(problem)) {
	bad := func(key, format string, args ...any) {
		add(problem{key: key, msg: fmt.Sprintf(format, args...)})
	}
	for _, o := range opensOf(cfg) {
		if o.model && o.path != Demo && !skip[o.key] && !skip["model.threads"] {
			one := *cfg
			one.Model.Path = o.path
			one.Model.Threads = 1 // the check needs no workers
			if inf, err := openInference(one); err != nil {
				if u := errors.Unwrap(err); u != nil {
					err = u // openInference names model.path itself
				}
				bad(o.key, "%v", err)
			} else {
				inf.close()
			}
		}
		if !o.model && !skip[o.key] {
			checkSource(o.key, o.path, bad)
		}
	}
	m := &cfg.MQTT
	if m.Username != "" && m.PasswordFile != "" && !skip["mqtt.password_file"] {
		if _, err := os.ReadFile(m.PasswordFile); err != nil {
			bad("mqtt.password_file", "%v", err)
		}
	}
	if (m.CAFile != "" || m.CertFile != "") && !skip["mqtt.cert_file"] {
		if _, err := tlsConfig(m); err != nil {
			add(problem{msg: err.Error()}) // it names the file
		}
	}
	if h := &cfg.HTTP; h.Listen != "" && h.AuthFile != "" && !skip["http.auth_file"] {
		if _, err := web.LoadAuth(h.AuthFile); err != nil {
			bad("http.auth_file", "%v", err)
		}
	}
}

// checkSource opens a camera source that is a file or a folder, and checks
// the form of a stream URL or a GStreamer pipeline; key names it.
func checkSource(key, src string, bad func(key, format string, args ...any)) {
	if src == Demo {
		return
	}
	switch camera.SourceKind(src) {
	case "file":
		if st, err := os.Stat(src); err != nil {
			bad(key, "%v", err)
		} else if st.IsDir() {
			if f, err := camera.OpenFolder(src, 0, false); err != nil {
				bad(key, "%v", err)
			} else {
				f.Close()
			}
		}
	case "stream":
		if u, err := url.Parse(src); err != nil || u.Hostname() == "" {
			bad(key, "%q: a stream URL needs a host", redact.Source(src))
		}
	case "gstreamer":
		if !strings.Contains(src, "appsink") {
			bad(key, "%q: a GStreamer pipeline must end in appsink", redact.Source(src))
		}
	}
}
