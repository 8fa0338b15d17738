package model_test

import (
	"os"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/conformance"
)

// loadCases reads the timm conformance cases. Without the folder the test is
// skipped, except in CI, where missing reference data is a failure; an empty
// folder always fails.
func loadCases(t testing.TB) []*conformance.Case {
	t.Helper()
	dir := conformance.Dir()
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("conformance folder %s is missing (set COATNET_CONFORMANCE)", dir)
		}
		t.Skipf("conformance folder %s is missing; set COATNET_CONFORMANCE to run timm conformance", dir)
	}
	cases, err := conformance.LoadAll(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatalf("conformance folder %s holds no cases", dir)
	}
	return cases
}
