package agent

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coatnet-edge/coatnet-edge/camera"
	"github.com/coatnet-edge/coatnet-edge/internal/affinity"
	"github.com/coatnet-edge/coatnet-edge/internal/redact"
	"github.com/coatnet-edge/coatnet-edge/internal/sdnotify"
	"github.com/coatnet-edge/coatnet-edge/internal/thermal"
	"github.com/coatnet-edge/coatnet-edge/model"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
)

// Options are what Run takes besides the configuration.
type Options struct {
	// Reload asks Run to read the configuration again with LoadConfig
	// (SIGHUP) and apply it without dropping the MQTT session: the model
	// is loaded again, the camera reopened if its settings changed, and
	// the pipeline settings replaced. A configuration that does not load
	// is logged and the running one kept.
	Reload     <-chan struct{}
	LoadConfig func() (Config, error)
	// ConfigPath is the file LoadConfig reads ("": none, the demo): the
	// status page's region editor writes it, then reloads.
	ConfigPath string
	// Version names the build in stats and Home Assistant's device info.
	Version string
	// Notifier tells systemd READY, RELOADING, STOPPING, WATCHDOG and
	// STATUS (Type=notify); nil, like a disabled one, tells nobody.
	Notifier *sdnotify.Notifier
	// WatchdogInterval is systemd's WatchdogSec= ($WATCHDOG_USEC); 0: no
	// watchdog pings.
	WatchdogInterval time.Duration
	// Thermal reads the CPU temperature; nil: the real /sys.
	Thermal *thermal.Reader
}

