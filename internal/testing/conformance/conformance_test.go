package conformance

import (
	"os"
	"path/filepath"
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

// Dir finds the shared folder from the repository root (where `go run
// ./tools/armbench model -case ...` runs) as from package directories.
func TestDirFromRepositoryRoot(t *testing.T) {
	t.Setenv("COATNET_CONFORMANCE", "")
	want, err := filepath.Abs(Dir())
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(want); err != nil || !st.IsDir() {
		t.Skipf("no shared conformance folder beside the repository (%s)", want)
	}
	here, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, up := range []string{"../../..", "../..", ".."} { // the root, internal/, internal/testing/
		t.Chdir(filepath.Join(here, up))
		if got, err := filepath.Abs(Dir()); err != nil || got != want {
			t.Errorf("from %s: Dir() is %s (%v), want %s", up, got, err, want)
		}
	}
}
