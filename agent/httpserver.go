package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coatnet-edge/coatnet-edge/camera"
	"github.com/coatnet-edge/coatnet-edge/internal/backoff"
	"github.com/coatnet-edge/coatnet-edge/internal/redact"
	"github.com/coatnet-edge/coatnet-edge/kernels"
	"github.com/coatnet-edge/coatnet-edge/picture"
	"github.com/coatnet-edge/coatnet-edge/web"
)

// The agent's web server (http:): the status page and its JSON, each
// camera's live view (MJPEG) and newest frame, the regions' last
// snapshots, the region editor's writes, /healthz and /metrics. Package
// web has what any server needs (limits, auth, CSRF, the MJPEG hub, the
// Prometheus adapter, the page); this file is what only the agent knows.
// Nothing here runs on the classification path: a camera's frames reach
// it through a frameTap, copied only while someone watches.

// frameTap hands a camera's frames to its live view. While nobody watches
// a frame costs two atomic stores and a load; while someone does, at most
// one frame per interval is copied into the tap's reused buffers (a
// cropSlot: the camera goroutine writes one while the view encodes the
// other), and the view is woken. Only the camera's goroutine calls see.
type frameTap struct {
	wanted   atomic.Bool
	interval atomic.Int64  // between copies, ns (1/http.stream_fps)
	last     atomic.Int64  // when the newest frame came, unix ns (/healthz)
	size     atomic.Uint64 // the newest frame's width<<32 | height
	ready    chan struct{} // a copy waits in slot
	slot     cropSlot

	due time.Time // the camera goroutine's: no copy before, on rateSlot's schedule
}

func newFrameTap() *frameTap { return &frameTap{ready: make(chan struct{}, 1)} }

// see is called with every frame the camera's goroutine takes.
func (t *frameTap) see(f camera.Frame) {
	now := time.Now()
	t.last.Store(now.UnixNano())
	w, h := FrameSize(f)
	t.size.Store(uint64(w)<<32 | uint64(uint32(h)))
	if !t.wanted.Load() || now.Before(t.due) || w <= 0 || h <= 0 {
		return
	}
	// On a schedule, so that a camera at the stream's rate loses no
	// frame to its jitter.
	interval := time.Duration(t.interval.Load())
	t.due = rateSlot(t.due, now, interval).Add(interval)
	t.slot.offer(f, image.Rect(0, 0, w, h), false)
	select {
	case t.ready <- struct{}{}:
	default:
	}
}

// frameSize is the newest frame's size, 0 x 0 before any.
func (t *frameTap) frameSize() (int, int) {
	s := t.size.Load()
	return int(s >> 32), int(uint32(s))
}

// seenLabels is the legacy pipeline's sink: it passes the labels on and
// keeps the last published ones for the page.
type seenLabels struct {
	LabelSink
	mu   sync.Mutex
	last []Label
}

func (s *seenLabels) PublishLabels(m LabelsMessage) (uint64, error) {
	seq, err := s.LabelSink.PublishLabels(m)
	if err == nil {
		s.mu.Lock()
		s.last = m.Labels // TopK made them for this message; nobody changes them
		s.mu.Unlock()
	}
	return seq, err
}

func (s *seenLabels) labels() []Label {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// Live view bounds: a view's picture is at most liveMaxSide on its longer
// side (a phone's screen, a fraction of a Pi's encoding time of a 1080p
// frame); a view nobody used for liveIdle stops its goroutine; a snapshot
// waits at most snapshotWait for a fresh frame, else takes the last one.
const (
	liveMaxSide  = 1280
	liveIdle     = 3 * time.Second
	liveCheck    = 200 * time.Millisecond
	snapshotWait = 3 * time.Second
)

// liveView is one camera's live picture: a goroutine that, while it has
// users (stream clients, snapshot requests), turns the tap's copies into
// JPEGs with the regions and their states drawn, for the stream's hub and
// for snapshot.jpg.
type liveView struct {
	s     *webServer
	name  string
	tap   *frameTap
	hub   *web.Hub
	users atomic.Int32 // changed under s.mu, so that retire sees them
	poke  chan struct{}
	done  chan struct{}

	// The goroutine's.
	enc     picture.Encoder
	boxes   []picture.Box
	caption []string

	mu    sync.Mutex
	jpeg  []byte        // the newest picture
	fresh chan struct{} // closed when the next one is there
}

func (v *liveView) run(ctx context.Context) {
	defer close(v.done)
	defer v.tap.wanted.Store(false)
	tick := time.NewTicker(liveCheck)
	defer tick.Stop()
	used := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-v.tap.ready:
		case <-v.poke:
		case <-tick.C:
		}
		now := time.Now()
		busy := v.users.Load() > 0
		v.tap.wanted.Store(busy)
		if busy {
			used = now
		} else if now.Sub(used) >= liveIdle && v.s.retire(v) {
			return
		}
		if v.tap.slot.take() {
			v.encode()
		}
	}
}

