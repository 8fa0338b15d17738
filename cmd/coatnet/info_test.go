package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/kernels"
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

// TestInfoKernelLevels: info names the implementation of every kernel,
// explains the names this machine uses, and lists the levels bench
// --kernels takes.
func TestInfoKernelLevels(t *testing.T) {
	stdout, _, err := run(t, "info", "../../models/fmnist-pre-int8.coatnet")
	if err != nil {
		t.Fatal(err)
	}
	gemm := kernels.Implementation()[kernels.NameGemmRequant]
	for _, want := range []string{"GemmRequant=" + gemm, "levels      " + strings.Join(kernels.Levels(), " ") + " (bench --kernels LEVEL forces one)", " " + gemm + " "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("info lacks %q:\n%s", want, stdout)
		}
	}
	legend := stdout[strings.Index(stdout, "each operation runs"):]
	legend = legend[:strings.Index(legend, "\n")]
	if !strings.Contains(legend, gemm+" ") {
		t.Errorf("the legend %q does not explain %s", legend, gemm)
	}
}
