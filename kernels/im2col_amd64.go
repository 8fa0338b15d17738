//go:build !purego

package kernels

import (
	"github.com/coatnet-edge/coatnet-edge/amd64"
	"golang.org/x/sys/cpu"
)

func init() { im2colK.register("avx2", im2col3x3Asm, cpu.X86.HasAVX2) }

type im2colCtx = amd64.Im2colCtx

// im2colRun is the AVX2 kernel of im2col3x3Asm.
func im2colRun(ctx *im2colCtx) { amd64.Im2col3x3(ctx) }
