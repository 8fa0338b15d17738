package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestInfoShowsNeed: info says what the engine will allocate and compute
// for a model file, in text and in JSON.
func TestInfoShowsNeed(t *testing.T) {
	const m = "../../models/fmnist-pre-int8.coatnet"
	stdout, _, err := run(t, "info", m)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Engine needs", "scratch per thread", "18.91 M MACs per inference"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("info lacks %q:\n%s", want, stdout)
		}
	}
	stdout, _, err = run(t, "info", m, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Need *struct {
			MACs    int64 `json:"macs"`
			Scratch int64 `json:"scratch_bytes_per_thread"`
			Tensors int64 `json:"tensor_bytes"`
		} `json:"need"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatal(err)
	}
	if out.Need == nil || out.Need.MACs != 18905600 || out.Need.Scratch <= 0 || out.Need.Tensors <= 0 {
		t.Errorf("need %+v in:\n%s", out.Need, stdout)
	}
}
