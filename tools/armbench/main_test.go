package main

import (
	"testing"

	"github.com/coatnet-edge/coatnet-edge/kernels"
)

// Every kernel is reported under exactly one operation, so a new kernel
// cannot fall into "kernels (other)" unnoticed.
func TestEveryKernelHasAnOp(t *testing.T) {
	seen := map[string]string{}
	for _, k := range kernelOps {
		for _, n := range k.kernels {
			if op, ok := seen[n]; ok {
				t.Errorf("%s is under %q and %q", n, op, k.op)
			}
			seen[n] = k.op
		}
	}
	for _, n := range kernels.Names() {
		if _, ok := seen[n]; !ok {
			t.Errorf("kernel %s has no operation in kernelOps", n)
		}
	}
	if len(seen) != len(kernels.Names()) {
		t.Errorf("kernelOps names %d kernels, package kernels has %d", len(seen), len(kernels.Names()))
	}
}

// Symbols of both kernel packages, as qemu-insncount names them, map to
// their operation: entry points, drivers, references and helpers.
func TestOpOf(t *testing.T) {
	const k, a = "github.com/coatnet-edge/coatnet-edge/kernels.", "github.com/coatnet-edge/coatnet-edge/arm64."
	for sym, want := range map[string]string{
		a + "GemmSdot.abi0":                 "GEMM (1x1, 3x3 conv, attention QK^T, PV)",
		a + "GemmNeon.abi0":                 "GEMM (1x1, 3x3 conv, attention QK^T, PV)",
		k + "gemmAsm[go.shape.int8]":        "GEMM (1x1, 3x3 conv, attention QK^T, PV)",
		k + "gemmAsm[go.shape.int32].func1": "GEMM (1x1, 3x3 conv, attention QK^T, PV)",
		k + "dot4":                          "GEMM (1x1, 3x3 conv, attention QK^T, PV)",
		k + "GemmRequant":                   "GEMM (1x1, 3x3 conv, attention QK^T, PV)",
		k + "asmKernel.func1":               "GEMM (1x1, 3x3 conv, attention QK^T, PV)",
		k + "(*Weights).PackStrided":        "attention K/V pack",
		k + "packTransposedNeon":            "attention K/V pack",
		a + "PackTransposed.abi0":           "attention K/V pack",
		a + "Depthwise3x3.abi0":             "Depthwise3x3",
		k + "depthwise3x3Ref":               "Depthwise3x3",
		k + "dwRun":                         "Depthwise3x3",
		a + "LUT.abi0":                      "LUT (activations)",
		k + "lutNeon":                       "LUT (activations)",
		k + "lutRef":                        "LUT (activations)",
		a + "Add.abi0":                      "Add (residual)",
		k + "addRef":                        "Add (residual)",
		a + "Softmax.abi0":                  "attention softmax",
		k + "softmaxExp":                    "attention softmax",
		k + "attentionSoftmaxNeon":          "attention softmax",
		a + "MeanChannels.abi0":             "MeanChannels (SE squeeze, head pool)",
		k + "meanChannelsRef":               "MeanChannels (SE squeeze, head pool)",
		a + "AvgPool2x2.abi0":               "AvgPool2x2",
		k + "avgPool2x2Neon":                "AvgPool2x2",
		a + "Affine.abi0":                   "Affine (SE gate)",
		k + "affineRef":                     "Affine (SE gate)",
		a + "LayerNormStats.abi0":           "LayerNorm",
		a + "LayerNormApply.abi0":           "LayerNorm",
		k + "layerNormNeon":                 "LayerNorm",
		a + "Im2col3x3.abi0":                "3x3 patch gather",
		k + "im2col3x3Ref":                  "3x3 patch gather",
		k + "Implementation":                "kernels (other)",
		"github.com/coatnet-edge/coatnet-edge/model/int8net.(*depthwiseRun).Do":   "engine op loops (each op's Do)",
		"github.com/coatnet-edge/coatnet-edge/model/int8net.(*convRun).conv3x3":   "3x3 patch gather",
		"github.com/coatnet-edge/coatnet-edge/model/int8net.(*attentionRun).Do":   "attention (engine: gathers, bias, sums)",
		"github.com/coatnet-edge/coatnet-edge/model/int8net.(*Net).quantizeInput": "input quantization",
		"github.com/coatnet-edge/coatnet-edge/model/int8net.inputJob.Do":          "input quantization",
		"github.com/coatnet-edge/coatnet-edge/kernels.quantizeInputRef":           "input quantization",
		"github.com/coatnet-edge/coatnet-edge/model/int8net.(*Program).validate":  "engine (other)",
		"runtime.memmove": "memmove/memclr",
	} {
		if got := opOf(sym); got != want {
			t.Errorf("opOf(%q) = %q, want %q", sym, got, want)
		}
	}
}

func TestLowerCamel(t *testing.T) {
	for in, want := range map[string]string{"LayerNorm": "layerNorm", "LUT": "lut", "Add": "add", "GEMMRow": "gemmRow", "Im2col3x3": "im2col3x3"} {
		if got := lowerCamel(in); got != want {
			t.Errorf("lowerCamel(%q) = %q, want %q", in, got, want)
		}
	}
}
