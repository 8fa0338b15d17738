//go:build !purego

package kernels

import (
	"github.com/coatnet-edge/coatnet-edge/amd64"
	"golang.org/x/sys/cpu"
)

func init() { packStridedK.register("avx2", packStridedAVX2, cpu.X86.HasAVX2) }

// packStridedAVX2 packs each row's whole chunks in assembly, one call per
// row, and the rest in Go: the plain layout (nr = 0) as one chunk of k
// bytes when k >= 32, a panel layout in chunks of kc bytes (4, 8, 16 or
// at least 32) whatever the GEMM that packed it. Other shapes run the
// reference.
func packStridedAVX2(p *Weights, src []int8, ld int) {
	nr, kc := p.impl.nr, p.impl.kc
	chunk, stride := kc, kc*nr
	if nr == 0 {
		chunk, stride = p.k, p.k
	}
	full := 0
	if chunk == 4 || chunk == 8 || chunk == 16 || chunk >= 32 {
		full = p.k / chunk * chunk
	}
	if p.m == 0 || full == 0 {
		packStridedRef(p, src, ld)
		return
	}
	if asmHook != nil {
		asmHook(NamePackStrided)
	}
	ctx := amd64.PackCtx{N: full / chunk, Chunk: chunk, DStride: stride}
	for c := range p.m {
		ctx.Src, ctx.Dst = &src[c*ld], &p.data[p.at(c, 0)]
		amd64.PackStrided(&ctx)
		for i := full; i < p.k; i++ {
			p.data[p.at(c, i)] = max(src[c*ld+i], -127)
		}
	}
}