// Run is the agent: it loads the model, starts the MQTT session, opens the
// camera, serves the status page (http:), and classifies and publishes
// until ctx ends (a clean stop: the web server's streams end, the last
// stats, then "offline", are published) or a non-looping source runs
// out. What cannot work (bad values, a model that does not load, an
// unreadable MQTT credential) is an error naming the key at fault. What
// may come later is waited for while the rest runs: a broker that refuses
// or does not answer is retried, each failure logged with the keys to
// check, with the QoS 1 labels kept in the store meanwhile; a camera that
// does not open is retried with back-off and reported unavailable in stats.
// A run that ends without ever reaching the broker is an error, unless it
// was asked to stop.
func Run(ctx context.Context, cfg Config, opts Options, log *slog.Logger) (err error) {
	if err := cfg.Validate(); err != nil {
		return err
	}
	var startCPUs string
	if cpus, err := affinity.Allowed(); err == nil {
		startCPUs = affinity.Format(cpus)
	}
	if err := pinCPUs(cfg.CPUAffinity); err != nil {
		return err
	}
	if opts.Notifier == nil {
		opts.Notifier = &sdnotify.Notifier{}
	}
	if opts.Thermal == nil {
		opts.Thermal = thermal.New()
	}
	// cfg stays as configured, for reloads to compare with; resolved has
	// the demo's files and the embedded broker's URL.
	resolved := cfg
	if len(cfg.Cameras) > 0 {
		// camera: is unused with cameras: (its default source is the demo).
		resolved.Camera.Source = ""
	}
	if err := resolveDemo(&resolved, log); err != nil {
		return err
	}
	// A file with cameras: runs places (placesrun.go); one without, the
	// Pipeline on its one camera, as before cameras:.
	var inf *inference
	var pl *places
	stats := &Stats{}
	control := NewControl(cfg.Pipeline)
	modelName := ""
	if len(cfg.Cameras) > 0 {
		pl, err = newPlaces(cfg, control, stats, log)
		if err != nil {
			return err
		}
		modelName = pl.modelName()
	} else {
		inf, err = openInference(resolved)
		if err != nil {
			return err
		}
		modelName = inf.md.Name
	}
	running := false // from then on the agent closes its model
	defer func() {
		if !running && inf != nil {
			inf.close()
		}
		if !running && pl != nil {
			pl.close()
		}
	}()
	var discovery []byte
	if cfg.MQTT.Discovery {
		o := DiscoveryOptions{Model: modelName, Version: opts.Version}
		if pl != nil {
			o.Labels = pl.discoveryLabels()
		}
		if discovery, err = DeviceDiscovery(&cfg, o); err != nil {
			return err
		}
	}
	if cfg.MQTT.Broker == "" {
		b, err := StartEmbeddedBroker(cfg.MQTT.EmbeddedListen, log)
		switch {
		case errors.Is(err, syscall.EADDRINUSE):
			// Most likely a broker already runs there (Debian's mosquitto
			// listens on 1883): use it.
			resolved.MQTT.Broker = "mqtt://" + cfg.MQTT.EmbeddedListen
			log.Info("mqtt.embedded_listen is taken; using the MQTT broker already listening there",
				"url", resolved.MQTT.Broker)
		case err != nil:
			return fmt.Errorf("mqtt.embedded_listen: %w", err)
		default:
			// Closed after the publisher, whose offline it carries.
			defer b.Close()
			resolved.MQTT.Broker = b.URL()
			log.Info("embedded MQTT broker listening (no mqtt.broker configured)", "url", b.URL())
		}
		addr := strings.TrimPrefix(resolved.MQTT.Broker, "mqtt://")
		log.Info("watch the labels with", "mosquitto_sub", fmt.Sprintf("mosquitto_sub -h %s -p %s -t '%s/#' -v",
			hostOf(addr), portOf(addr), cfg.MQTT.Prefix), "coatnet", "coatnet watch --broker "+resolved.MQTT.Broker)
	}
	// The sink before the source: labels can be published (and wait in
	// the store) from the first frame, connected or not.
	warnUnsafeFiles(&resolved, log)
	pub, err := StartPublisher(resolved, control, discovery, log)
	if errors.Is(err, errStateDir) {
		return err
	}
	if err != nil {
		return fmt.Errorf("mqtt.broker: %w", err)
	}
	defer func() { err = errors.Join(err, pub.Close()) }()
	var cam *cameraFeed
	if pl != nil {
		if err := pl.start(ctx, pub); err != nil {
			return err
		}
	} else if cam, err = openCamera(ctx, resolved, log); err != nil {
		return err
	}
	a := &agent{cfg: cfg, opts: opts, log: log, inf: inf, cam: cam, places: pl, pub: pub, control: control,
		stats: stats, start: time.Now(), notify: opts.Notifier, startCPUs: startCPUs,
		fileModel: cleanModelPath(cfg.Model.Path), edits: make(chan chan error)}
	if pl == nil {
		a.tap, a.seen = newFrameTap(), &seenLabels{LabelSink: pub}
	}
	pub.SetModel(a.modelState())
	defer func() {
		if a.places != nil {
			a.places.close()
			return
		}
		a.inf.close()
		a.cam.close()
		a.collect.close()
	}()
	running = true
	// After the publisher, whose state the page shows; stopped before
	// it, streams first.
	if a.web, err = startWeb(a, &cfg); err != nil {
		return err
	}
	defer func() { a.web.stop() }() // a reload may replace it
	// Ready once the model is loaded, the MQTT session started and the
	// camera tried once, even with the camera or the broker not there yet: both are retried in
	// the background, and readiness waiting for them would only make
	// systemd fail the start and restart the agent in a loop. A missing
	// camera shows in STATUS= and stats; see supervise for the watchdog.
	a.notify.Ready()
	superviseCtx, stopSupervising := context.WithCancel(ctx)
	defer stopSupervising()
	go a.supervise(superviseCtx)
	if pl != nil {
		_, available := pl.health()
		log.Info("agent running", "device", cfg.Device, "model", modelName, "cameras", len(cfg.Cameras),
			"cameras_available", available)
	} else {
		log.Info("agent running", "device", cfg.Device, "model", inf.md.Name, "kind", inf.md.Kind, "camera", cam.src.Name(),
			"camera_available", cam.src.Available(), "labels_topic", a.pub.Topics().Labels)
	}
	// Stats stop after the pipeline drained, not with ctx, so the last
	// message has the final counts.
	statsCtx, stopStats := context.WithCancel(context.WithoutCancel(ctx))
	defer stopStats()
	lastStats := make(chan AgentStats, 1)
	if cfg.MQTT.StatsInterval > 0 {
		go func() { lastStats <- a.publishStats(statsCtx, cfg.MQTT.StatsInterval) }()
	}
	thermalCtx, stopThermal := context.WithCancel(ctx)
	defer stopThermal()
	go a.watchTemperature(thermalCtx, opts.Thermal)
	err = a.loop(ctx)
	a.notify.Stopping()
	stopStats()
	var st AgentStats
	if cfg.MQTT.StatsInterval > 0 {
		st = <-lastStats
	} else {
		st = a.snapshot(time.Now())
	}
	log.Info("agent stopped", "classified", st.Classified, "published", st.Published,
		"frames_dropped", st.FramesDropped, "inference_p50_ms", st.InferenceP50Ms,
		"store_dropped", st.StoreDropped)
	if errors.Is(err, io.EOF) {
		if a.places != nil {
			log.Info("every camera source ended")
		} else {
			log.Info("camera source ended", "camera", a.cam.src.Name())
		}
		err = nil
	}
	if err == nil && !pub.Connected() {
		if errors.Is(ctx.Err(), context.Canceled) {
			// Asked to stop (SIGTERM) before the broker answered: a clean
			// stop; the QoS 1 labels wait in the store for the next run.
			log.Info("stopped before the MQTT broker answered", "broker", redact.URL(resolved.MQTT.Broker))
			return nil
		}
		if cerr := pub.LastConnectError(); cerr != nil {
			return fmt.Errorf("mqtt.broker: never connected to %s: %w", redact.URL(resolved.MQTT.Broker), cerr)
		}
		return fmt.Errorf("mqtt.broker: never connected to %s", redact.URL(resolved.MQTT.Broker))
	}
	return err
}

