package web

import (
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics serves, in the Prometheus text and OpenMetrics formats, the Go
// runtime's and the process's metrics and one metric per number of the
// value stats returns at each scrape, so that the stats topic and /metrics
// cannot disagree. The value is walked by reflection:
//
//   - a field's name is its json tag's (fields without one are left out,
//     but embedded structs are flattened as encoding/json does); nested
//     structs and pointers to them add their name and "_" before their
//     fields';
//   - integers, floats and bools (0 or 1) are values; a time.Duration is in
//     seconds (its name gets "_seconds"); strings, times, slices, nil
//     pointers and other maps are left out;
//   - the fields "cameras" and "regions", maps of string to struct, become
//     the labels camera and region, and their fields are named
//     camera_NAME and region_NAME;
//   - a field tagged metric:"counter" is a counter (its name gets "_total"),
//     the others gauges; its help is its help:"..." tag, else its json name.
func Metrics(namespace string, stats func() any) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&statsCollector{namespace: namespace, stats: stats})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:          slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn),
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
		// Each scrape walks the stats under the agent's locks: a flood of
		// them gets 503s, not the locks.
		MaxRequestsInFlight: 4,
	})
}

// labelFields are the map fields whose keys become a label.
var labelFields = map[string]string{"cameras": "camera", "regions": "region"}

// statsCollector is unchecked (it describes nothing): the metrics follow
// the cameras and regions of the moment.
type statsCollector struct {
	namespace string
	stats     func() any
}

func (c *statsCollector) Describe(chan<- *prometheus.Desc) {}

func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	w := walker{namespace: c.namespace, ch: ch}
	w.value(reflect.ValueOf(c.stats()), "", nil, nil, fieldTags{}, 0)
}

type walker struct {
	namespace string
	ch        chan<- prometheus.Metric
}

// fieldTags are what a struct field's tags say of its metric.
type fieldTags struct {
	counter bool
	help    string
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	timeType     = reflect.TypeFor[time.Time]()
)

// maxDepth bounds the nesting walked, against a value that refers to itself.
const maxDepth = 16

// value emits v, named name, with the labels names=values, at nesting depth.
func (w *walker) value(v reflect.Value, name string, names, values []string, tags fieldTags, depth int) {
	if depth > maxDepth {
		return
	}
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if !v.IsValid() {
		return
	}
	var f float64
	switch {
	case v.Type() == durationType:
		f, name = time.Duration(v.Int()).Seconds(), suffixed(name, "_seconds")
	case v.Kind() == reflect.Bool:
		if v.Bool() {
			f = 1
		}
	case v.CanInt():
		f = float64(v.Int())
	case v.CanUint():
		f = float64(v.Uint())
	case v.CanFloat():
		f = v.Float()
	case v.Kind() == reflect.Struct && v.Type() != timeType:
		w.fields(v, name, names, values, depth+1)
		return
	default:
		return
	}
	if name == "" {
		return
	}
	typ := prometheus.GaugeValue
	if tags.counter {
		typ, name = prometheus.CounterValue, suffixed(name, "_total")
	}
	help := tags.help
	if help == "" {
		help = name
	}
	desc := prometheus.NewDesc(prometheus.BuildFQName(w.namespace, "", name), help, names, nil)
	m, err := prometheus.NewConstMetric(desc, typ, f, values...)
	if err != nil { // a label value that is not UTF-8: the scrape reports it
		m = prometheus.NewInvalidMetric(desc, err)
	}
	w.ch <- m
}

func (w *walker) fields(v reflect.Value, prefix string, names, values []string, depth int) {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if tag == "-" || (!sf.IsExported() && !sf.Anonymous) {
			continue
		}
		fv := v.Field(i)
		if sf.Anonymous && tag == "" {
			w.value(fv, prefix, names, values, fieldTags{}, depth)
			continue
		}
		if tag == "" {
			continue
		}
		name := metricName(tag)
		if label, ok := labelFields[tag]; ok && fv.Kind() == reflect.Map && fv.Type().Key().Kind() == reflect.String {
			w.labelled(fv, label, names, values, depth)
			continue
		}
		if prefix != "" {
			name = prefix + "_" + name
		}
		help := sf.Tag.Get("help")
		if help == "" {
			help = tag
		}
		w.value(fv, name, names, values, fieldTags{counter: sf.Tag.Get("metric") == "counter", help: help}, depth)
	}
}

// labelled emits each element of the map m with the label's value its key.
func (w *walker) labelled(m reflect.Value, label string, names, values []string, depth int) {
	names = append(names[:len(names):len(names)], label)
	for it := m.MapRange(); it.Next(); {
		vals := append(values[:len(values):len(values)], it.Key().String())
		w.value(it.Value(), label, names, vals, fieldTags{}, depth+1)
	}
}

func suffixed(name, suffix string) string {
	if strings.HasSuffix(name, suffix) {
		return name
	}
	return name + suffix
}

// metricName makes a json name a valid metric name part: [a-zA-Z0-9_].
func metricName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}
