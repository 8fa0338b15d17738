package model_test

import (
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/conformance"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/checkpoint"
	"github.com/coatnet-edge/coatnet-edge/model/float"
)

func tinyCase(t *testing.T) *conformance.Case {
	t.Helper()
	for _, c := range conformance.Shared(t) {
		if c.Name == "tiny_nano_rw_64_s3" {
			return c
		}
	}
	t.Skip("tiny_nano_rw_64_s3 is not among the conformance cases")
	return nil
}

// TestCheckpointFilesGiveCaseLogits loads the tiny case's real checkpoint
// files, safetensors and PyTorch zip, through the importer and checks the
// logits against timm's.
func TestCheckpointFilesGiveCaseLogits(t *testing.T) {
	c := tinyCase(t)
	cfg, err := c.Config()
	if err != nil {
		t.Fatal(err)
	}
	input, err := c.Input.Generate()
	if err != nil {
		t.Fatal(err)
	}
	want, err := c.Logits()
	if err != nil {
		t.Fatal(err)
	}
	var first []float32
	for _, file := range []string{"model.safetensors", "model.pth"} {
		sd, err := checkpoint.Read(filepath.Join(c.Dir, file))
		if err != nil {
			t.Fatal(err)
		}
		w, err := arch.ImportStateDict(&cfg, sd)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		net, err := float.New(cfg, w, 2)
		if err != nil {
			t.Fatal(err)
		}
		copy(net.Input(), input)
		got := append([]float32(nil), net.Run()...)
		net.Close()
		for i := range want {
			if d := math.Abs(float64(got[i]) - want[i]); d > 1e-3*max(1, math.Abs(want[i])) {
				t.Fatalf("%s: logit %d = %v, timm %v", file, i, got[i], want[i])
			}
		}
		if first == nil {
			first = got
		} else {
			for i := range got {
				if got[i] != first[i] {
					t.Fatalf("%s and model.safetensors give different logits at %d", file, i)
				}
			}
		}
	}
}

// TestImportReportsMismatchesByName feeds the tiny checkpoint to the wrong
// architecture and expects one error naming missing, unexpected and
// wrongly shaped keys with the expected shapes, and the int64 counters
// ignored.
func TestImportReportsMismatchesByName(t *testing.T) {
	c := tinyCase(t)
	sd, err := checkpoint.Read(filepath.Join(c.Dir, "model.pth"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := c.Config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Depths[2] = 1                 // one transformer block fewer: unexpected keys
	cfg.EmbedDim[3] = 96              // wrong shapes in stage 3 and the head
	cfg.Conv.OutputBias = false       // conv3 biases become unexpected
	cfg.Transformer.LayerScale = true // ls gammas missing
	_, err = arch.ImportStateDict(&cfg, sd)
	if !errors.Is(err, arch.ErrWeightsMismatch) {
		t.Fatalf("error %v does not wrap ErrWeightsMismatch", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"missing    stages.2.blocks.0.ls1.gamma, want shape (64,)",
		"unexpected stages.2.blocks.1.attn.qkv.weight (192, 64, 1, 1)",
		"unexpected stages.0.blocks.0.conv3_1x1.bias (16,)",
		"wrong shape head.fc.weight: got (10, 128), want (10, 96)",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q", want)
		}
	}
	if strings.Contains(msg, "num_batches_tracked") {
		t.Errorf("num_batches_tracked reported:\n%s", msg)
	}
}

// TestImportAcceptsLinearShapedWeights stores 1x1 convolutions as 2-D
// matrices, as some exports do, and expects them accepted.
func TestImportAcceptsLinearShapedWeights(t *testing.T) {
	c := tinyCase(t)
	cfg, err := c.Config()
	if err != nil {
		t.Fatal(err)
	}
	sd := make(map[string]checkpoint.Tensor)
	for _, p := range cfg.Params() {
		shape := p.Shape
		if len(shape) == 4 && shape[2] == 1 && shape[3] == 1 {
			shape = shape[:2]
		}
		sd[p.Name] = checkpoint.Tensor{DType: "F32", Shape: shape, Data: make([]float32, arch.Numel(p.Shape))}
	}
	sd["stem.norm1.num_batches_tracked"] = checkpoint.Tensor{DType: "I64"}
	sd["stem.extra_counter"] = checkpoint.Tensor{DType: "I32", Shape: []int{1}}
	_, err = arch.ImportStateDict(&cfg, sd)
	if err == nil || !strings.Contains(err.Error(), "not float   stem.extra_counter: dtype I32 (1,)") {
		t.Fatalf("want only the int32 tensor reported, got %v", err)
	}
	delete(sd, "stem.extra_counter")
	if _, err := arch.ImportStateDict(&cfg, sd); err != nil {
		t.Fatal(err)
	}
}