func hostOf(addr string) string { h, _, _ := net.SplitHostPort(addr); return h }
func portOf(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }

// agent is one Run: the parts a reload replaces and those it keeps.
type agent struct {
	cfg     Config
	opts    Options
	log     *slog.Logger
	pub     *Publisher
	control *Control
	stats   *Stats
	start   time.Time
	notify  *sdnotify.Notifier
	reloads int64
	thermal *ThermalStats // the last reading
	// startCPUs is the CPU list before cpu_affinity, for a reload that
	// drops it.
	startCPUs string

	// deployed is the model file set/model put in force over model.path
	// ("": none); fileModel is model.path as the file last said.
	deployed, fileModel string

	mu  sync.Mutex // guards inf, cam, past, cfg, reloads, thermal, deployed and fileModel across goroutines
	inf *inference
	cam *cameraFeed
	// places runs a file with cameras: (inf and cam are nil then).
	places *places
	// past adds up the camera counters of the feeds a reload closed.
	past cameraCounters
	// collect is pipeline.collect's writer and state (collect.go).
	collect frameCollector

	// The web server (nil: http.listen is "") and what it needs: the
	// legacy camera's frame tap and last labels (nil with cameras:), the
	// region editor's reload requests, answered with refused, why the
	// last reload kept the running configuration (nil: it applied). The
	// loop's goroutine's, but for the channel and what the fields point to.
	web     *webServer
	tap     *frameTap
	seen    *seenLabels
	edits   chan chan error
	refused error
}

// loop runs the pipeline, restarting it around reloads.
func (a *agent) loop(ctx context.Context) error {
	for {
		pctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		if a.places != nil {
			go func() { done <- a.places.run(pctx) }()
		} else {
			p := a.pipeline()
			go func() { done <- p.Run(pctx) }()
		}
	wait:
		for {
			select {
			case err := <-done:
				stop()
				if ctx.Err() != nil {
					// Stopping: the camera reader may see the end of ctx
					// before the pipeline does and pass it on as its error.
					return nil
				}
				return err
			case req := <-a.pub.ModelRequests():
				stopped, err := a.deploy(ctx, req, stop, done)
				if err != nil {
					return err
				}
				if stopped {
					break wait
				}
			case <-a.opts.Reload:
				stopped, err := a.reloadWeb(ctx, stop, done, nil)
				if err != nil {
					return err
				}
				if stopped {
					break wait
				}
			case reply := <-a.edits:
				stopped, err := a.reloadWeb(ctx, stop, done, reply)
				if err != nil {
					return err
				}
				if stopped {
					break wait
				}
			}
		}
	}
}

