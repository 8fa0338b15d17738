//go:build !nogocv

package agent

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/coatnet-edge/coatnet-edge/camera"
	"github.com/coatnet-edge/coatnet-edge/dataset"
	"github.com/coatnet-edge/coatnet-edge/demo"
	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
	"github.com/coatnet-edge/coatnet-edge/model"
)

// TestDemoEndToEnd runs the agent on its defaults (the built-in int8 model
// and the demo video, read through GoCV) against a real mosquitto: every
// label message arrives in order with no sequence gap, each published top
// label is what the model says of that test image on its own (the video
// is lossless), and the accuracy against the video's ground truth is the
// model's test accuracy within sampling error.
func TestDemoEndToEnd(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	def := Defaults()
	cfg.Model, cfg.Camera = def.Model, def.Camera
	cfg.Camera.Loop = false
	// At its own 5 fps the video would take 200 s: 25 fps, with no cap on
	// classification; inference on one thread keeps up with most frames.
	cfg.Camera.FPS = 25
	cfg.Pipeline.MaxRate = 0
	cfg.Model.Threads = 1
	sub := subscribe(t, b.URL, cfg.MQTT.Prefix+"/"+cfg.Device+"/#")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := Run(ctx, cfg, Options{}, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "offline", func() bool {
		sub.mu.Lock()
		defer sub.mu.Unlock()
		return len(sub.statuses) > 0 && sub.statuses[len(sub.statuses)-1] == "offline"
	})

	video := filepath.Join(cfg.StateDir, "demo", demo.DefaultName)
	truth, err := demo.LoadLabels(video + demo.LabelsSuffix)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Open(filepath.Join(cfg.StateDir, "demo", "fmnist-pre-int8.coatnet"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c, err := model.NewClassifier(m, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	set, err := dataset.Open("fashion-mnist", "test")
	if err != nil {
		t.Fatal(err)
	}
	names := m.Describe().Labels

	sub.mu.Lock()
	defer sub.mu.Unlock()
	n := len(sub.labels)
	// Where inference falls behind the video (a busy machine), the newest-
	// frame reader drops frames and counts them: how many are classified
	// depends on the machine, but every frame must be accounted for, and
	// enough classified for the accuracy check below to mean something.
	if len(sub.stats) == 0 {
		t.Fatal("no stats message")
	}
	final := sub.stats[len(sub.stats)-1]
	t.Logf("final stats: %d frames read, %d classified, %d dropped, %d published",
		final.FramesRead, final.Classified, final.FramesDropped, final.Published)
	if final.FramesRead != int64(len(truth)) || final.Classified+final.FramesDropped != final.FramesRead ||
		final.Published != int64(n) {
		t.Fatalf("final stats %+v do not account for the %d frames and %d label messages", final, len(truth), n)
	}
	if n < 200 {
		t.Fatalf("%d label messages for %d frames: too few to measure accuracy", n, len(truth))
	}
	correct, last := 0, int64(-1)
	for i, l := range sub.labels {
		if l.Seq != uint64(i+1) {
			t.Fatalf("message %d has sequence number %d", i, l.Seq)
		}
		if l.Frame <= last || l.Frame >= int64(len(truth)) {
			t.Fatalf("message %d is frame %d after %d", i, l.Frame, last)
		}
		last = l.Frame
		direct, err := c.Classify(set.Image(int(l.Frame)))
		if err != nil {
			t.Fatal(err)
		}
		if l.Labels[0].Label != names[direct] {
			t.Fatalf("frame %d: the agent says %s, the model on test image %d says %s",
				l.Frame, l.Labels[0].Label, l.Frame, names[direct])
		}
		if l.Labels[0].Label == names[truth[l.Frame]] {
			correct++
		}
	}
	var ref struct {
		TestAccuracy float64 `json:"test_accuracy"`
	}
	raw, err := os.ReadFile("../testdata/fashion/pytorch-fmnist-pre.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	acc := float64(correct) / float64(n)
	// Three standard errors of a proportion over n frames.
	tol := 3 * math.Sqrt(ref.TestAccuracy*(1-ref.TestAccuracy)/float64(n))
	t.Logf("%d label messages for %d frames; accuracy %.2f%% against the ground truth (test set %.2f%%, tolerance %.2f points)",
		n, len(truth), 100*acc, 100*ref.TestAccuracy, 100*tol)
	if math.Abs(acc-ref.TestAccuracy) > tol {
		t.Errorf("accuracy %.4f is not the test accuracy %.4f within %.4f", acc, ref.TestAccuracy, tol)
	}
}

// BenchmarkCaptureToPublish is BenchmarkPublishPath with the frames read
// through GoCV from the demo video (FFV1 decode, the Mat buffer pool) as
// fast as it decodes: everything but inference, per published message.
func BenchmarkCaptureToPublish(b *testing.B) {
	v, err := demo.EnsureVideo(filepath.Join(b.TempDir(), demo.DefaultName), "", 200)
	if err != nil {
		b.Fatal(err)
	}
	src, err := camera.OpenCapture(v.Path, math.Inf(1), true)
	if err != nil {
		b.Fatal(err)
	}
	benchPipeline(b, src)
}