// encode draws and encodes the frame the tap handed over.
func (v *liveView) encode() {
	f := v.tap.slot.work.crop()
	v.boxes, v.caption = v.s.a.drawing(v.name, v.boxes[:0], v.caption[:0])
	b, _, err := v.enc.EncodeFrame(f, picture.Options{MaxSide: liveMaxSide, Boxes: v.boxes, Caption: v.caption})
	if err != nil {
		v.s.log.Debug("http: live view not encoded", "camera", v.name, "err", err)
		return
	}
	v.hub.Publish(b)
	v.mu.Lock()
	v.jpeg = append(v.jpeg[:0], b...)
	close(v.fresh)
	v.fresh = make(chan struct{})
	v.mu.Unlock()
}

// picture is a picture newer than the request (waiting up to
// snapshotWait), else the newest there is; nil: none yet.
func (v *liveView) picture(ctx context.Context) []byte {
	v.mu.Lock()
	fresh := v.fresh
	v.mu.Unlock()
	select {
	case v.poke <- struct{}{}:
	default:
	}
	t := time.NewTimer(snapshotWait)
	defer t.Stop()
	select {
	case <-fresh:
	case <-t.C:
	case <-ctx.Done():
	case <-v.s.ctx.Done(): // the server stops
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.jpeg) == 0 {
		return nil
	}
	return bytes.Clone(v.jpeg)
}

// drawing is what the live view of camera draws: each region's box with
// its name and confirmed state, or (a file without cameras:) the last
// labels as a caption. It appends to boxes and caption.
func (a *agent) drawing(camera string, boxes []picture.Box, caption []string) ([]picture.Box, []string) {
	if a.places == nil {
		for _, l := range a.seen.labels() {
			caption = append(caption, fmt.Sprintf("%s %.2f", l.Label, l.Score))
		}
		return boxes, caption
	}
	p := a.places
	p.mu.Lock()
	defer p.mu.Unlock()
	i := slices.IndexFunc(p.cams, func(c *placeCamera) bool { return c.name == camera })
	if i < 0 {
		return boxes, caption
	}
	c := p.cams[i]
	bp := c.boxes.Load()
	if bp == nil {
		return boxes, caption
	}
	for _, b := range *bp {
		if k := slices.IndexFunc(c.regions, func(r *placeRegion) bool { return r.name == b.Label }); k >= 0 {
			r := c.regions[k]
			r.mu.Lock()
			if r.drawn != "" {
				b.Label = r.drawn
			}
			r.mu.Unlock()
		}
		boxes = append(boxes, b)
	}
	return boxes, caption
}

// webServer is the running http: section. It lives across reloads that
// leave http: as it is; one that changes it replaces the server.
type webServer struct {
	a        *agent
	cfg      HTTPConfig
	log      *slog.Logger
	auth     *web.Auth
	authFile string
	start    time.Time
	ctx      context.Context // ends when the server stops
	cancel   context.CancelFunc
	served   chan struct{} // closed when the listen-and-serve goroutine returned

	mu    sync.Mutex
	srv   *web.Server // nil while the listen is retried
	views map[string]*liveView
	rates webRates

	editMu sync.Mutex // one region edit at a time
}

// webRates are the rates /api/status and /metrics show, over at least a
// second.
type webRates struct {
	classified rateMeter
	frames     map[string]*rateMeter
	// scraped is the stats at the last /metrics scrape that computed
	// rates, and these the rates.
	scraped                   AgentStats
	scrapedFPS, scrapedPerSec float64
}

// rateMeter is a counter's rate over the last interval of at least a
// second that ended at a reading.
type rateMeter struct {
	t    time.Time
	n    int64
	rate float64
}

