//go:build soak && !nogocv

package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
)

// sample is the process at one moment of the soak.
type sample struct {
	at         time.Duration
	rssKiB     int64
	goroutines int
	fds        int
	heapKiB    uint64
	published  int
}

func takeSample(at time.Duration, published int) sample {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := sample{at: at, goroutines: runtime.NumGoroutine(), heapKiB: ms.HeapAlloc / 1024, published: published}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		s.fds = len(fds)
	}
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for line := range strings.Lines(string(status)) {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				s.rssKiB, _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			}
		}
	}
	return s
}

// TestSoak (make soak) runs the agent on the demo video through GoCV at
// full speed (no rate limit, the video played at 1000 fps, the most
// camera.fps takes) into a real mosquitto for SOAK_DURATION (default 3m),
// sampling RSS, goroutines, open files and the Go heap every SOAK_EVERY
// (default 5s).
// After the first quarter (warm-up) none may grow: goroutines and open
// files by at most 2, RSS and heap by at most 8 MiB or 10%. The table goes
// to SOAK_OUT when set.
func TestSoak(t *testing.T) {
	duration, every := envDuration(t, "SOAK_DURATION", 3*time.Minute), envDuration(t, "SOAK_EVERY", 5*time.Second)
	b := mqtttest.Start(t, mqtttest.Options{})
	cfg := testConfig(t, b.URL)
	def := Defaults()
	cfg.Model, cfg.Camera = def.Model, def.Camera
	cfg.Camera.FPS = 1000
	cfg.Pipeline.MaxRate = 0
	cfg.MQTT.StatsInterval = time.Second
	topics := TopicsFor(&cfg)
	// The subscriber only counts: the soak measures the agent.
	var received atomic.Int64
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(pahoURL(b.URL)).SetClientID("soak-subscriber"))
	if tok := sub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber: %v", tok.Error())
	}
	defer sub.Disconnect(100)
	if tok := sub.Subscribe(topics.Labels, 1, func(mqtt.Client, mqtt.Message) { received.Add(1) }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, Options{}, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	start := time.Now()
	var samples []sample
	tick := time.NewTicker(every)
	for time.Since(start) < duration {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("the agent stopped: %v", err)
		case <-tick.C:
			samples = append(samples, takeSample(time.Since(start), int(received.Load())))
		}
	}
	tick.Stop()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	var table strings.Builder
	fmt.Fprintf(&table, "| time | RSS MiB | Go heap MiB | goroutines | open files | labels received |\n|---|---|---|---|---|---|\n")
	for _, s := range samples {
		fmt.Fprintf(&table, "| %s | %.1f | %.1f | %d | %d | %d |\n", s.at.Round(time.Second), float64(s.rssKiB)/1024,
			float64(s.heapKiB)/1024, s.goroutines, s.fds, s.published)
	}
	t.Logf("soak, %v at full speed:\n%s", duration, table.String())
	if out := os.Getenv("SOAK_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(table.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
	if len(samples) < 8 {
		t.Fatalf("%d samples: make SOAK_DURATION longer or SOAK_EVERY shorter", len(samples))
	}
	warm := samples[len(samples)/4]
	var peak sample
	for _, s := range samples[len(samples)/4:] {
		peak.rssKiB, peak.heapKiB = max(peak.rssKiB, s.rssKiB), max(peak.heapKiB, s.heapKiB)
		peak.goroutines, peak.fds = max(peak.goroutines, s.goroutines), max(peak.fds, s.fds)
	}
	last := samples[len(samples)-1]
	if last.goroutines > warm.goroutines+2 || last.fds > warm.fds+2 {
		t.Errorf("after warm-up: goroutines %d -> %d, open files %d -> %d", warm.goroutines, last.goroutines, warm.fds, last.fds)
	}
	if grew(warm.rssKiB, last.rssKiB) || grew(int64(warm.heapKiB), int64(last.heapKiB)) {
		t.Errorf("after warm-up: RSS %d -> %d KiB, heap %d -> %d KiB", warm.rssKiB, last.rssKiB, warm.heapKiB, last.heapKiB)
	}
	if last.published <= warm.published {
		t.Errorf("no labels after warm-up (%d then %d)", warm.published, last.published)
	}
	t.Logf("peaks after warm-up: RSS %.1f MiB, heap %.1f MiB, %d goroutines, %d open files; %d labels",
		float64(peak.rssKiB)/1024, float64(peak.heapKiB)/1024, peak.goroutines, peak.fds, last.published)
}

// grew reports growth beyond 8 MiB and 10%.
func grew(from, to int64) bool { return to-from > max(8*1024, from/10) }

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return d
}
