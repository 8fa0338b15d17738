package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/coatnet-edge/coatnet-edge/camera"
	"github.com/coatnet-edge/coatnet-edge/model"
)

// Run is the agent: it loads the model, opens the camera and the MQTT
// session, and classifies and publishes until ctx ends (a clean stop:
// "offline" is published) or a non-looping source runs out. Problems with
// the model, the camera or the broker at start are errors naming the
// configuration key at fault.
func Run(ctx context.Context, cfg Config, log *slog.Logger) (err error) {
	if err := cfg.Validate(); err != nil {
		return err
	}
	m, err := model.Open(cfg.Model.Path)
	if err != nil {
		return fmt.Errorf("model.path: %w", err)
	}
	defer m.Close()
	md := m.Describe()
	classifier, err := model.NewClassifier(m, cfg.Model.Threads)
	if err != nil {
		return fmt.Errorf("model.path: %w", err)
	}
	defer classifier.Close()
	// A folder of pictures plays at the classification rate, so that each
	// picture is classified once (0: as fast as inference goes).
	src, err := camera.Open(cfg.Camera.Source, cfg.Pipeline.MaxRate, cfg.Camera.Loop)
	if err != nil {
		return fmt.Errorf("camera.source: %w", err)
	}
	pub, err := NewPublisher(ctx, cfg, log)
	if err != nil {
		src.Close()
		if errors.Is(ctx.Err(), context.Canceled) {
			// Asked to stop (SIGTERM) while waiting: a clean stop.
			log.Info("stopped before the MQTT broker answered", "broker", cfg.MQTT.Broker)
			return nil
		}
		return fmt.Errorf("mqtt.broker: %w", err)
	}
	defer func() { err = errors.Join(err, pub.Close()) }()
	frames := camera.NewLatest(ctx, src)
	defer frames.Close()
	log.Info("agent running", "device", cfg.Device, "model", md.Name, "kind", md.Kind, "camera", src.Name(),
		"labels_topic", pub.Topics().Labels)
	p := Pipeline{Source: frames, Classifier: classifier, Labels: md.Labels, Sink: pub, Camera: src.Name(),
		Model: md.Name, Config: cfg.Pipeline, Stats: &Stats{}}
	if cfg.MQTT.StatsInterval > 0 {
		statsCtx, stopStats := context.WithCancel(ctx)
		defer stopStats()
		go publishStats(statsCtx, cfg.MQTT.StatsInterval, pub, p.Stats, frames, log)
	}
	err = p.Run(ctx)
	st := p.Stats.Snapshot()
	log.Info("agent stopped", "classified", st.Classified, "published", st.Published, "frames_dropped", frames.Dropped(),
		"inference_p50_ms", st.InferenceP50Ms, "store_dropped", pub.StoreDropped())
	if errors.Is(err, io.EOF) {
		log.Info("camera source ended", "camera", src.Name())
		return nil
	}
	return err
}

// AgentStats is the payload of the stats topic.
type AgentStats struct {
	Time          time.Time `json:"time"`
	UptimeSeconds float64   `json:"uptime_s"`
	StatsSnapshot
	FramesRead    int64 `json:"frames_read"`
	FramesDropped int64 `json:"frames_dropped"` // replaced by a newer frame before classification
	Reconnects    int64 `json:"mqtt_reconnects"`
	StoreDropped  int64 `json:"mqtt_store_dropped"`
}

// publishStats publishes AgentStats every interval until ctx ends.
func publishStats(ctx context.Context, interval time.Duration, pub *Publisher, st *Stats, frames *camera.Latest, log *slog.Logger) {
	start := time.Now()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			s := AgentStats{Time: now, UptimeSeconds: now.Sub(start).Seconds(), StatsSnapshot: st.Snapshot(),
				FramesRead: frames.Read(), FramesDropped: frames.Dropped(), Reconnects: pub.Reconnects(),
				StoreDropped: pub.StoreDropped()}
			if err := pub.PublishStats(s); err != nil {
				log.Warn("stats not published", "err", err)
			}
		}
	}
}
