//go:build !purego

package kernels

import (
	"github.com/coatnet-edge/coatnet-edge/amd64"
	"golang.org/x/sys/cpu"
)

func init() {
	packStridedK.register("avx2", packStridedAVX2, cpu.X86.HasAVX2)
	packTransposedK.register("avx2", packTransposedAVX2, cpu.X86.HasAVX2)
}

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

// packTransposedAVX2 packs blocks of channels in assembly and the rest in
// Go: the plain layout (nr = 0) and panels of 16 values per channel (nr a
// multiple of 16) in blocks of 16 channels x 16 rows, panels of 4 values
// per channel (nr a multiple of 8, the x86 GEMMs') in blocks of 32
// channels x 4 rows. A ragged last block of channels overlaps the one
// before it, rewriting the same values, where the layout allows (the
// plain one, and 8-channel steps of 4-value panels). Go packs the rows
// after the last whole block and the channels after the last block, and
// adds those rows to the sums. Other layouts and smaller shapes run the
// reference.
func packTransposedAVX2(p *Weights, src []int8, ld int, sums []int32) {
	m, k, nr, kc := p.m, p.k, p.impl.nr, p.impl.kc
	var width, kFull int // channels per block, rows in whole blocks
	switch {
	case (nr == 0 || kc == 16 && nr%16 == 0) && m >= 16 && k >= 16:
		width, kFull = 16, k&^15
	case kc == 4 && nr%8 == 0 && m >= 32 && k >= 4:
		width, kFull = 32, k&^3
	default:
		packTransposedRef(p, src, ld, sums)
		return
	}
	if asmHook != nil {
		asmHook(NamePackTransposed)
	}
	ctx := amd64.PackTCtx{Ld: ld}
	if width == 16 {
		ctx.N, ctx.Step, ctx.JStep = kFull/16, p.k, 16
		if nr > 0 {
			ctx.Step, ctx.JStep = 16, 16*nr
		}
	} else {
		ctx.N, ctx.Step = kFull/4, 4*nr
	}
	cover := 0 // channels [0, cover) have their rows [0, kFull) packed
	for b := 0; cover < m; b += width {
		if b+width > m {
			if nr > 0 && width == 16 {
				break // a panel's 16 channels cannot start anywhere
			}
			b = m - width
			if nr > 0 {
				b &^= 7 // 8-channel runs stay inside a panel
			}
			if b+width <= cover {
				break
			}
		}
		_ = src[(kFull-1)*ld+b+width-1]
		_ = p.data[p.at(b+width-1, kFull-1)]
		ctx.Src, ctx.Dst, ctx.Sums = &src[b], &p.data[p.at(b, 0)], nil
		if sums != nil {
			ctx.Sums = &sums[b]
		}
		if width == 16 {
			amd64.PackTransposedRows(&ctx)
		} else {
			for q := range ctx.Off {
				ctx.Off[q] = p.at(b+8*q, 0) - p.at(b, 0)
			}
			amd64.PackTransposedGroups(&ctx)
		}
		cover = b + width
	}
	for c := range m {
		j0 := kFull
		var s int32
		if c >= cover {
			j0 = 0
		} else if sums != nil {
			s = sums[c]
		}
		for j := j0; j < k; j++ {
			v := max(src[j*ld+c], -127)
			p.data[p.at(c, j)] = v
			s += int32(v)
		}
		if sums != nil {
			sums[c] = s
		}
	}
}