func (m *rateMeter) update(now time.Time, n int64) float64 {
	if dt := now.Sub(m.t); dt >= time.Second {
		m.rate = float64(n-m.n) / dt.Seconds()
		m.t, m.n = now, n
	}
	return m.rate
}

// authPath is the credential file: http.auth_file, or state_dir/http-auth.
func authPath(cfg *Config) string {
	if cfg.HTTP.AuthFile != "" {
		return cfg.HTTP.AuthFile
	}
	return filepath.Join(cfg.StateDir, "http-auth")
}

// startWeb starts the server http: asks for (nil, nil when listen is
// ""). A credential file that cannot be read or made is an error naming
// its key; an address that cannot be listened on (taken) is logged with
// its key and retried with back-off while the agent runs.
func startWeb(a *agent, cfg *Config) (*webServer, error) {
	h := cfg.HTTP
	if h.Listen == "" {
		return nil, nil
	}
	var auth *web.Auth
	var err error
	path := authPath(cfg)
	if h.AuthFile == "" {
		var created bool
		auth, created, err = web.EnsureAuth(path)
		if err == nil && created {
			a.log.Info("http: made a token for the page's writes (and reads, off loopback)", "auth_file", path)
		}
	} else {
		auth, err = web.LoadAuth(path)
	}
	if err != nil {
		return nil, fmt.Errorf("http.auth_file: %w", err)
	}
	s := &webServer{a: a, cfg: h, log: a.log, auth: auth, authFile: path, start: time.Now(),
		served: make(chan struct{}), views: map[string]*liveView{}}
	s.rates.classified.t = a.start
	s.ctx, s.cancel = context.WithCancel(context.Background())
	go s.listen()
	return s, nil
}

// listenBackoff paces the retries of a listen that failed.
var listenBackoff = backoff.Policy{Base: time.Second, Max: time.Minute}

func (s *webServer) listen() {
	defer close(s.served)
	limits := web.Limits{MaxConns: s.cfg.MaxConnections, MaxStreams: s.cfg.MaxStreams, StreamFPS: s.cfg.StreamFPS}
	for attempt := 0; ; attempt++ {
		srv, err := web.Listen(s.cfg.Listen, limits)
		if err == nil {
			s.mu.Lock()
			if s.ctx.Err() != nil {
				s.mu.Unlock()
				srv.Shutdown(context.Background()) //nolint:errcheck // never served
				return
			}
			s.srv = srv
			s.mu.Unlock()
			s.log.Info("http: status page", "url", "http://"+srv.Addr()+"/", "http.listen", s.cfg.Listen,
				"auth_file", s.authFile)
			if err := srv.Serve(web.Protect(s.routes(), s.auth, !srv.Loopback())); err != nil {
				s.log.Error("http: the server stopped", "http.listen", s.cfg.Listen, "err", err)
			}
			return
		}
		wait := listenBackoff.Delay(attempt)
		s.log.Warn("http: cannot listen; retrying (http.listen)", "http.listen", s.cfg.Listen, "err", err,
			"retry_in", wait.Round(time.Millisecond))
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
			return
		}
	}
}

// addr is the address listened on, "" while the listen is retried.
func (s *webServer) addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return ""
	}
	return s.srv.Addr()
}

// stop ends the streams at once and waits (bounded) for the other
// responses; a region edit waiting for its reload gives up.
func (s *webServer) stop() {
	if s == nil {
		return
	}
	s.cancel()
	s.mu.Lock()
	srv := s.srv
	views := s.views
	s.views = map[string]*liveView{}
	s.mu.Unlock()
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := srv.Shutdown(ctx); err != nil {
			s.log.Warn("http: shutdown", "err", err)
		}
		cancel()
	}
	<-s.served
	for _, v := range views {
		<-v.done
		v.hub.Close()
	}
}

// acquire is camera's live view, started if none runs, with one more
// user; release gives the use back. False: no such camera.
func (s *webServer) acquire(camera string) (*liveView, bool) {
	tap := s.a.tapOf(camera)
	if tap == nil {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
		return nil, false
	}
	v := s.views[camera]
	if v == nil {
		tap.interval.Store(int64(float64(time.Second) / s.cfg.StreamFPS))
		v = &liveView{s: s, name: camera, tap: tap, poke: make(chan struct{}, 1), done: make(chan struct{}),
			fresh: make(chan struct{}),
			hub: web.NewHub(web.Limits{MaxConns: s.cfg.MaxConnections, MaxStreams: s.cfg.MaxStreams,
				StreamFPS: s.cfg.StreamFPS})}
		s.views[camera] = v
		go v.run(s.ctx)
	}
	v.users.Add(1)
	return v, true
}

