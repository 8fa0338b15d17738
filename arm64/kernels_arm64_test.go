//go:build !purego

package arm64

import (
	"reflect"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/kerneltest"
)

// The #define offsets of every generated kernel file are those of its Go
// context struct, every field has one, and each is 8 bytes or an array.
func TestKernelCtxOffsets(t *testing.T) {
	kerneltest.CheckOffsets(t,
		kerneltest.Ctx{File: "depthwise_arm64.s", Prefix: "dw_", Type: reflect.TypeFor[DepthwiseCtx]()},
		kerneltest.Ctx{File: "depthwise_sdot_arm64.s", Prefix: "dw_", Type: reflect.TypeFor[DepthwiseCtx]()},
		kerneltest.Ctx{File: "add_arm64.s", Prefix: "add_", Type: reflect.TypeFor[AddCtx]()},
		kerneltest.Ctx{File: "affine_arm64.s", Prefix: "af_", Type: reflect.TypeFor[AffineCtx]()},
		kerneltest.Ctx{File: "mean_arm64.s", Prefix: "mn_", Type: reflect.TypeFor[MeanCtx]()},
		kerneltest.Ctx{File: "pool_arm64.s", Prefix: "pl_", Type: reflect.TypeFor[PoolCtx]()},
		kerneltest.Ctx{File: "im2col_arm64.s", Prefix: "ic_", Type: reflect.TypeFor[Im2colCtx]()},
		kerneltest.Ctx{File: "pack_arm64.s", Prefix: "pk_", Type: reflect.TypeFor[PackCtx]()},
		kerneltest.Ctx{File: "softmax_arm64.s", Prefix: "sm_", Type: reflect.TypeFor[SoftmaxCtx]()},
		kerneltest.Ctx{File: "layernorm_arm64.s", Prefix: "ln_", Type: reflect.TypeFor[LayerNormCtx]()},
	)
}

// The #define ctx_* offsets of gemm_arm64.s are those of GemmCtx.
func TestGemmCtxOffsets(t *testing.T) {
	kerneltest.CheckOffsets(t, kerneltest.Ctx{File: "gemm_arm64.s", Prefix: "ctx_", Type: reflect.TypeFor[GemmCtx]()})
}
