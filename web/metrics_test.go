package web

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The fixture is shaped like the agent's stats message (agent.AgentStats,
// CameraStats, RegionStats, ThermalStats, SnapshotStats), with the tags the
// agent gives its counters.
type fixtureCounters struct {
	FramesRead    int64 `json:"frames_read" metric:"counter"`
	FramesDropped int64 `json:"frames_dropped" metric:"counter" help:"frames replaced by a newer one before classification"`
	CameraStalls  int64 `json:"camera_stalls" metric:"counter"`
}

type FixtureSnapshot struct {
	Classified     int64   `json:"classified" metric:"counter"`
	LastError      string  `json:"last_error,omitempty"`
	InferenceP50Ms float64 `json:"inference_p50_ms"`
}

type fixtureRegion struct {
	State          string  `json:"state,omitempty"`
	Classified     int64   `json:"classified" metric:"counter"`
	InferenceP99Ms float64 `json:"inference_p99_ms"`
	Collected      uint32  `json:"collected" metric:"counter"`
}

type fixtureCamera struct {
	fixtureCounters
	Stalled   bool                     `json:"camera_stalled"`
	Motion    bool                     `json:"motion"`
	Regions   map[string]fixtureRegion `json:"regions"`
	Throttled *bool                    `json:"throttled,omitempty"`
}

type fixtureThermal struct {
	TempC        float64 `json:"cpu_temp_c,omitempty"`
	UnderVoltage *bool   `json:"under_voltage,omitempty"`
	Throttled    *bool   `json:"throttled,omitempty"`
	ThrottleWord string  `json:"get_throttled,omitempty"`
	Limited      bool    `json:"rate_limited"`
}

type fixtureSnapshots struct {
	Saved int64 `json:"snapshots_saved" metric:"counter"`
	Files int   `json:"snapshots_kept"`
}

type fixtureStats struct {
	Time          time.Time `json:"time"`
	Version       string    `json:"version,omitempty"`
	UptimeSeconds float64   `json:"uptime_s" help:"seconds since the agent started"`
	FixtureSnapshot
	fixtureCounters
	FramesPerSecond float64                  `json:"frames_per_s"`
	CameraStalled   bool                     `json:"camera_stalled"`
	Paused          bool                     `json:"paused"`
	Reconnects      int64                    `json:"mqtt_reconnects" metric:"counter"`
	Interval        time.Duration            `json:"interval"`
	Thermal         *fixtureThermal          `json:"thermal,omitempty"`
	Cameras         map[string]fixtureCamera `json:"cameras,omitempty"`
	Snapshots       *fixtureSnapshots        `json:"snapshots,omitempty"`
	Ignored         int64                    `json:"-"`
	Untagged        int64
	hidden          int64 //nolint:unused // unexported: left out
}

func fixture() fixtureStats {
	yes := true
	return fixtureStats{
		Time: time.Now(), Version: "1.2.3", UptimeSeconds: 12.5,
		FixtureSnapshot: FixtureSnapshot{Classified: 40, LastError: "x", InferenceP50Ms: 8.25},
		fixtureCounters: fixtureCounters{FramesRead: 100, FramesDropped: 7, CameraStalls: 1},
		FramesPerSecond: 9.5, CameraStalled: true, Reconnects: 2, Interval: 1500 * time.Millisecond,
		Thermal: &fixtureThermal{TempC: 51.5, UnderVoltage: &yes, Limited: false},
		Cameras: map[string]fixtureCamera{
			"porch": {fixtureCounters: fixtureCounters{FramesRead: 60, FramesDropped: 4}, Motion: true,
				Regions: map[string]fixtureRegion{
					"door": {State: "Coat", Classified: 20, InferenceP99Ms: 12.5, Collected: 3},
					"step": {Classified: 5, InferenceP99Ms: 11},
				}},
			"yard": {fixtureCounters: fixtureCounters{FramesRead: 40, FramesDropped: 3, CameraStalls: 1}, Stalled: true,
				Regions: map[string]fixtureRegion{"gate": {Classified: 15}}},
		},
		Ignored: 99, Untagged: 98, hidden: 97,
	}
}

