//go:build !purego

package kernels

import "github.com/coatnet-edge/coatnet-edge/arm64"

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
	for c := range p.m {
		p.packTail(c, kFull, src, c*ld, 1)
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
// returns their sum. It places a kc chunk at a time, since at divides by
// nr and kc, and attention packs these tails every inference (on the A72
// model they took 1.3 M cycles when at ran per value).
func (p *Weights) packTail(c, j0 int, src []int8, off, step int) int32 {
	kc := p.impl.kc
	var sum int32
	for g := j0; g < p.k; {
		end := min((g/kc+1)*kc, p.k)
		o := p.at(c, g) - g
		for j := g; j < end; j++ {
			v := max(src[off+j*step], -127)
			p.data[o+j] = v
			sum += int32(v)
		}
		g = end
	}
	return sum
}
