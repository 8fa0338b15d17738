package arch_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/conformance"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/checkpoint"
)

// shapesOf is a checkpoint of the right names and shapes without values:
// Infer reads shapes only.
func shapesOf(params []arch.Param) map[string]checkpoint.Tensor {
	sd := make(map[string]checkpoint.Tensor, len(params))
	for _, p := range params {
		sd[p.Name] = checkpoint.Tensor{DType: "F32", Shape: p.Shape}
	}
	return sd
}

func allCases(t *testing.T) []*conformance.Case {
	t.Helper()
	repo, err := conformance.LoadAll(filepath.Join("..", "..", "testdata", "conformance"))
	if err != nil {
		t.Fatal(err)
	}
	return append(conformance.Shared(t), repo...)
}

// TestInferConformanceCases: the configuration of every conformance case
// comes back from its tensor shapes alone, except the image size of
// models without a relative-position table, which no tensor holds.
func TestInferConformanceCases(t *testing.T) {
	for _, c := range allCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			want, err := c.Config()
			if err != nil {
				t.Fatal(err)
			}
			sd := make(map[string]checkpoint.Tensor)
			for _, p := range c.Params {
				sd[p.Key] = checkpoint.Tensor{DType: "F32", Shape: p.Shape}
			}
			sd["stem.norm1.num_batches_tracked"] = checkpoint.Tensor{DType: "I64"}
			got, err := arch.Infer(sd)
			if err != nil {
				t.Fatal(err)
			}
			wantName := c.TimmModel
			if _, err := arch.Arch(c.TimmModel); err == nil && !strings.HasSuffix(c.TimmModel, "_224") && !strings.HasSuffix(c.TimmModel, "_384") {
				wantName = c.TimmModel + arch.CustomSuffix
			}
			if got.Arch != wantName {
				t.Errorf("Arch %q, want %q", got.Arch, wantName)
			}
			if want.Transformer.RelPos == "mlp" {
				if got.ImgSize != 0 {
					t.Errorf("rmlp model: ImgSize %d, want 0 (not in the weights)", got.ImgSize)
				}
				got.ImgSize = want.ImgSize
			}
			got.Arch, want.Arch = "", ""
			if got != want {
				t.Errorf("inferred\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

// TestInferEveryTimmConfig: each registered model, and a resized,
// narrowed variant of it, comes back as itself from its schema.
func TestInferEveryTimmConfig(t *testing.T) {
	for _, name := range arch.ArchNames() {
		want, _ := arch.Arch(name)
		for _, size := range []int{want.ImgSize, 64} {
			w := want
			w.ImgSize = size
			got, err := arch.Infer(shapesOf(w.Params()))
			if err != nil {
				t.Fatalf("%s at %d: %v", name, size, err)
			}
			if w.Transformer.RelPos == "mlp" {
				got.ImgSize = size
			}
			if got != w {
				// Two registered models may share one config (rmlp_2_rw at
				// 224 and 384): the name must still build the same config.
				alt, err := arch.Arch(got.Arch)
				alt.ImgSize, got.Arch = size, name
				if err != nil || alt.Transformer != w.Transformer || got != w {
					t.Errorf("%s at %d: inferred\n%+v\nwant\n%+v", name, size, got, w)
				}
			}
		}
	}
}

// TestInferErrors: hostile and broken state dicts are errors naming the
// tensor, never panics.
func TestInferErrors(t *testing.T) {
	nano, _ := arch.Arch("coatnet_nano_rw_224")
	good := func() map[string]checkpoint.Tensor { return shapesOf(nano.Params()) }
	for _, tc := range []struct {
		name string
		edit func(sd map[string]checkpoint.Tensor)
		want string
	}{
		{"empty", func(sd map[string]checkpoint.Tensor) { clear(sd) }, "stem.conv1.weight is missing"},
		{"stem rank", func(sd map[string]checkpoint.Tensor) {
			sd["stem.conv1.weight"] = checkpoint.Tensor{DType: "F32", Shape: []int{32, 3}}
		}, "stem.conv1.weight has shape (32, 3)"},
		{"zero dim", func(sd map[string]checkpoint.Tensor) {
			sd["stem.conv1.weight"] = checkpoint.Tensor{DType: "F32", Shape: []int{0, 3, 3, 3}}
		}, "empty dimension"},
		{"no stage", func(sd map[string]checkpoint.Tensor) {
			for k := range sd {
				if strings.HasPrefix(k, "stages.3.") {
					delete(sd, k)
				}
			}
		}, "stage 3 has no blocks"},
		{"huge block number", func(sd map[string]checkpoint.Tensor) {
			sd["stages.1.blocks.99999999999.conv1_1x1.weight"] = checkpoint.Tensor{DType: "F32", Shape: []int{1}}
		}, "out of range"},
		{"gap", func(sd map[string]checkpoint.Tensor) {
			for k := range sd {
				if strings.HasPrefix(k, "stages.1.blocks.2.") {
					delete(sd, k)
				}
			}
		}, "stages.1.blocks.2.*: neither"},
		{"odd table", func(sd map[string]checkpoint.Tensor) {
			sd["stages.2.blocks.0.attn.rel_pos.relative_position_bias_table"] = checkpoint.Tensor{DType: "F32", Shape: []int{700, 8}}
		}, "relative_position_bias_table: 700 rows"},
		{"table of no size", func(sd map[string]checkpoint.Tensor) {
			sd["stages.2.blocks.0.attn.rel_pos.relative_position_bias_table"] = checkpoint.Tensor{DType: "F32", Shape: []int{25, 8}}
			sd["stages.3.blocks.0.attn.rel_pos.relative_position_bias_table"] = checkpoint.Tensor{DType: "F32", Shape: []int{25, 16}}
		}, "fit no image size"},
		{"qkv", func(sd map[string]checkpoint.Tensor) {
			sd["stages.2.blocks.0.attn.qkv.weight"] = checkpoint.Tensor{DType: "F32", Shape: []int{100, 128, 1, 1}}
		}, "attn.qkv.weight: 100 outputs"},
		{"one wrong shape", func(sd map[string]checkpoint.Tensor) {
			sd["stages.1.blocks.1.norm1.weight"] = checkpoint.Tensor{DType: "F32", Shape: []int{7}}
		}, "stages.1.blocks.1.norm1.weight has shape (7,), want (512,)"},
		{"extra", func(sd map[string]checkpoint.Tensor) {
			sd["decoder.weight"] = checkpoint.Tensor{DType: "F32", Shape: []int{7}}
		}, "decoder.weight is unexpected"},
		{"head", func(sd map[string]checkpoint.Tensor) { delete(sd, "head.fc.weight") }, "head.fc.weight is missing"},
	} {
		sd := good()
		tc.edit(sd)
		_, err := arch.Infer(sd)
		if err == nil || !errors.Is(err, arch.ErrInfer) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
		if err != nil && len(err.Error()) > 600 {
			t.Errorf("%s: %d-byte error", tc.name, len(err.Error()))
		}
	}
}

// FuzzInfer changes, adds or drops tensors of a real schema: Infer must
// answer with a config that fits or an error, never panic.
func FuzzInfer(f *testing.F) {
	f.Add(uint16(0), []byte{2, 8, 3})
	f.Add(uint16(40), []byte{0})
	f.Add(uint16(200), []byte{1, 0})
	f.Add(uint16(9), []byte{4, 255, 255, 1, 1})
	f.Fuzz(func(t *testing.T, which uint16, shape []byte) {
		cfg, _ := arch.Arch("coatnet_rmlp_1_rw_224")
		if which%2 == 0 {
			cfg, _ = arch.Arch("coatnet_nano_cc_224")
		}
		ps := cfg.Params()
		sd := shapesOf(ps)
		name := ps[int(which)%len(ps)].Name
		if which > 1000 {
			name = "stages.1.blocks." + string(rune('0'+which%10)) + ".attn.qkv.weight"
		}
		switch {
		case len(shape) == 0:
			delete(sd, name)
		default:
			dims := make([]int, min(int(shape[0]), 6))
			for i := range dims {
				dims[i] = 1
				if i+1 < len(shape) {
					dims[i] = int(shape[i+1])
				}
			}
			sd[name] = checkpoint.Tensor{DType: "F32", Shape: dims}
		}
		got, err := arch.Infer(sd)
		if err == nil {
			if got.ImgSize == 0 {
				got.ImgSize = 224
			}
			if verr := got.Validate(); verr != nil {
				t.Fatalf("Infer gave an invalid config: %v", verr)
			}
		}
	})
}
