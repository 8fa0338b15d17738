// Package conformance reads the timm reference cases (see
// ../shared/conformance/README.md): every weight and input is rebuilt from a
// seeded formula, and the expected logits and intermediate summaries come
// from timm itself.
package conformance

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/float"
)

// Tensor is a generated tensor: element i is Value(Seed, i, Offset, Scale).
type Tensor struct {
	Key    string  `json:"key"`
	Shape  []int   `json:"shape"`
	Seed   string  `json:"seed"`
	Offset float64 `json:"offset"`
	Scale  float64 `json:"scale"`
}

// Summary describes an intermediate output of timm.
type Summary struct {
	Shape       []int     `json:"shape"`
	Sum         float64   `json:"sum"`
	SumSq       float64   `json:"sumsq"`
	SampleIndex []int     `json:"sample_index"`
	Sample      []float64 `json:"sample"`
}

// Case is one folder of reference data.
type Case struct {
	Name      string
	Dir       string
	TimmModel string         `json:"timm_model"`
	Overrides map[string]any `json:"overrides"`
	ImgSize   int            `json:"img_size"`
	Input     Tensor         `json:"input"`
	Params    []Tensor       `json:"params"`
	Expected  map[string]json.RawMessage
}

// ShortMACs bounds the cases a test runs with -short, which is how the
// tests run under qemu: the small cases still cover every code path of
// their configs.
const ShortMACs = 200e6

// Dir is where the cases live: $COATNET_CONFORMANCE, or the shared folder
// beside the repository (relative to the repository root, as `go run
// ./tools/...` runs, or to a package directory one to three levels down,
// as `go test` runs them).
func Dir() string {
	if d := os.Getenv("COATNET_CONFORMANCE"); d != "" {
		return d
	}
	for _, up := range []string{".", "..", "../..", "../../.."} {
		d := filepath.Join(up, "..", "shared", "conformance", "timm")
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
	}
	return filepath.Join("..", "..", "shared", "conformance", "timm")
}

// LoadAll reads every case folder under dir, sorted by name.
func LoadAll(dir string) ([]*Case, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var cases []*Case
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c, err := Load(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		cases = append(cases, c)
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].Name < cases[j].Name })
	return cases, nil
}

// Load reads one case folder.
func Load(dir string) (*Case, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "case.json"))
	if err != nil {
		return nil, err
	}
	var c Case
	var aux struct {
		Expected map[string]json.RawMessage `json:"expected"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if err := json.Unmarshal(raw, &aux); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	c.Expected = aux.Expected
	c.Name = filepath.Base(dir)
	c.Dir = dir
	return &c, nil
}

// Config builds the model configuration the case was made with.
func (c *Case) Config() (arch.Config, error) {
	cfg, err := arch.Arch(c.TimmModel)
	if err != nil {
		return cfg, err
	}
	cfg.ImgSize = c.ImgSize
	var errs []error
	ints := func(v any) []int {
		list, _ := v.([]any)
		out := make([]int, len(list))
		for i, x := range list {
			f, _ := x.(float64)
			out[i] = int(f)
		}
		return out
	}
	for k, v := range c.Overrides {
		switch k {
		case "embed_dim":
			copy(cfg.EmbedDim[:], ints(v))
		case "depths":
			copy(cfg.Depths[:], ints(v))
		case "stem_width":
			if f, ok := v.(float64); ok {
				cfg.StemWidth = [2]int{int(f), int(f)}
			} else {
				copy(cfg.StemWidth[:], ints(v))
			}
		case "num_classes":
			f, _ := v.(float64)
			cfg.NumClasses = int(f)
		case "in_chans":
			f, _ := v.(float64)
			cfg.InChans = int(f)
		case "head_hidden_size":
			f, _ := v.(float64)
			cfg.HeadHiddenSize = int(f)
		case "global_pool":
			cfg.GlobalPool, _ = v.(string)
		default:
			errs = append(errs, fmt.Errorf("case %s: unsupported override %q", c.Name, k))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, err
	}
	if _, ok := c.Overrides["num_classes"]; !ok {
		var logits []float64
		if err := json.Unmarshal(c.Expected["logits"], &logits); err == nil && len(logits) > 0 {
			cfg.NumClasses = len(logits)
		}
	}
	return cfg, cfg.Validate()
}

// Logits are timm's output logits.
func (c *Case) Logits() ([]float64, error) {
	var l []float64
	err := json.Unmarshal(c.Expected["logits"], &l)
	return l, err
}

// Summary returns the expected summary of an intermediate output ("stem",
// "stages.0".., "pre_logits"), or false when the case has none.
func (c *Case) Summary(name string) (Summary, bool) {
	raw, ok := c.Expected[name]
	if !ok {
		return Summary{}, false
	}
	var s Summary
	if json.Unmarshal(raw, &s) != nil {
		return Summary{}, false
	}
	return s, true
}

// Generate fills a new slice with the tensor's elements.
func (t *Tensor) Generate() ([]float32, error) {
	seed, err := strconv.ParseUint(t.Seed, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("tensor %s: seed %q: %w", t.Key, t.Seed, err)
	}
	out := make([]float32, arch.Numel(t.Shape))
	for i := range out {
		// float64(...) stops arm64 from fusing the multiply-add, which would
		// round differently from the Python generator.
		out[i] = float32(t.Offset + float64(t.Scale*arch.SeededUniform(seed, uint64(i))))
	}
	return out, nil
}

// StateDict rebuilds every parameter of the case.
func (c *Case) StateDict() (map[string]arch.Tensor, error) {
	sd := make(map[string]arch.Tensor, len(c.Params))
	for _, p := range c.Params {
		d, err := p.Generate()
		if err != nil {
			return nil, err
		}
		sd[p.Key] = arch.Tensor{Shape: p.Shape, Data: d}
	}
	return sd, nil
}

// Shared reads the cases of Dir for a test. Without the folder the test is
// skipped, except in CI, where missing reference data is a failure; an
// empty folder always fails.
func Shared(t testing.TB) []*Case {
	t.Helper()
	dir := Dir()
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("conformance folder %s is missing (set COATNET_CONFORMANCE)", dir)
		}
		t.Skipf("conformance folder %s is missing; set COATNET_CONFORMANCE to run timm conformance", dir)
	}
	cases, err := LoadAll(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatalf("conformance folder %s holds no cases", dir)
	}
	return cases
}

// Float builds the float reference for the case with its timm weights, and
// generates the case's input.
func (c *Case) Float(threads int) (*float.Net, []float32, error) {
	cfg, err := c.Config()
	if err != nil {
		return nil, nil, err
	}
	sd, err := c.StateDict()
	if err != nil {
		return nil, nil, err
	}
	input, err := c.Input.Generate()
	if err != nil {
		return nil, nil, err
	}
	net, err := float.New(cfg, sd, threads)
	return net, input, err
}