// reloadWeb is reload, answering reply (an edit's; nil: SIGHUP's) with
// why it refused, and replacing the web server if http: changed.
func (a *agent) reloadWeb(ctx context.Context, stop context.CancelFunc, done <-chan error,
	reply chan<- error) (bool, error) {
	a.mu.Lock()
	before := a.cfg.HTTP
	a.mu.Unlock()
	stopped, err := a.reload(ctx, stop, done)
	if reply != nil {
		reply <- a.refused
	}
	a.mu.Lock()
	cfg := a.cfg
	a.mu.Unlock()
	// A server that did not start (its auth file) is tried again too.
	if err == nil && (cfg.HTTP != before || a.web == nil && cfg.HTTP.Listen != "") {
		a.log.Info("http: (re)starting the web server")
		a.web.stop()
		if a.web, err = startWeb(a, &cfg); err != nil {
			a.log.Error("http: the web server does not start; the agent runs without it until a reload fixes it",
				"err", err)
			err = nil
		}
	}
	return stopped, err
}

// refuse logs why a reload keeps the running configuration, and keeps it
// for the edit that asked for the reload.
func (a *agent) refuse(err error) {
	a.log.Error("reload failed; the running configuration stays", "err", err)
	a.refused = err
}

// pipeline is the pipeline over the current model and camera.
func (a *agent) pipeline() *Pipeline {
	p := &Pipeline{Source: a.cam.frames, Classifier: a.inf.classifier, Labels: a.inf.md.Labels, Sink: a.seen,
		Camera: a.cam.src.Name(), Model: a.inf.md.Name, Config: a.cfg.Pipeline, Control: a.control, Stats: a.stats,
		Tap: a.tap}
	if a.cfg.LogLabels {
		p.LabelLog = a.log
	}
	p.collect = a.collect.use(&a.cfg, a.inf.md.Labels, a.control, a.log)
	return p
}

// reload reads the configuration again and, if it loads, stops the
// pipeline (stop, then wait on done) and swaps in the new model and
// camera; it reports whether the pipeline was stopped. Whatever fails is
// logged and the running configuration kept; a camera that neither the
// new nor the old configuration opens is retried like any camera gone.
// The error is for what cannot happen with a configuration that ran (an
// invalid camera configuration, demo files that cannot be made).
func (a *agent) reload(ctx context.Context, stop context.CancelFunc, done <-chan error) (bool, error) {
	log := a.log
	a.refused = nil
	if a.opts.LoadConfig == nil {
		log.Warn("reload asked, but the agent was started without a configuration file")
		a.refused = errors.New("the agent was started without a configuration file")
		return false, nil
	}
	log.Info("reloading the configuration")
	a.notify.Reloading()
	defer a.notify.Ready()
	cfg, err := a.opts.LoadConfig()
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		a.refuse(err)
		return false, nil
	}
	// The MQTT session survives a reload, so its settings cannot change.
	if !reflect.DeepEqual(cfg.MQTT, a.cfg.MQTT) || cfg.Device != a.cfg.Device || cfg.StateDir != a.cfg.StateDir {
		log.Warn("device, mqtt and state_dir changes apply at the next restart")
		cfg.MQTT, cfg.Device, cfg.StateDir = a.cfg.MQTT, a.cfg.Device, a.cfg.StateDir
	}
	// A model set/model deployed stays over the file's model.path, said
	// at every reload, until the file names it too or another set/model.
	fileModel := cleanModelPath(cfg.Model.Path)
	a.mu.Lock()
	deployed, old := a.deployed, a.cfg
	a.mu.Unlock()
	if deployed != "" && deployed != fileModel {
		log.Warn("model.path is overridden by the model deployed with set/model; send set/model to change it "+
			"(a restart goes back to model.path)", "model", deployed, "model.path", cfg.Model.Path)
		cfg.Model.Path = deployed
	}
	if (len(cfg.Cameras) > 0) != (a.places != nil) {
		a.refuse(errors.New("a change between camera and cameras applies at the next restart"))
		return false, nil
	}
	if a.places != nil {
		return a.reloadPlaces(ctx, cfg, fileModel, stop, done)
	}
	resolved := cfg
	if err := resolveDemo(&resolved, log); err != nil {
		a.refuse(err)
		return false, nil
	}
	inf, err := openInference(resolved)
	if err != nil {
		a.refuse(err)
		return false, nil
	}
	stopped, err := a.swap(ctx, cfg, resolved, inf, stop, done)
	if stopped && err == nil {
		a.reloaded(fileModel)
		log.Info("configuration reloaded", "model", inf.md.Name, "kind", inf.md.Kind, "camera", a.cam.src.Name(),
			"camera_reopened", cfg.Camera != old.Camera || sourceFPS(cfg) != sourceFPS(old))
	}
	return stopped, err
}