// scrape GETs the metrics of stats from a real server and parses them with
// Prometheus's own text parser.
func scrape(t *testing.T, stats func() any) map[string]*dto.MetricFamily {
	t.Helper()
	_, url := serve(t, Limits{}, Metrics("coatnet", stats))
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s\n%s", resp.Status, body)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parsing the metrics: %v\n%s", err, body)
	}
	return fams
}

type sample struct {
	typ    dto.MetricType
	labels string // name=value,... in the order of the family's labels
	value  float64
}

func samples(fams map[string]*dto.MetricFamily, name string) map[string]sample {
	f := fams[name]
	if f == nil {
		return nil
	}
	out := map[string]sample{}
	for _, m := range f.GetMetric() {
		var ls []string
		for _, l := range m.GetLabel() {
			ls = append(ls, l.GetName()+"="+l.GetValue())
		}
		s := sample{typ: f.GetType(), labels: strings.Join(ls, ",")}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			s.value = m.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			s.value = m.GetGauge().GetValue()
		}
		out[s.labels] = s
	}
	return out
}

func TestMetrics(t *testing.T) {
	st := fixture()
	fams := scrape(t, func() any { return &st })
	C, G := dto.MetricType_COUNTER, dto.MetricType_GAUGE
	for _, c := range []struct {
		name, labels string
		typ          dto.MetricType
		value        float64
	}{
		{"coatnet_uptime_s", "", G, 12.5},
		{"coatnet_classified_total", "", C, 40},
		{"coatnet_inference_p50_ms", "", G, 8.25},
		{"coatnet_frames_read_total", "", C, 100},
		{"coatnet_frames_dropped_total", "", C, 7},
		{"coatnet_frames_per_s", "", G, 9.5},
		{"coatnet_camera_stalled", "", G, 1},
		{"coatnet_paused", "", G, 0},
		{"coatnet_mqtt_reconnects_total", "", C, 2},
		{"coatnet_interval_seconds", "", G, 1.5},
		{"coatnet_thermal_cpu_temp_c", "", G, 51.5},
		{"coatnet_thermal_under_voltage", "", G, 1},
		{"coatnet_thermal_rate_limited", "", G, 0},
		{"coatnet_camera_frames_read_total", "camera=porch", C, 60},
		{"coatnet_camera_frames_read_total", "camera=yard", C, 40},
		{"coatnet_camera_camera_stalls_total", "camera=yard", C, 1},
		{"coatnet_camera_camera_stalled", "camera=yard", G, 1},
		{"coatnet_camera_motion", "camera=porch", G, 1},
		{"coatnet_camera_motion", "camera=yard", G, 0},
		{"coatnet_region_classified_total", "camera=porch,region=door", C, 20},
		{"coatnet_region_classified_total", "camera=porch,region=step", C, 5},
		{"coatnet_region_classified_total", "camera=yard,region=gate", C, 15},
		{"coatnet_region_inference_p99_ms", "camera=porch,region=door", G, 12.5},
		{"coatnet_region_collected_total", "camera=porch,region=door", C, 3},
	} {
		s, ok := samples(fams, c.name)[c.labels]
		if !ok {
			t.Errorf("%s{%s} missing", c.name, c.labels)
			continue
		}
		if s.typ != c.typ || s.value != c.value {
			t.Errorf("%s{%s} = %v %v, want %v %v", c.name, c.labels, s.typ, s.value, c.typ, c.value)
		}
	}
	if n := len(samples(fams, "coatnet_region_classified_total")); n != 3 {
		t.Errorf("%d region samples, want 3 (one per region)", n)
	}
	if h := fams["coatnet_uptime_s"].GetHelp(); h != "seconds since the agent started" {
		t.Errorf("help from the tag: %q", h)
	}
	if h := fams["coatnet_frames_read_total"].GetHelp(); h != "frames_read" {
		t.Errorf("help without a tag: %q, want the name", h)
	}
	// Strings, times, json:"-", untagged and unexported fields, nil pointers.
	for _, name := range []string{"coatnet_time", "coatnet_version", "coatnet_last_error", "coatnet_region_state",
		"coatnet_thermal_get_throttled", "coatnet_ignored", "coatnet_untagged", "coatnet_hidden",
		"coatnet_thermal_throttled", "coatnet_camera_throttled", "coatnet_snapshots_snapshots_saved_total"} {
		if fams[name] != nil {
			t.Errorf("%s: a field that is no number, or nil, became a metric", name)
		}
	}
	n := 0
	for name := range fams {
		if strings.HasPrefix(name, "coatnet_") {
			n++
		}
	}
	if n != 22 {
		t.Errorf("%d coatnet_ metrics, want 22", n)
	}
	for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_cpu_seconds_total"} {
		if fams[name] == nil {
			t.Errorf("%s missing: the Go and process collectors are registered", name)
		}
	}

	// The metrics follow the value at each scrape: a camera that went away is gone.
	delete(st.Cameras, "yard")
	st.Snapshots = &fixtureSnapshots{Saved: 4, Files: 2}
	fams = scrape(t, func() any { return st })
	if _, ok := samples(fams, "coatnet_camera_frames_read_total")["camera=yard"]; ok {
		t.Error("a camera that went away is still in the metrics")
	}
	if s := samples(fams, "coatnet_snapshots_snapshots_saved_total")[""]; s.value != 4 || s.typ != C {
		t.Errorf("snapshots_saved after the pointer was set: %+v", s)
	}
}