func (s *webServer) release(v *liveView) {
	s.mu.Lock()
	v.users.Add(-1)
	s.mu.Unlock()
}

// retire removes v if it has no users; it reports whether it did.
func (s *webServer) retire(v *liveView) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v.users.Load() > 0 {
		return false
	}
	if s.views[v.name] == v {
		delete(s.views, v.name)
	}
	v.hub.Close()
	return true
}

// tapOf is the frame tap of the camera named name; nil: none.
func (a *agent) tapOf(name string) *frameTap {
	if a.places == nil {
		if name == LegacyCamera {
			return a.tap
		}
		return nil
	}
	p := a.places
	p.mu.Lock()
	defer p.mu.Unlock()
	if !slices.ContainsFunc(p.cams, func(c *placeCamera) bool { return c.name == name }) {
		return nil
	}
	return p.taps[name]
}

func (s *webServer) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /", web.Page())
	mux.HandleFunc("GET /api/status", func(w http.ResponseWriter, _ *http.Request) {
		web.WriteJSON(w, http.StatusOK, s.status(time.Now()))
	})
	mux.HandleFunc("GET /cameras/{camera}/snapshot.jpg", s.snapshot)
	mux.HandleFunc("GET /cameras/{camera}/stream.mjpg", s.stream)
	mux.HandleFunc("GET /cameras/{camera}/regions/{region}/snapshot.jpg", s.regionSnapshot)
	mux.HandleFunc("PUT /api/cameras/{camera}/regions/{region}", s.putRegion)
	mux.HandleFunc("DELETE /api/cameras/{camera}/regions/{region}", s.deleteRegion)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		reasons := s.a.unhealthy(time.Now(), s.start)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if len(reasons) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, strings.Join(reasons, "\n"))
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /metrics", web.Metrics("coatnet", func() any { return s.metrics(time.Now()) }))
	return mux
}

// metrics are the stats at now, with the frame and classification rates
// since the scrape before (at least a second before; since the start for
// the first), which only the stats ticker computes otherwise.
func (s *webServer) metrics(now time.Time) AgentStats {
	st := s.a.snapshot(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &s.rates
	if r.scraped.Time.IsZero() {
		r.scraped.Time = s.a.start
	}
	if now.Sub(r.scraped.Time) >= time.Second {
		r.scrapedFPS, r.scrapedPerSec = rates(r.scraped, st)
		r.scraped = st
	}
	st.FramesPerSecond, st.ClassifiedPerSecond = r.scrapedFPS, r.scrapedPerSec
	return st
}

func writeJPEG(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b) //nolint:errcheck // the client went away
}

func (s *webServer) snapshot(w http.ResponseWriter, r *http.Request) {
	v, ok := s.acquire(r.PathValue("camera"))
	if !ok {
		web.WriteError(w, http.StatusNotFound, "no such camera")
		return
	}
	b := v.picture(r.Context())
	s.release(v)
	if b == nil {
		web.WriteError(w, http.StatusServiceUnavailable, "no frame from the camera yet")
		return
	}
	writeJPEG(w, b)
}

func (s *webServer) stream(w http.ResponseWriter, r *http.Request) {
	v, ok := s.acquire(r.PathValue("camera"))
	if !ok {
		web.WriteError(w, http.StatusNotFound, "no such camera")
		return
	}
	defer s.release(v)
	select {
	case v.poke <- struct{}{}:
	default:
	}
	v.hub.ServeHTTP(w, r)
}

func (s *webServer) regionSnapshot(w http.ResponseWriter, r *http.Request) {
	p := s.a.places
	if p == nil || p.ring == nil {
		web.WriteError(w, http.StatusNotFound, "no regions: the configuration has no cameras")
		return
	}
	_, b, ok := p.ring.Newest(r.PathValue("camera"), r.PathValue("region"))
	if !ok {
		web.WriteError(w, http.StatusNotFound, "no snapshot of this region yet")
		return
	}
	writeJPEG(w, b)
}

