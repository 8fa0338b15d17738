package conformance

import (
	"strings"
	"testing"
)

// TestGlobalPoolOverride: a case made with timm's global_pool argument
// builds that head, and a value timm has no head for is an error.
func TestGlobalPoolOverride(t *testing.T) {
	c := &Case{Name: "max", TimmModel: "coatnet_nano_rw", ImgSize: 64, Overrides: map[string]any{"global_pool": "max"}}
	cfg, err := c.Config()
	if err != nil || cfg.GlobalPool != "max" || !cfg.MaxPool() {
		t.Fatalf("Config: %q, %v", cfg.GlobalPool, err)
	}
	c.Overrides["global_pool"] = "mean"
	if _, err := c.Config(); err == nil || !strings.Contains(err.Error(), "global_pool") {
		t.Fatalf("global_pool mean: %v", err)
	}
}
