//go:build !purego

package kernels

import "github.com/coatnet-edge/coatnet-edge/arm64"

func init() { im2colK.register("neon", im2col3x3Asm, true) }

type im2colCtx = arm64.Im2colCtx

// im2colRun is the NEON kernel of im2col3x3Asm.
func im2colRun(ctx *im2colCtx) { arm64.Im2col3x3(ctx) }