// Status is /api/status: what the page shows, one document.
type Status struct {
	Device   string      `json:"device"`
	Version  string      `json:"version"`
	UptimeS  float64     `json:"uptime_s"`
	CSRF     string      `json:"csrf"`
	Editable bool        `json:"editable"` // the regions can be edited (a file with cameras:)
	Model    StatusModel `json:"model"`
	MQTT     StatusMQTT  `json:"mqtt"`
	// TemperatureC is null where /sys has no sensor.
	TemperatureC   *float64 `json:"temperature_c"`
	Throttled      bool     `json:"throttled"`
	Paused         bool     `json:"paused"`
	ClassifyPerS   float64  `json:"classify_per_s"`
	InferenceP50Ms float64  `json:"inference_p50_ms"`
	InferenceP99Ms float64  `json:"inference_p99_ms"`
	// Models are the model files the region editor offers.
	Models  []string       `json:"models"`
	Cameras []StatusCamera `json:"cameras"`
}

// StatusModel is the model in force (model.path's, or a set/model's).
type StatusModel struct {
	Name    string `json:"name"`
	SHA256  string `json:"sha256"`
	Kernels string `json:"kernels"` // the int8 GEMM's implementation: the kernel level in use
}

// StatusMQTT is the MQTT session.
type StatusMQTT struct {
	Broker    string `json:"broker"`
	Connected bool   `json:"connected"`
}

// StatusCamera is one camera.
type StatusCamera struct {
	Name      string  `json:"name"`
	Width     int     `json:"width"` // of the newest frame; 0 before one
	Height    int     `json:"height"`
	Available bool    `json:"available"`
	Motion    bool    `json:"motion"`
	FPS       float64 `json:"fps"` // frames read a second
	Stream    string  `json:"stream"`
	Snapshot  string  `json:"snapshot"`
	// Regions are in name order; none for a file without cameras:, whose
	// camera shows its last labels instead.
	Regions []StatusRegion `json:"regions"`
	Labels  []Label        `json:"labels,omitempty"`
}

// StatusRegion is one region and its confirmed state.
type StatusRegion struct {
	Name string `json:"name"`
	// Rect is x0, y0, x1, y1 as fractions of the frame; null for a
	// rect_px region before a frame gave the size.
	Rect     *[4]float64  `json:"rect"`
	Model    string       `json:"model"`
	State    *StatusState `json:"state"` // null before the first confirmed state
	Snapshot string       `json:"snapshot"`
}

// StatusState is a region's confirmed state, as its state topic has it.
type StatusState struct {
	Label string    `json:"label"`
	Score float64   `json:"score"`
	Since time.Time `json:"since"`
}

// status gathers Status at now.
func (s *webServer) status(now time.Time) Status {
	a := s.a
	settings, _ := a.control.Get()
	snap := a.stats.Snapshot()
	m := a.modelState()
	a.mu.Lock()
	cfg := a.cfg
	var temp *float64
	throttled := false
	if th := a.thermal; th != nil {
		if th.TempC != 0 {
			t := th.TempC
			temp = &t
		}
		throttled = th.Throttled != nil && *th.Throttled
	}
	a.mu.Unlock()
	st := Status{Device: cfg.Device, Version: a.opts.Version, UptimeS: now.Sub(a.start).Seconds(), CSRF: web.CSRFToken(),
		Editable:     a.places != nil && a.opts.ConfigPath != "" && writableFile(a.opts.ConfigPath) == nil,
		Model:        StatusModel{Name: m.Model, SHA256: m.ModelSHA256, Kernels: kernels.Implementation()[kernels.NameGemmRequant]},
		MQTT:         StatusMQTT{Broker: redact.URL(a.pub.cfg.MQTT.Broker), Connected: a.pub.client.IsConnectionOpen()},
		TemperatureC: temp, Throttled: throttled, Paused: settings.Paused,
		InferenceP50Ms: snap.InferenceP50Ms, InferenceP99Ms: snap.InferenceP99Ms, Models: modelChoices(&cfg)}
	cams := a.statusCameras()
	st.Cameras = make([]StatusCamera, 0, len(cams)) // [], not null, when none opened
	s.mu.Lock()
	st.ClassifyPerS = s.rates.classified.update(now, snap.Classified)
	if s.rates.frames == nil {
		s.rates.frames = map[string]*rateMeter{}
	}
	for i := range cams {
		c := &cams[i].StatusCamera
		m := s.rates.frames[c.Name]
		if m == nil {
			m = &rateMeter{t: a.start}
			s.rates.frames[c.Name] = m
		}
		c.FPS = m.update(now, cams[i].read)
		st.Cameras = append(st.Cameras, *c)
	}
	s.mu.Unlock()
	return st
}

