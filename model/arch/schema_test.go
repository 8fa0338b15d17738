package arch_test

import (
	"slices"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/conformance"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
)

// TestParamsMatchTimm checks the derived schema against the state dicts
// timm produced for every conformance case: same names, shapes and order.
func TestParamsMatchTimm(t *testing.T) {
	cases := conformance.Shared(t)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			cfg, err := c.Config()
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.Params()
			if len(got) != len(c.Params) {
				t.Errorf("%d params, timm has %d", len(got), len(c.Params))
			}
			for i := range min(len(got), len(c.Params)) {
				if got[i].Name != c.Params[i].Key || !slices.Equal(got[i].Shape, c.Params[i].Shape) {
					t.Fatalf("param %d: got %v, timm has %s %s", i, got[i], c.Params[i].Key, arch.ShapeString(c.Params[i].Shape))
				}
			}
		})
	}
}
