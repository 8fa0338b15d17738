// Package systemd_test checks the files of systemd/ against the agent they
// configure: the example agent.yaml must load, must name every key the
// agent knows, and must show each commented-out key with the value the
// agent really defaults to, so the example cannot drift from agent.Defaults
// as keys are added. The unit file itself is checked by `make
// check-systemd` (systemd-analyze), which Go cannot do.
package systemd_test

import (
	"bufio"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/coatnet-edge/coatnet-edge/agent"
)

const (
	examplePath = "agent.yaml"
	unitPath    = "coatnet-agent.service"
	// hostPlaceholder stands for the host name, device's default, which
	// differs from machine to machine.
	hostPlaceholder = "HOSTNAME"
	// systemdStateDir is what StateDirectory=coatnet sets $STATE_DIRECTORY
	// to, and so state_dir's default under the unit.
	systemdStateDir = "/var/lib/coatnet"
)

// commentedKey is a commented-out setting: '#' right before the key, where
// prose comments have a space ("# text", "#   key: example").
var commentedKey = regexp.MustCompile(`^(\s*)#([a-z_]+:.*)$`)

func readExample(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// uncomment turns every commented-out setting into a real one and returns
// the dotted keys it turned on.
func uncomment(t *testing.T, doc string) (string, []string) {
	t.Helper()
	var out strings.Builder
	sc := bufio.NewScanner(strings.NewReader(doc))
	for sc.Scan() {
		line := sc.Text()
		if m := commentedKey.FindStringSubmatch(line); m != nil {
			line = m[1] + m[2]
		}
		out.WriteString(line + "\n")
	}
	all := out.String()
	active := leafKeys(t, doc)
	var turnedOn []string
	for _, k := range leafKeys(t, all) {
		if !slices.Contains(active, k) {
			turnedOn = append(turnedOn, k)
		}
	}
	return all, turnedOn
}

// leafKeys lists the dotted paths of a YAML document's scalar values.
func leafKeys(t *testing.T, doc string) []string {
	t.Helper()
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &root); err != nil {
		t.Fatalf("%s: %v", examplePath, err)
	}
	var keys []string
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, prefix)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], prefix+n.Content[i].Value+".")
			}
		default:
			keys = append(keys, strings.TrimSuffix(prefix, "."))
		}
	}
	walk(&root, "")
	return keys
}

// configFields maps every dotted key of agent.Config (by yaml tag) to its
// field in v.
func configFields(v reflect.Value, prefix string, out map[string]reflect.Value) {
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		if f.Type.Kind() == reflect.Struct {
			configFields(v.Field(i), prefix+name+".", out)
			continue
		}
		out[prefix+name] = v.Field(i)
	}
}

func fieldsOf(c *agent.Config) map[string]reflect.Value {
	out := map[string]reflect.Value{}
	configFields(reflect.ValueOf(c).Elem(), "", out)
	return out
}

// TestExampleLoads: the example as shipped is a valid production
// configuration that leaves state_dir to systemd.
func TestExampleLoads(t *testing.T) {
	t.Setenv("STATE_DIRECTORY", systemdStateDir)
	doc := readExample(t)
	cfg, err := agent.ParseConfig([]byte(doc))
	if err != nil {
		t.Fatalf("%s does not load: %v", examplePath, err)
	}
	if slices.Contains(leafKeys(t, doc), "state_dir") {
		t.Errorf("%s sets state_dir: under the unit only StateDirectory= is writable, leave it to $STATE_DIRECTORY", examplePath)
	}
	if cfg.StateDir != systemdStateDir {
		t.Errorf("state_dir = %q, want $STATE_DIRECTORY %q", cfg.StateDir, systemdStateDir)
	}
	if cfg.Camera.Source == agent.Demo || cfg.Model.Path == agent.Demo || cfg.MQTT.Broker == "" {
		t.Errorf("the example runs a demo part (camera %q, model %q, broker %q); it is the production example",
			cfg.Camera.Source, cfg.Model.Path, cfg.MQTT.Broker)
	}
	if cfg.LogLabels {
		t.Error("log_labels is on: every label would go to the journal")
	}
	// make install puts the shipped models in $(PREFIX)/share/coatnet.
	if dir, file := filepath.Split(cfg.Model.Path); dir != "/usr/share/coatnet/" {
		t.Errorf("model.path %q is not in /usr/share/coatnet/, where make install puts models", cfg.Model.Path)
	} else if _, err := os.Stat(filepath.Join("..", "models", file)); err != nil {
		t.Errorf("model.path names %s, which models/ does not ship: %v", file, err)
	}
}

// TestExampleDefaults: every commented-out key shows the agent's default,
// and together with the active keys they are every key the agent reads.
func TestExampleDefaults(t *testing.T) {
	t.Setenv("STATE_DIRECTORY", systemdStateDir)
	defaults := agent.Defaults()
	doc := readExample(t)
	all, turnedOn := uncomment(t, doc)
	if len(turnedOn) == 0 {
		t.Fatalf("%s has no commented-out keys: the pattern %s no longer matches its style", examplePath, commentedKey)
	}
	all = strings.Replace(all, "device: "+hostPlaceholder, "device: "+defaults.Device, 1)
	cfg, err := agent.ParseConfig([]byte(all))
	if err != nil {
		t.Fatalf("%s with every commented-out key turned on does not load: %v", examplePath, err)
	}

	got, want := fieldsOf(&cfg), fieldsOf(&defaults)
	for _, k := range turnedOn {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: %s is not a key of agent.Config", examplePath, k)
			continue
		}
		if !reflect.DeepEqual(g.Interface(), want[k].Interface()) {
			t.Errorf("%s: #%s: %v is not the default %v", examplePath, k, g.Interface(), want[k].Interface())
		}
	}
	named := leafKeys(t, all)
	var missing []string
	for k := range want {
		if !slices.Contains(named, k) {
			missing = append(missing, k)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("%s does not show these keys (add each, commented out with its default): %s",
			examplePath, strings.Join(missing, ", "))
	}
}

// TestExampleCredentialPath: the password_file path the example documents is
// where systemd puts the unit's LoadCredential= mqtt-password.
func TestExampleCredentialPath(t *testing.T) {
	unit, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^LoadCredential=([^:\s]+):(\S+)$`).FindSubmatch(unit)
	if m == nil {
		t.Fatalf("%s has no LoadCredential=ID:PATH line", unitPath)
	}
	id := string(m[1])
	path := "/run/credentials/" + unitPath + "/" + id
	if !strings.Contains(readExample(t), "password_file: "+path+"\n") {
		t.Errorf("%s does not show password_file: %s (LoadCredential=%s:%s)", examplePath, path, id, m[2])
	}
	if !regexp.MustCompile(`(?m)^SetCredential=` + regexp.QuoteMeta(id) + `:`).Match(unit) {
		t.Errorf("%s has no SetCredential=%s: fallback: systemd 252 would fail the start when %s is missing", unitPath, id, m[2])
	}
}
