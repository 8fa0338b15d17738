package float_test

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/conformance"
)

// TestConformance runs every timm case of $COATNET_CONFORMANCE (default
// ../shared/conformance/timm) through the float engine. It prints one line
// per case (name, max |logit - expected|, tolerance, verdict) and, when a
// case fails, the first intermediate output that departs from timm.
func TestConformance(t *testing.T) { runConformance(t, conformance.Shared(t)) }

// TestConformanceRepo runs the cases generated with timm by
// tools/conformance/gen_cases.py for the configs the shared cases do not
// cover: BatchNorm transformer norms, max-pool shortcuts, layer scale,
// mixed C/T stages, the paper head at other sizes, one input channel.
func TestConformanceRepo(t *testing.T) {
	cases, err := conformance.LoadAll(filepath.Join("..", "..", "testdata", "conformance"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("testdata/conformance holds no cases")
	}
	runConformance(t, cases)
}

func runConformance(t *testing.T, cases []*conformance.Case) {
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if cfg, err := c.Config(); err == nil && testing.Short() && cfg.TotalCost().MACs > conformance.ShortMACs {
				t.Skipf("-short: %s needs %.2f GMACs (the emulated arm64 run keeps to small cases)", c.Name, float64(cfg.TotalCost().MACs)/1e9)
			}
			net, input, err := c.Float(0)
			if err != nil {
				t.Fatalf("%s: cannot run: %v", c.Name, err)
			}
			defer net.Close()
			var departures []string
			net.SetTap(func(name string, shape []int, data []float32) {
				if msg := compareSummary(c, name, shape, data); msg != "" {
					departures = append(departures, msg)
				}
			})
			copy(net.Input(), input)
			logits := net.Run()
			want, err := c.Logits()
			if err != nil {
				t.Fatal(err)
			}
			if len(logits) != len(want) {
				t.Fatalf("%d logits, timm has %d", len(logits), len(want))
			}
			var maxDiff, maxAbs float64
			for i := range want {
				maxDiff = max(maxDiff, math.Abs(float64(logits[i])-want[i]))
				maxAbs = max(maxAbs, math.Abs(want[i]))
			}
			tol := 1e-3 * max(1, maxAbs)
			verdict := "pass"
			if !(maxDiff <= tol) {
				verdict = "FAIL"
			}
			t.Logf("%-34s max|Δlogit| %.3g  tolerance %.3g  %s", c.Name, maxDiff, tol, verdict)
			for _, d := range departures {
				t.Log(d)
			}
			if verdict != "pass" {
				t.Errorf("%s: max |logit - expected| %.3g exceeds %.3g", c.Name, maxDiff, tol)
			}
		})
	}
}

// compareSummary checks an intermediate output against timm's summary:
// shape, samples, sum and sum of squares, each within the logit tolerance
// scaled to the tensor. It returns "" when they agree.
func compareSummary(c *conformance.Case, name string, shape []int, data []float32) string {
	s, ok := c.Summary(name)
	if !ok {
		return ""
	}
	if fmt.Sprint(shape) != fmt.Sprint(s.Shape) {
		return fmt.Sprintf("  %s: shape %v, timm %v", name, shape, s.Shape)
	}
	var sum, sumsq, maxAbs float64
	for _, v := range data {
		sum += float64(v)
		sumsq += float64(v) * float64(v)
		maxAbs = max(maxAbs, math.Abs(float64(v)))
	}
	tol := 1e-3 * max(1, maxAbs)
	for i, idx := range s.SampleIndex {
		if d := math.Abs(float64(data[idx]) - s.Sample[i]); d > tol {
			return fmt.Sprintf("  %s departs from timm: element %d = %.6g, timm %.6g", name, idx, data[idx], s.Sample[i])
		}
	}
	n := float64(len(data))
	if d := math.Abs(sum - s.Sum); d > tol*n {
		return fmt.Sprintf("  %s departs from timm: sum %.6g, timm %.6g", name, sum, s.Sum)
	}
	if d := math.Abs(sumsq - s.SumSq); d > 2*tol*math.Sqrt(n*s.SumSq)+tol*tol*n {
		return fmt.Sprintf("  %s departs from timm: sum of squares %.6g, timm %.6g", name, sumsq, s.SumSq)
	}
	return ""
}