// cameraView is a StatusCamera with what status computes its rate from.
type cameraView struct {
	StatusCamera
	read  int64
	tap   *frameTap
	stall time.Duration // camera.stall_timeout
}

// statusCameras are the cameras as the page shows them (rates aside).
func (a *agent) statusCameras() []cameraView {
	urls := func(c *StatusCamera) {
		c.Stream, c.Snapshot = "/cameras/"+c.Name+"/stream.mjpg", "/cameras/"+c.Name+"/snapshot.jpg"
	}
	if a.places == nil {
		a.mu.Lock()
		cam, stall := a.cam, a.cfg.Camera.StallTimeout
		a.mu.Unlock()
		c := cameraView{StatusCamera: StatusCamera{Name: LegacyCamera, Available: cam.src.Available(),
			Regions: []StatusRegion{}, Labels: a.seen.labels()}, read: a.counters().FramesRead, tap: a.tap, stall: stall}
		c.Width, c.Height = a.tap.frameSize()
		urls(&c.StatusCamera)
		return []cameraView{c}
	}
	p := a.places
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]cameraView, 0, len(p.cams))
	for _, pc := range p.cams {
		c := cameraView{StatusCamera: StatusCamera{Name: pc.name, Available: pc.feed.src.Available(),
			Motion: pc.motion.Load(), Regions: make([]StatusRegion, 0, len(pc.regions))},
			read: pc.feed.counters().FramesRead, tap: pc.tap, stall: pc.plan.Camera.StallTimeout}
		if pc.tap != nil {
			c.Width, c.Height = pc.tap.frameSize()
		}
		urls(&c.StatusCamera)
		for _, r := range pc.regions {
			sr := StatusRegion{Name: r.name, Rect: rectFractions(&r.plan, c.Width, c.Height), Model: r.plan.Model,
				Snapshot: "/cameras/" + pc.name + "/regions/" + r.name + "/snapshot.jpg"}
			r.mu.Lock()
			if r.state != "" {
				sr.State = &StatusState{Label: r.state, Score: r.stateScore, Since: r.stateSince}
			}
			r.mu.Unlock()
			c.Regions = append(c.Regions, sr)
		}
		out = append(out, c)
	}
	return out
}

// rectFractions is r's rectangle as x0, y0, x1, y1 fractions of a w x h
// frame; nil where that needs the size and there is none yet.
func rectFractions(r *RegionPlan, w, h int) *[4]float64 {
	switch {
	case len(r.Rect) == 4:
		f := r.Rect
		return &[4]float64{f[0], f[1], f[0] + f[2], f[1] + f[3]}
	case len(r.RectPx) == 4:
		if w <= 0 || h <= 0 {
			return nil
		}
		p := r.RectPx
		fw, fh := float64(w), float64(h)
		return &[4]float64{float64(p[0]) / fw, float64(p[1]) / fh, float64(p[0]+p[2]) / fw, float64(p[1]+p[3]) / fh}
	}
	return &[4]float64{0, 0, 1, 1}
}

// maxModelChoices bounds the region editor's list of model files.
const maxModelChoices = 64

// modelChoices are the model files the region editor offers: those the
// configuration names, and the other .coatnet files of their folders
// and of state_dir/models, sorted.
func modelChoices(cfg *Config) []string {
	models := cfg.Models()
	dirs := []string{filepath.Join(cfg.StateDir, "models")}
	for _, m := range models {
		if m != Demo {
			dirs = append(dirs, filepath.Dir(m))
		}
	}
	slices.Sort(dirs)
	for _, d := range slices.Compact(dirs) {
		entries, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".coatnet") && e.Type().IsRegular() && len(models) < maxModelChoices {
				models = append(models, filepath.Join(d, e.Name()))
			}
		}
	}
	slices.Sort(models)
	return slices.Compact(models)
}

