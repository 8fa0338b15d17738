//go:build !purego

package amd64

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/kerneltest"
)

// The #define offsets of every convolution-side kernel file are those of
// its Go context struct, every field has one, and each is 8 bytes or an
// array.
func TestConvCtxOffsets(t *testing.T) {
	kerneltest.CheckOffsets(t,
		kerneltest.Ctx{File: "depthwise_amd64.s", Prefix: "dw_", Type: reflect.TypeFor[DepthwiseCtx]()},
		kerneltest.Ctx{File: "pool_amd64.s", Prefix: "pl_", Type: reflect.TypeFor[PoolCtx]()},
		kerneltest.Ctx{File: "mean_amd64.s", Prefix: "mn_", Type: reflect.TypeFor[MeanCtx]()},
		kerneltest.Ctx{File: "im2col_amd64.s", Prefix: "ic_", Type: reflect.TypeFor[Im2colCtx]()},
		kerneltest.Ctx{File: "pack_amd64.s", Prefix: "pk_", Type: reflect.TypeFor[PackCtx]()},
		kerneltest.Ctx{File: "pack_amd64.s", Prefix: "pt_", Type: reflect.TypeFor[PackTCtx]()},
		kerneltest.Ctx{File: "pack_amd64.s", Prefix: "ws_", Type: reflect.TypeFor[SumsCtx]()},
	)
}

// The same for the element-wise kernels, whose fields are 8 bytes or 8
// int32 lanes (the kernels broadcast or load them whole).
func TestElemCtxOffsets(t *testing.T) {
	lanes := reflect.TypeFor[[8]int32]()
	kerneltest.CheckOffsets(t,
		kerneltest.Ctx{File: "add_amd64.s", Prefix: "add_", Type: reflect.TypeFor[AddCtx](), Vector: lanes},
		kerneltest.Ctx{File: "affine_amd64.s", Prefix: "af_", Type: reflect.TypeFor[AffineCtx](), Vector: lanes},
		kerneltest.Ctx{File: "layernorm_amd64.s", Prefix: "ln_", Type: reflect.TypeFor[LayerNormCtx](), Vector: lanes},
		kerneltest.Ctx{File: "softmax_amd64.s", Prefix: "sm_", Type: reflect.TypeFor[SoftmaxCtx](), Vector: lanes},
	)
}

// The #define ctx_* offsets of gemm_amd64.s are those of GemmCtx.
func TestGemmCtxOffsets(t *testing.T) {
	kerneltest.CheckOffsets(t, kerneltest.Ctx{File: "gemm_amd64.s", Prefix: "ctx_", Type: reflect.TypeFor[GemmCtx]()})
}

// GemmAVX2's frame is four rows of the groups GemmAVX2MaxK needs: its
// main groups and the tail group, 8 bytes each.
func TestGemmAVX2Frame(t *testing.T) {
	src, err := os.ReadFile("gemm_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("TEXT ·GemmAVX2(SB), $%d-8\n", 4*(GemmAVX2MaxK/4+1)*8)
	if !strings.Contains(string(src), want) {
		t.Errorf("gemm_amd64.s has no %q", want)
	}
}