// TestMetricsOdd: values that are no stats struct, or that Prometheus
// cannot take, give no metric and no panic; the others are still served.
func TestMetricsOdd(t *testing.T) {
	for _, v := range []any{nil, 42, "text", (*fixtureStats)(nil), []int{1},
		struct {
			Cameras map[string]fixtureCamera `json:"cameras"`
			Ok      int                      `json:"ok"`
		}{Cameras: map[string]fixtureCamera{"bad\xff": {Motion: true}}, Ok: 1},
		struct {
			Name float64 `json:"we-ird.name"`
		}{Name: 3},
	} {
		fams := scrape(t, func() any { return v })
		if fams["go_goroutines"] == nil {
			t.Errorf("%T: the Go metrics are missing", v)
		}
		if _, ok := v.(struct {
			Cameras map[string]fixtureCamera `json:"cameras"`
			Ok      int                      `json:"ok"`
		}); ok && samples(fams, "coatnet_ok")[""].value != 1 {
			t.Errorf("the metric beside an invalid label value is missing")
		}
	}
	fams := scrape(t, func() any {
		return struct {
			Name float64 `json:"we-ird.name"`
		}{Name: 3}
	})
	if samples(fams, "coatnet_we_ird_name")[""].value != 3 {
		t.Errorf("a json name with characters a metric name cannot have is not mapped to _")
	}
}

// TestMetricsOpenMetrics: a scraper asking for OpenMetrics gets it.
func TestMetricsOpenMetrics(t *testing.T) {
	_, url := serve(t, Limits{}, Metrics("coatnet", func() any { return fixture() }))
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/openmetrics-text") {
		t.Fatalf("Content-Type %q", ct)
	}
	if !bytes.Contains(body, []byte(`coatnet_region_classified_total{camera="porch",region="door"} 20`)) || !bytes.HasSuffix(body, []byte("# EOF\n")) {
		t.Errorf("OpenMetrics body:\n%s", body)
	}
}

type loop struct {
	N    int   `json:"n"`
	Next *loop `json:"next"`
}

// TestMetricsCycle: a value that refers to itself gives a bounded number of
// metrics instead of recursing for ever.
func TestMetricsCycle(t *testing.T) {
	l := &loop{N: 1}
	l.Next = l
	fams := scrape(t, func() any { return l })
	n := 0
	for name := range fams {
		if strings.HasPrefix(name, "coatnet_") {
			n++
		}
	}
	if n == 0 || n > maxDepth+1 {
		t.Errorf("%d metrics from a self-referring value", n)
	}
}

// TestMetricsInFlight: scrapes beyond four at once get 503 rather than
// piling up on the stats (which the agent gathers under its locks).
func TestMetricsInFlight(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	_, url := serve(t, Limits{}, Metrics("coatnet", func() any {
		entered <- struct{}{}
		<-release
		return fixture()
	}))
	codes := make(chan int, 4)
	for range 4 {
		go func() {
			resp, err := http.Get(url)
			if err != nil {
				codes <- 0
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	for range 4 {
		<-entered
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	close(release)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("fifth scrape at once: %s, want 503", resp.Status)
	}
	for range 4 {
		if c := <-codes; c != http.StatusOK {
			t.Errorf("a scrape of the first four: %d", c)
		}
	}
}
