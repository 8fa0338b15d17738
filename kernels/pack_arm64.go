//go:build !purego

package kernels

import (
	"math/bits"

	"github.com/coatnet-edge/coatnet-edge/arm64"
)

func init() {
	packStridedK.register("neon", packStridedNeon, true)
	packTransposedK.register("neon", packTransposedNeon, true)
}

// neonLayout reports whether the assembly packers know the panel layout:
// the arm64 GEMMs' (16 channels of 4 bytes for sdot, 4 of 16 for neon).
// Others (the plain layout, or any a test makes) are packed in Go.
func neonLayout(nr, kc int) bool { return nr == 16 && kc == 4 || nr == 4 && kc == 16 }

// packStridedNeon packs the first multiple of 16 values of every row in
// assembly, the rest in Go.
func packStridedNeon(p *Weights, src []int8, ld int) {
	nr, kc := p.impl.nr, p.impl.kc
	kFull := p.k &^ 15
	if !neonLayout(nr, kc) || p.m == 0 || kFull == 0 {
		packStridedRef(p, src, ld)
		return
	}
	if asmHook != nil {
		asmHook(NamePackStrided)
	}
	ctx := arm64.PackCtx{Src: &src[0], Ld: ld, Data: &p.data[0], M: p.m, Kb: kFull / 16, PanelBytes: p.kp * nr}
	if kc == 4 {
		ctx.Sdot = 1
	}
	arm64.PackStrided(&ctx)
	if kFull < p.k {
		for c := range p.m {
			p.packTail(c, kFull, src, c*ld, 1)
		}
	}
}

// packTransposedNeon packs whole panels and chunks in assembly, the rest
// in Go.
func packTransposedNeon(p *Weights, src []int8, ld int, sums []int32) {
	nr, kc := p.impl.nr, p.impl.kc
	mFull, kFull := p.m/max(nr, 1)*nr, p.k/max(kc, 1)*kc
	if !neonLayout(nr, kc) || mFull == 0 || kFull == 0 {
		packTransposedRef(p, src, ld, sums)
		return
	}
	if asmHook != nil {
		asmHook(NamePackTransposed)
	}
	ctx := arm64.PackCtx{Src: &src[0], Ld: ld, Data: &p.data[0], M: mFull / nr, Kb: kFull / kc, PanelBytes: p.kp * nr}
	if kc == 4 {
		ctx.Sdot = 1
	}
	if sums != nil {
		ctx.Sums = &sums[0]
	}
	arm64.PackTransposed(&ctx)
	for c := range p.m {
		j0 := kFull
		if c >= mFull {
			j0 = 0
		}
		if j0 == p.k {
			continue // the assembly set the values and the sum
		}
		s := p.packTail(c, j0, src, c, ld)
		if sums != nil {
			if c < mFull {
				s += sums[c]
			}
			sums[c] = s
		}
	}
}

// packTail sets values j0..k-1 of row c to max(src[off+j*step], -127) and
// returns their sum; j0 is a multiple of kc. It places them as at does,
// but with shifts: nr and kc are powers of two in the layouts of
// neonLayout, and at divides by them (four divisions a value), which on
// the A72 model cost 1.3 M cycles an inference in attention's tails.
func (p *Weights) packTail(c, j0 int, src []int8, off, step int) int32 {
	nr, kc := p.impl.nr, p.impl.kc
	nrLog, kcLog := bits.TrailingZeros(uint(nr)), bits.TrailingZeros(uint(kc))
	o := c>>nrLog*p.kp*nr + c&(nr-1)<<kcLog + j0>>kcLog*kc*nr // value j0
	var sum int32
	for g := j0; g < p.k; g += kc {
		for j := g; j < min(g+kc, p.k); j++ {
			v := max(src[off+j*step], -127)
			p.data[o+j-g] = v
			sum += int32(v)
		}
		o += kc * nr
	}
	return sum
}
