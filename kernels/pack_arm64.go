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
	if kFull == p.k {
		return
	}
	for c := range p.m {
		for i := kFull; i < p.k; i++ {
			p.data[p.at(c, i)] = max(src[c*ld+i], -127)
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
		var s int32
		if c >= mFull {
			j0 = 0
		} else if j0 == p.k {
			continue // the assembly set the values and the sum
		} else if sums != nil {
			s = sums[c]
		}
		for j := j0; j < p.k; j++ {
			v := max(src[j*ld+c], -127)
			p.data[p.at(c, j)] = v
			s += int32(v)
		}
		if sums != nil {
			sums[c] = s
		}
	}
}