// reloaded is what a reload changes besides the model and camera: the
// counter and the settings of the file, then the state echoed.
func (a *agent) reloaded(fileModel string) {
	a.mu.Lock()
	a.reloads++
	a.fileModel = fileModel
	if a.deployed == fileModel {
		a.deployed = "" // the file says the same now
	}
	cfg := a.cfg
	a.mu.Unlock()
	a.control.Update(func(s *Settings) { s.Threshold, s.MaxRate = cfg.Pipeline.Threshold, cfg.Pipeline.MaxRate })
	a.pub.SetModel(a.modelState())
}

// swap puts inf (loaded aside, for cfg) in force: it stops the pipeline
// (stop, then wait on done), reopens the camera if cfg changed it, and
// replaces the model; it reports whether the pipeline was stopped. A
// reload and set/model both swap through it.
func (a *agent) swap(ctx context.Context, cfg, resolved Config, inf *inference, stop context.CancelFunc,
	done <-chan error) (bool, error) {
	log := a.log
	var err error
	if cfg.CPUAffinity != a.cfg.CPUAffinity {
		cpus := cfg.CPUAffinity
		if cpus == "" {
			// Back to the CPUs the agent was started with.
			cpus = a.startCPUs
		}
		// Every thread, the new engine's workers too.
		if err := pinCPUs(cpus); err != nil {
			inf.close()
			a.refuse(err)
			return false, nil
		}
	}
	stop()
	if err := <-done; err != nil && !errors.Is(err, io.EOF) {
		log.Warn("pipeline ended with an error during the reload", "err", err)
	}
	newCamera := cfg.Camera != a.cfg.Camera || sourceFPS(cfg) != sourceFPS(a.cfg)
	cam := a.cam
	if newCamera {
		// The old camera closes first: a V4L2 device opens only once.
		old := a.cam.counters()
		a.cam.close()
		cam, err = openCamera(ctx, resolved, log)
		if err == nil && !cam.src.Available() {
			// Its first open failed (logged): rather the camera that
			// worked, if it still does.
			old.add(cam.counters())
			cam.close()
			err = errors.New("camera.source: it did not open")
		}
		if err != nil {
			log.Error("the new camera does not open; going back to the old one", "camera", redact.Source(cfg.Camera.Source), "err", err)
			cfg.Camera = a.cfg.Camera
			resolved = cfg
			if err := resolveDemo(&resolved, log); err != nil {
				inf.close()
				return true, fmt.Errorf("reload: the old camera: %w", err)
			}
			if cam, err = openCamera(ctx, resolved, log); err != nil {
				inf.close()
				return true, fmt.Errorf("reload: the old camera: %w", err)
			}
			if !cam.src.Available() {
				// Like any camera that goes away: retried in the
				// background, unavailable in stats meanwhile.
				log.Error("the old camera does not open either; retrying it", "camera", redact.Source(cfg.Camera.Source))
			}
		}
		a.mu.Lock()
		a.past.add(old)
		a.mu.Unlock()
	}
	a.mu.Lock()
	a.inf.close()
	a.inf, a.cam = inf, cam
	a.cfg = cfg
	a.mu.Unlock()
	if cfg.MQTT.Discovery {
		if d, err := DiscoveryPayload(&cfg, inf.md.Name, a.opts.Version); err == nil {
			a.pub.SetDiscovery(d)
		}
	}
	return true, nil
}

// inference is a loaded model and its classifier.
type inference struct {
	model      model.Any
	md         *arch.Metadata
	classifier *model.Classifier
	sha256     string // of the file's bytes in use, hex
}

