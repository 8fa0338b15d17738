package agent

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/mqtttest"
)

// statLeaf is a number (or bool) of the stats message: its JSON key and
// the camera and region it belongs to ("" for the agent's own).
type statLeaf struct{ key, camera, region string }

// statLeaves lists the numbers of a stats message, walking cameras and
// regions as the labels /metrics gives them.
func statLeaves(v any, camera, region string, out *[]statLeaf) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	for k, x := range m {
		switch x := x.(type) {
		case float64, bool:
			*out = append(*out, statLeaf{k, camera, region})
		case map[string]any:
			switch {
			case k == "cameras" && camera == "":
				for name, c := range x {
					statLeaves(c, name, "", out)
				}
			case k == "regions" && camera != "":
				for name, r := range x {
					statLeaves(r, camera, name, out)
				}
			default:
				statLeaves(x, camera, region, out)
			}
		}
	}
}

// TestWebMetricsCoverStats: /metrics, read with Prometheus' own text
// parser, has every number of the stats message the agent publishes, with
// the labels camera and region where the number is a camera's or a
// region's.
func TestWebMetricsCoverStats(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	w := startWebAgent(t, b, "", nil)
	topics := TopicsFor(&w.cfg)
	rec := record(t, b.URL, "metrics-recorder", topics.Stats)
	var stats map[string]any
	waitFor(t, "a stats message with the regions", func() bool {
		p := rec.last(topics.Stats)
		stats = nil
		return p != nil && json.Unmarshal(p, &stats) == nil && strings.Contains(string(p), `"regions"`)
	})
	code, _, body := w.get(t, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, body)
	}
	has := func(l statLeaf) bool {
		for name, f := range fams {
			base := strings.TrimSuffix(strings.TrimSuffix(name, "_total"), "_seconds")
			if !strings.HasSuffix(base, "_"+l.key) && !strings.HasSuffix(base, "_"+strings.TrimSuffix(l.key, "_ms")) {
				continue
			}
			for _, m := range f.GetMetric() {
				if label(m, "camera") == l.camera && label(m, "region") == l.region {
					return true
				}
			}
		}
		return false
	}
	var leaves []statLeaf
	statLeaves(stats, "", "", &leaves)
	sort.Slice(leaves, func(i, j int) bool { return leaves[i].key < leaves[j].key })
	regional := 0
	for _, l := range leaves {
		if l.region != "" {
			regional++
		}
		if !has(l) {
			t.Errorf("stats' %q (camera %q, region %q) is not in /metrics", l.key, l.camera, l.region)
		}
	}
	if len(leaves) < 30 || regional == 0 {
		t.Fatalf("only %d numbers in the stats message (%d of regions): %v", len(leaves), regional, stats)
	}
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