// unhealthy lists why the agent is not doing its job at now, none when it
// is: no model loaded, a camera that is not open or gave no frame for
// longer than it may (its stall_timeout, or three frames at the rate in
// force), the MQTT session down. since is when the server started, the
// reference before a camera's first frame. A pause is not a fault.
func (a *agent) unhealthy(now, since time.Time) []string {
	var reasons []string
	if a.places != nil {
		a.places.mu.Lock()
		if len(a.places.engines) == 0 {
			reasons = append(reasons, "model not loaded")
		}
		a.places.mu.Unlock()
	} else {
		a.mu.Lock()
		if a.inf == nil {
			reasons = append(reasons, "model not loaded")
		}
		a.mu.Unlock()
	}
	settings, _ := a.control.Get()
	for _, c := range a.statusCameras() {
		if !c.Available {
			reasons = append(reasons, fmt.Sprintf("camera %s: not open (retrying)", c.Name))
			continue
		}
		if settings.Paused || c.tap == nil {
			continue
		}
		limit := c.stall
		if r := settings.Rate(); r > 0 {
			limit = max(limit, time.Duration(3*float64(time.Second)/r))
		}
		last := since
		if ns := c.tap.last.Load(); ns != 0 {
			last = time.Unix(0, ns)
		}
		if d := now.Sub(last); d > limit {
			reasons = append(reasons, fmt.Sprintf("camera %s: no frame for %s", c.Name, d.Round(time.Second)))
		}
	}
	if !a.pub.client.IsConnectionOpen() {
		msg := "MQTT not connected to " + redact.URL(a.pub.cfg.MQTT.Broker)
		if err := a.pub.LastConnectError(); err != nil {
			msg += ": " + err.Error()
		}
		reasons = append(reasons, msg)
	}
	return reasons
}