func openInference(cfg Config) (*inference, error) {
	m, err := model.Open(cfg.Model.Path)
	if err != nil {
		return nil, fmt.Errorf("model.path: %w", err)
	}
	if err := checkMemory(m, cfg.Model.Threads); err != nil {
		m.Close()
		return nil, fmt.Errorf("model.path: %w", err)
	}
	c, err := model.NewClassifier(m, cfg.Model.Threads)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("model.path: %w", err)
	}
	sum := m.File().SHA256()
	return &inference{model: m, md: m.Describe(), classifier: c, sha256: hex.EncodeToString(sum[:])}, nil
}

func (i *inference) close() {
	i.classifier.Close()
	i.model.Close()
}

// cameraFeed is the camera, reopened after stalls, read on its own
// goroutine for the newest frame.
type cameraFeed struct {
	src    *camera.Reopening
	frames *camera.Latest
}

func openCamera(ctx context.Context, cfg Config, log *slog.Logger) (*cameraFeed, error) {
	c, fps := cfg.Camera, sourceFPS(cfg)
	src, err := camera.NewReopening(ctx, camera.ReopenConfig{
		Name: redact.Source(c.Source),
		Open: func(context.Context) (camera.Source, error) {
			src, err := camera.Open(c.Source, fps, c.Loop)
			if err == nil {
				logRate(log, src, c.FPS)
			}
			if err == nil && camera.Live(c.Source) {
				// A live camera repeating one frame has stalled too.
				src = camera.DetectFrozen(src, c.StallTimeout)
			}
			return src, err
		},
		StallTimeout: c.StallTimeout, Backoff: c.ReopenBackoff, BackoffMax: c.ReopenBackoffMax, Log: log,
	})
	if err != nil {
		return nil, fmt.Errorf("camera.source: %w", err)
	}
	return &cameraFeed{src: src, frames: camera.NewLatest(ctx, src)}, nil
}

func (c *cameraFeed) close() { c.frames.Close() }

// sourceFPS is the frame rate asked of the camera: camera.fps; for a
// folder of pictures, which has none of its own, pipeline.max_rate (each
// picture classified once) or camera.DefaultFPS without a cap; else 0, a
// file's (the demo's too) or live camera's own.
func sourceFPS(cfg Config) float64 {
	switch {
	case cfg.Camera.FPS > 0:
		return cfg.Camera.FPS
	case cfg.Camera.Source == Demo || !camera.IsFolder(cfg.Camera.Source):
		return 0
	case cfg.Pipeline.MaxRate > 0:
		return cfg.Pipeline.MaxRate
	}
	return camera.DefaultFPS
}

// logRate says what src plays at; asked is camera.fps.
func logRate(log *slog.Logger, src camera.Source, asked float64) {
	r, ok := camera.RateOf(src)
	switch {
	case !ok:
	case r.From == "default":
		log.Warn("the video file states no usable frame rate; playing it at the default (set camera.fps)",
			"camera", src.Name(), "reported_fps", r.Reported, "fps", r.FPS)
	case r.From == "source" && asked > 0:
		log.Warn("camera.fps is ignored: this source sets its own rate", "camera", src.Name(), "fps", r.FPS)
	default:
		log.Info("camera frame rate", "camera", src.Name(), "fps", r.FPS, "from", r.From, "reported_fps", r.Reported)
	}
}

// cameraCounters are what a camera feed counts.
type cameraCounters struct {
	FramesRead    int64 `json:"frames_read" metric:"counter"`
	FramesDropped int64 `json:"frames_dropped" metric:"counter"` // replaced by a newer frame before classification
	CameraStalls  int64 `json:"camera_stalls" metric:"counter"`  // stalls and failures
	CameraReopens int64 `json:"camera_reopens" metric:"counter"`
	FramesSkipped int64 `json:"frames_skipped" metric:"counter"` // unreadable pictures of a folder
}

func (c *cameraFeed) counters() cameraCounters {
	return cameraCounters{FramesRead: c.frames.Read(), FramesDropped: c.frames.Dropped(), CameraStalls: c.src.Stalls(),
		CameraReopens: c.src.Reopens(), FramesSkipped: c.src.Skipped()}
}

func (c *cameraCounters) add(o cameraCounters) {
	c.FramesRead += o.FramesRead
	c.FramesDropped += o.FramesDropped
	c.CameraStalls += o.CameraStalls
	c.CameraReopens += o.CameraReopens
	c.FramesSkipped += o.FramesSkipped
}

