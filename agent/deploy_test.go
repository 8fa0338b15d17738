package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
)

// stateModel is the model part of the newest state message.
func (r *recorder) stateModel(t *testing.T, topic string) ModelState {
	var m ModelState
	if p := r.last(topic); p != nil {
		if err := json.Unmarshal(p, &m); err != nil {
			t.Fatalf("state %q: %v", p, err)
		}
	}
	return m
}

// shippedModel is a model of models/ by absolute path, with its sha256.
func shippedModel(t *testing.T, name string) (string, string) {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", "models", name))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return path, hex.EncodeToString(sum[:])
}

// TestModelCommand deploys a model with set/model on a running agent: the
// state names the model in force and its sha256 from the start; a wrong
// sha256, a missing file, a file that is no model and a directory each
// keep the old model with the reason on the state topic; malformed
// payloads are rejected; all are counted. The model deployed then labels
// the frames, the settings commands made stay, and a reload of a file
// still naming the old model keeps the deployed one, saying so.
func TestModelCommand(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	cfg.Camera.Loop = true
	cfg.Pipeline.MaxRate = 25
	cfg.MQTT.StatsInterval = 100 * time.Millisecond
	topics := TopicsFor(&cfg)
	rec := record(t, b.URL, "test-recorder", cfg.MQTT.Prefix+"/#")
	reload := make(chan struct{})
	var mu sync.Mutex
	reloadCfg := cfg
	reloadCfg.Pipeline.Threshold = 0.02
	log, stop := startAgent(t, cfg, Options{Reload: reload, LoadConfig: func() (Config, error) {
		mu.Lock()
		defer mu.Unlock()
		return reloadCfg, nil
	}})

	_, oldSum := shippedModel(t, "fmnist-pre-int8.coatnet")
	waitFor(t, "the model in the state", func() bool { return rec.stateModel(t, topics.State).Model != "" })
	if m := rec.stateModel(t, topics.State); m.Model != "fmnist-pre" || m.ModelSHA256 != oldSum ||
		m.ModelPath != cfg.Model.Path || m.ModelError != "" {
		t.Fatalf("initial model state %+v, want fmnist-pre with sha256 %s", m, oldSum)
	}
	waitFor(t, "labels", func() bool { return rec.count(topics.Labels) > 5 })
	rec.send(t, topics.Set+"/threshold", "0.05")
	waitFor(t, "the threshold", func() bool { return rec.state(t, topics.State).Threshold == 0.05 })

	newPath, newSum := shippedModel(t, "fmnist-post-int8.coatnet")
	dir := t.TempDir()
	notModel := filepath.Join(dir, "notes.coatnet")
	if err := os.WriteFile(notModel, []byte("not a model\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrong := strings.Repeat("0", 64)
	refused := []struct{ payload, want string }{
		{`{"path": "` + newPath + `", "sha256": "` + wrong + `"}`, "has sha256 " + newSum},
		{`{"path": "` + filepath.Join(dir, "missing.coatnet") + `"}`, "no such file"},
		{`{"path": "` + notModel + `"}`, "modelfile"},
		{`{"path": "` + dir + `"}`, "not a regular file"},
	}
	for _, c := range refused {
		rec.send(t, topics.Set+"/model", c.payload)
		waitFor(t, "the refusal of "+c.payload, func() bool {
			return strings.Contains(rec.stateModel(t, topics.State).ModelError, c.want)
		})
		if m := rec.stateModel(t, topics.State); m.Model != "fmnist-pre" || m.ModelSHA256 != oldSum {
			t.Fatalf("after %s the state names %+v", c.payload, m)
		}
	}
	malformed := []string{`fmnist-post`, `{"path": "models/x.coatnet"}`, `{"url": "https://example.com/x.coatnet",` +
		` "sha256": "` + newSum + `"}`, `{"path": "` + newPath + `", "sha256": "xyz"}`, `{}`}
	for _, p := range malformed {
		rec.send(t, topics.Set+"/model", p)
	}
	want := int64(len(refused) + len(malformed))
	waitFor(t, "the rejections in stats", func() bool {
		var st AgentStats
		return json.Unmarshal(rec.last(topics.Stats), &st) == nil && st.CommandsRejected == want
	})
	from := rec.count(topics.Labels)
	waitFor(t, "labels after the refusals", func() bool { return rec.count(topics.Labels) > from+5 })
	for _, m := range rec.labels(t, topics.Labels) {
		if m.Model != "fmnist-pre" {
			t.Fatalf("message %d is from %s before any model was deployed", m.Seq, m.Model)
		}
	}

	rec.send(t, topics.Set+"/model", `{"path": "`+newPath+`", "sha256": "`+strings.ToUpper(newSum)+`"}`)
	waitFor(t, "the deployed model in the state", func() bool {
		m := rec.stateModel(t, topics.State)
		return m.Model == "fmnist-post" && m.ModelSHA256 == newSum && m.ModelPath == newPath && m.ModelError == ""
	})
	waitFor(t, "labels of the deployed model", func() bool {
		msgs := rec.labels(t, topics.Labels)
		return len(msgs) > 0 && msgs[len(msgs)-1].Model == "fmnist-post"
	})
	if s := rec.state(t, topics.State); s.Threshold != 0.05 || s.MaxRate != 25 {
		t.Errorf("the deploy changed the settings: %+v", s)
	}

	// A reload of a file still naming the old model keeps the new one.
	reload <- struct{}{}
	waitFor(t, "the reload's threshold", func() bool { return rec.state(t, topics.State).Threshold == 0.02 })
	if m := rec.stateModel(t, topics.State); m.Model != "fmnist-post" || m.ModelSHA256 != newSum {
		t.Errorf("after the reload the state names %+v", m)
	}
	if !strings.Contains(log.String(), "model.path is overridden by the model deployed with set/model") {
		t.Errorf("the reload did not say it kept the deployed model:\n%s", log.String())
	}
	from = rec.count(topics.Labels)
	waitFor(t, "labels after the reload", func() bool { return rec.count(topics.Labels) > from+5 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	msgs := rec.labels(t, topics.Labels)
	noGaps(t, msgs)
	switched := false
	for _, m := range msgs {
		if m.Model == "fmnist-post" {
			switched = true
		} else if switched {
			t.Fatalf("message %d is from the old model after the deploy", m.Seq)
		}
	}
	if n := strings.Count(log.String(), "set/model refused"); n != len(refused) {
		t.Errorf("%d refusals logged, want %d", n, len(refused))
	}
}

// TestModelCommandPlaces: with cameras:, set/model replaces model.path,
// the model of every region that names none, and the state names it.
func TestModelCommandPlaces(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	var cam CameraSpec
	cam.setDefaults()
	cam.Source, cam.Loop = "../testdata/fashion", true
	var region RegionSpec
	region.setDefaults()
	region.RectPx, region.Labels = []int{0, 0, 28, 28}, "every"
	cam.Regions = map[string]RegionSpec{"whole": region}
	cfg := testConfig(t, b.URL)
	cfg.Camera = defaultCamera()
	cfg.Cameras = map[string]CameraSpec{"door": cam}
	cfg.Pipeline.MaxRate = 25
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	topics := TopicsFor(&cfg)
	labels := RegionTopicsFor(&cfg, "door", "whole").Labels
	rec := record(t, b.URL, "test-recorder", cfg.MQTT.Prefix+"/#")
	_, stop := startAgent(t, cfg, Options{})
	waitFor(t, "region labels", func() bool { return rec.count(labels) > 3 })
	if m := rec.stateModel(t, topics.State); m.Model != "fmnist-pre" {
		t.Fatalf("initial model state %+v", m)
	}
	newPath, newSum := shippedModel(t, "fmnist-post-int8.coatnet")
	rec.send(t, topics.Set+"/model", `{"path": "`+newPath+`"}`)
	waitFor(t, "the deployed model in the state", func() bool {
		m := rec.stateModel(t, topics.State)
		return m.Model == "fmnist-post" && m.ModelSHA256 == newSum
	})
	waitFor(t, "region labels of the deployed model", func() bool {
		msgs := rec.labels(t, labels)
		return len(msgs) > 0 && msgs[len(msgs)-1].Model == "fmnist-post"
	})
	if err := stop(); err != nil && !errors.Is(err, os.ErrClosed) {
		t.Fatal(err)
	}
}