// PageURL is the status page's address for others (Home Assistant's link
// to the device): http.public_url; else, for a listen address others can
// reach, http://HOST:PORT/ with the address's host, or this machine's
// host name for a wildcard one (0.0.0.0, [::], none); "" for no server
// or a loopback one, which only this machine reaches.
func PageURL(h *HTTPConfig) string {
	if h.PublicURL != "" {
		return h.PublicURL
	}
	if h.Listen == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(h.Listen)
	if err != nil {
		return ""
	}
	if host == "localhost" {
		return ""
	}
	ip := net.ParseIP(host)
	switch {
	case ip != nil && ip.IsLoopback():
		return ""
	case host == "" || ip != nil && ip.IsUnspecified():
		name, err := os.Hostname()
		if err != nil || name == "" {
			return ""
		}
		host = name
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

// Region edits.

// maxRegionBody bounds a region edit's JSON body.
const maxRegionBody = 4 << 10

// regionBody is the body of PUT /api/cameras/{camera}/regions/{region}.
type regionBody struct {
	Rect  []float64 `json:"rect"` // x0, y0, x1, y1, fractions of the frame
	Model string    `json:"model"`
}

// editWait bounds how long an edit waits for its reload.
const editWait = 10 * time.Second

func (s *webServer) putRegion(w http.ResponseWriter, r *http.Request) {
	var e regionBody
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRegionBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		web.WriteError(w, http.StatusBadRequest, "body: "+err.Error())
		return
	}
	if len(e.Rect) != 4 {
		web.WriteError(w, http.StatusBadRequest, fmt.Sprintf("rect: %d numbers, want [x0, y0, x1, y1] as fractions "+
			"of the frame", len(e.Rect)))
		return
	}
	corners := [4]float64(e.Rect)
	camera, region := r.PathValue("camera"), r.PathValue("region")
	if e.Model != "" {
		s.a.mu.Lock()
		cfg := s.a.cfg
		s.a.mu.Unlock()
		if !slices.Contains(modelChoices(&cfg), cleanModelPath(e.Model)) {
			web.WriteError(w, http.StatusBadRequest, "model: not one of the model files /api/status lists")
			return
		}
	}
	s.edit(w, r, camera, region, func(src []byte) ([]byte, error) {
		return SetRegion(src, camera, region, corners, e.Model)
	})
}

func (s *webServer) deleteRegion(w http.ResponseWriter, r *http.Request) {
	camera, region := r.PathValue("camera"), r.PathValue("region")
	s.edit(w, r, camera, region, func(src []byte) ([]byte, error) { return DeleteRegion(src, camera, region) })
}

// edit changes the configuration file with change, checks the result with
// the agent's own parser (and the camera's frame size), writes it
// atomically and reloads, answering once the reload applied it; a reload
// that refuses it puts the file back and answers why.
func (s *webServer) edit(w http.ResponseWriter, r *http.Request, camera, region string,
	change func([]byte) ([]byte, error)) {
	a := s.a
	path := a.opts.ConfigPath
	if path == "" || a.places == nil {
		web.WriteError(w, http.StatusConflict,
			"regions are edited in a configuration file with cameras:; this agent runs without one")
		return
	}
	if err := writableFile(path); err != nil {
		web.WriteError(w, http.StatusConflict, "the agent cannot write its configuration file: "+err.Error())
		return
	}
	s.editMu.Lock()
	defer s.editMu.Unlock()
	src, err := readConfig(path)
	if err != nil {
		web.WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	old, err := ParseConfig(src)
	if err != nil {
		web.WriteError(w, http.StatusConflict, "the file does not load as it is; fix it first: "+err.Error())
		return
	}
	if len(old.Cameras) == 0 {
		web.WriteError(w, http.StatusConflict, "the file has no cameras: (a reload applies it at the next restart)")
		return
	}
	if _, ok := old.Cameras[camera]; !ok {
		web.WriteError(w, http.StatusNotFound, "no camera "+strconv.Quote(camera)+" in "+path)
		return
	}
	if _, ok := old.Cameras[camera].Regions[region]; !ok && r.Method == http.MethodDelete {
		web.WriteError(w, http.StatusNotFound, "no region "+strconv.Quote(region)+" in camera "+strconv.Quote(camera))
		return
	}
	edited, err := change(src)
	if err != nil {
		web.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	cfg, err := ParseConfig(edited)
	if err == nil {
		err = a.fits(&cfg, camera)
	}
	if err != nil {
		web.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := WriteConfigFile(path, edited); err != nil {
		web.WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.log.Info("http: configuration edited", "file", path, "camera", camera, "region", region, "method", r.Method)
	err = a.reloadNow(r.Context(), s.ctx)
	switch {
	case errors.Is(err, errReloadPending):
		web.WriteError(w, http.StatusGatewayTimeout, err.Error())
	case err != nil:
		if rerr := WriteConfigFile(path, src); rerr != nil {
			err = fmt.Errorf("%w; putting the file back failed too: %w", err, rerr)
		} else {
			err = fmt.Errorf("%w (the file is as it was)", err)
		}
		web.WriteError(w, http.StatusBadRequest, err.Error())
	default:
		web.WriteJSON(w, http.StatusOK, map[string]string{"saved": path})
	}
}

// writableFile says why the region editor could not replace the file at
// path (nil: it can): the file and its folder, where the new file is
// made, must be writable to the agent. Under the systemd unit
// /etc/coatnet is not, unless a drop-in allows it (README).
func writableFile(path string) error {
	const write, search = 2, 1 // access(2)'s W_OK, X_OK
	if err := syscall.Access(path, write); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := syscall.Access(dir, write|search); err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	return nil
}

// fits checks camera's regions of cfg against the camera's frame size,
// when a frame gave it: a region the frame cannot hold would stop the
// camera's classification until it fits.
func (a *agent) fits(cfg *Config, camera string) error {
	tap := a.tapOf(camera)
	if tap == nil {
		return nil
	}
	w, h := tap.frameSize()
	if w == 0 {
		return nil
	}
	for _, p := range cfg.Plan() {
		if p.Name == camera {
			if _, err := p.Resolve(w, h); err != nil {
				return fmt.Errorf("config: %w", err)
			}
		}
	}
	return nil
}

// errReloadPending: the reload an edit asked for did not answer in time
// (it may still apply).
var errReloadPending = errors.New("the reload has not finished in time; see the agent's log")

// reloadNow asks the agent's loop for a reload, as SIGHUP does, and
// returns once it applied (nil) or with why it did not; it gives up when
// ctx or stop ends or after editWait.
func (a *agent) reloadNow(ctx, stop context.Context) error {
	reply := make(chan error, 1)
	t := time.NewTimer(editWait)
	defer t.Stop()
	select {
	case a.edits <- reply:
	case <-ctx.Done():
		return ctx.Err()
	case <-stop.Done():
		return errors.New("the agent is stopping")
	case <-t.C:
		return errReloadPending
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-stop.Done():
		return errors.New("the agent is stopping")
	case <-t.C:
		return errReloadPending
	}
}