// counters are the camera counters of this run, across reloads.
func (a *agent) counters() cameraCounters {
	if a.places != nil {
		return a.places.counters()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.past
	c.add(a.cam.counters())
	return c
}

// AgentStats is the payload of the stats topic.
type AgentStats struct {
	Time          time.Time `json:"time"`
	Version       string    `json:"version,omitempty"`
	UptimeSeconds float64   `json:"uptime_s"`
	StatsSnapshot
	cameraCounters
	// Rates over the last stats interval.
	FramesPerSecond     float64 `json:"frames_per_s"`
	ClassifiedPerSecond float64 `json:"classified_per_s"`
	CameraStalled       bool    `json:"camera_stalled"`
	// CameraAvailable is false while the camera does not open (missing,
	// or gone and being retried), true while a source is open.
	CameraAvailable  bool  `json:"camera_available"`
	Paused           bool  `json:"paused"`
	Reconnects       int64 `json:"mqtt_reconnects" metric:"counter"`
	StoreDropped     int64 `json:"mqtt_store_dropped" metric:"counter"`
	StoreQuarantined int64 `json:"mqtt_store_quarantined" metric:"counter"`
	CommandsRejected int64 `json:"commands_rejected" metric:"counter"`
	Reloads          int64 `json:"reloads" metric:"counter"`
	// Thermal is absent where /sys has no sensor.
	Thermal *ThermalStats `json:"thermal,omitempty"`
	// Cameras are the counters of each camera of cameras: and its regions
	// (absent without cameras:). The fields above add up all cameras;
	// camera_stalled is any camera's, camera_available every camera's.
	Cameras map[string]CameraStats `json:"cameras,omitempty"`
	// Snapshots are the snapshot ring's counters (with cameras:).
	Snapshots *SnapshotStats `json:"snapshots,omitempty"`
	// Collected frames kept for training (pipeline.collect), and those
	// dropped (a full disk); with cameras:, each region counts its own.
	Collected      int64 `json:"collected,omitempty"`
	CollectDropped int64 `json:"collect_dropped,omitempty"`
}

// snapshot gathers the stats at now.
func (a *agent) snapshot(now time.Time) AgentStats {
	settings, _ := a.control.Get()
	var stalled, available bool
	var cams map[string]CameraStats
	var snaps *SnapshotStats
	if a.places != nil {
		stalled, available = a.places.health()
		cams = a.places.cameraStats()
		ss := a.places.ring.Stats()
		snaps = &ss
	}
	a.mu.Lock()
	if a.places == nil {
		stalled, available = a.cam.src.Stalled(), a.cam.src.Available()
	}
	reloads := a.reloads
	var th *ThermalStats
	if a.thermal != nil && (a.thermal.TempC != 0 || a.thermal.ThrottleWord != "" || a.thermal.Limited) {
		copied := *a.thermal
		th = &copied
	}
	a.mu.Unlock()
	s := AgentStats{Time: now, Version: a.opts.Version, UptimeSeconds: now.Sub(a.start).Seconds(),
		StatsSnapshot: a.stats.Snapshot(), cameraCounters: a.counters(), CameraStalled: stalled,
		CameraAvailable: available, Paused: settings.Paused, Reloads: reloads, Thermal: th, Cameras: cams, Snapshots: snaps}
	s.Reconnects, s.StoreDropped, s.CommandsRejected = a.pub.Reconnects(), a.pub.StoreDropped(), a.pub.CommandsRejected()
	s.StoreQuarantined = a.pub.StoreQuarantined()
	s.Collected, s.CollectDropped = a.collect.count()
	return s
}

// publishStats publishes AgentStats every interval until ctx ends, then
// once more, and returns that last message.
func (a *agent) publishStats(ctx context.Context, interval time.Duration) AgentStats {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	prev := a.snapshot(a.start)
	for {
		now := time.Now()
		select {
		case <-ctx.Done():
		case now = <-tick.C:
		}
		s := a.snapshot(now)
		s.FramesPerSecond, s.ClassifiedPerSecond = rates(prev, s)
		prev = s
		if err := a.pub.PublishStats(s); err != nil {
			a.log.Warn("stats not published", "err", err)
		}
		if ctx.Err() != nil {
			return s
		}
	}
}
