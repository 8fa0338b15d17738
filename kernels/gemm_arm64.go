//go:build !purego

package kernels

import (
	"unsafe"

	"github.com/coatnet-edge/coatnet-edge/arm64"
	"golang.org/x/sys/cpu"
)

const (
	gemmTile      = 4 // rows of a micro-kernel tile
	gemmEdgeTiles = 4 // row tiles of the ragged channel block per call
)

var (
	gemmSdotKernel = asmKernel(true, "sdot", 16, 4)
	gemmNeonKernel = asmKernel(false, "neon", 4, 16)
)

// The dot-product kernel where the CPU has it (cpu.ARM64.HasASIMDDP:
// SDOT), else the one on ARMv8.0 NEON, which every arm64 core has.
func init() {
	gemmK.register("sdot", &gemmSdotKernel, cpu.ARM64.HasASIMDDP)
	gemmK.register("neon", &gemmNeonKernel, true)
}

func asmKernel(sdot bool, name string, nr, kc int) gemmKernel {
	return gemmKernel{
		name: name, nr: nr, kc: kc,
		pack: packPanels,
		requant: func(dst []int8, ldDst int, src []int8, ldSrc int, rows int, w *Weights, bias []int32, rq *Requant) {
			gemmAsm(sdot, dst, ldDst, src, ldSrc, rows, w, bias, rq)
		},
		int32: func(dst []int32, ldDst int, src []int8, ldSrc int, rows int, w *Weights) {
			gemmAsm(sdot, dst, ldDst, src, ldSrc, rows, w, nil, nil)
		},
	}
}

// packPanels lays w out for a micro-kernel: panel cb holds channels
// [cb*nr, cb*nr+nr) in kp*nr bytes; inside it, K comes in chunks of kc
// bytes (4 for sdot, 16 for neon), each chunk holding the nr channels' kc
// bytes in turn. The padding is never written, so it stays zero. Whole
// chunks move as words (this runs per inference for attention).
func packPanels(p *Weights, w []int8) {
	m, k, kp, nr, kc := p.m, p.k, p.kp, p.impl.nr, p.impl.kc
	if m == 0 || k == 0 {
		return
	}
	full := k / kc * kc
	for c := range m {
		o := c/nr*kp*nr + c%nr*kc // chunk i/kc of channel c is at o + i*nr
		row := w[c*k : c*k+k]
		_ = p.data[o+(kp-kc)*nr+kc-1] // the last byte of channel c's last chunk
		d, s := unsafe.Pointer(&p.data[o]), unsafe.Pointer(&row[0])
		if kc == 4 {
			for i := 0; i < full; i += 4 {
				*(*uint32)(unsafe.Add(d, i*nr)) = *(*uint32)(unsafe.Add(s, i))
			}
		} else {
			for i := 0; i < full; i += 16 {
				*(*[2]uint64)(unsafe.Add(d, i*nr)) = *(*[2]uint64)(unsafe.Add(s, i))
			}
		}
		if full < k {
			copy(p.data[o+full*nr:o+full*nr+k-full], row[full:])
		}
	}
}

// gemmAsm runs a micro-kernel (gemmSdot if sdot, else gemmNeon) over a
// GEMM whose shapes GemmRequant or GemmInt32 checked: int8 output with rq,
// or int32 sums when rq is nil. The kernel does whole tiles; here are the
// edges. Whole tiles of 4 rows whose K tail can be read where the rows go
// on (16 bytes from the last multiple of 16 stay inside src) run in one
// call for the whole channel blocks and in calls of gemmEdgeTiles tiles
// for the ragged last block, into a scratch whose valid columns are then
// copied out (with the block's parameters copied into zero-padded
// arrays). The remaining rows (a short last tile, tiles whose tail block
// would reach past the end of src) run a tile at a time, a short tile
// repeating its last row, with the K tails copied to a scratch block where
// needed. The kernels are called directly, not through a func value, so
// that ctx and the scratch arrays stay on the stack.
func gemmAsm[T int8 | int32](sdot bool, dst []T, ldDst int, src []int8, ldSrc int, rows int, w *Weights, bias []int32, rq *Requant) {
	m, k, nr := w.m, w.k, w.impl.nr
	if rows == 0 || m == 0 {
		return
	}
	var (
		ctx                  arm64.GemmCtx
		zeros, multT, shiftT [16]int32 // nil bias; per-tensor parameters
		biasE, multE, shiftE [16]int32 // the ragged block's parameters
		tailBuf              [gemmTile * 16]int8
		scratch              [gemmEdgeTiles * gemmTile * 16]T
	)
	elem := int(unsafe.Sizeof(T(0)))
	kFull := k &^ 15
	ctx.KBlocks = kFull / 16
	full := m / nr      // whole channel blocks
	edge := m - full*nr // channels of the ragged block
	c0 := full * nr
	biasF, biasStride := &zeros[0], 0
	if bias != nil {
		biasF, biasStride = &bias[0], 4*nr
		copy(biasE[:edge], bias[c0:])
	}
	multF, shiftF, parStride := &zeros[0], &zeros[0], 0
	if rq != nil {
		ctx.Zp = int(rq.ZeroPoint)
		for _, s := range rq.Shift {
			if s < 0 {
				ctx.LeftShift = 1
			}
		}
		if len(rq.Mult) == 1 {
			for i := range nr {
				multT[i], shiftT[i] = rq.Mult[0], rq.Shift[0]
			}
			multF, shiftF = &multT[0], &shiftT[0]
			copy(multE[:edge], multT[:])
			copy(shiftE[:edge], shiftT[:])
		} else {
			multF, shiftF, parStride = &rq.Mult[0], &rq.Shift[0], 4*nr
			copy(multE[:edge], rq.Mult[c0:])
			copy(shiftE[:edge], rq.Shift[c0:])
		}
	} else {
		ctx.Out32 = 1
	}
	var w0, wEdge *int8 // nil when k = 0: nothing is read
	if k > 0 {
		w0 = &w.data[0]
		if edge > 0 {
			wEdge = &w.data[full*w.kp*nr]
		}
	}
	call := func() {
		if gemmHook != nil {
			gemmHook(w.impl.name)
		}
		if sdot {
			arm64.GemmSdot(&ctx)
		} else {
			arm64.GemmNeon(&ctx)
		}
	}
	fullBlocks := func() {
		ctx.W, ctx.NBlocks = w0, full
		ctx.Bias, ctx.Mult, ctx.Shift = biasF, multF, shiftF
		ctx.BiasStride, ctx.ParamStride = biasStride, parStride
	}
	edgeBlock := func() {
		ctx.W, ctx.NBlocks = wEdge, 1
		ctx.Bias, ctx.Mult, ctx.Shift = &biasE[0], &multE[0], &shiftE[0]
	}
	// Scratch rows are nr values apart; a tile of them 4*nr.
	copyOut := func(r0, n int) {
		for i := range n {
			o := (r0+i)*ldDst + c0
			copy(dst[o:o+edge], scratch[i*nr:])
		}
	}

	// Whole tiles whose K tails can be read in place.
	tiles := rows / gemmTile
	if k > kFull {
		ctx.KTail = 1
		lim := len(src) - kFull - 16 // the last row start whose tail fits
		tiles = 0
		if lim >= 0 {
			tiles = min(rows/gemmTile, (lim/ldSrc+1)/gemmTile)
		}
	}
	if tiles > 0 {
		if k > 0 {
			for i := range gemmTile {
				ctx.Src[i] = &src[i*ldSrc]
			}
		}
		ctx.SrcStep = gemmTile * ldSrc
		if full > 0 {
			fullBlocks()
			for i := range gemmTile {
				ctx.Dst[i] = unsafe.Pointer(&dst[i*ldDst])
			}
			ctx.RowTiles, ctx.DstStep = tiles, (gemmTile*ldDst-c0)*elem
			call()
		}
		if edge > 0 {
			edgeBlock()
			for i := range gemmTile {
				ctx.Dst[i] = unsafe.Pointer(&scratch[i*nr])
			}
			ctx.DstStep = (gemmTile - 1) * nr * elem
			for t0 := 0; t0 < tiles; t0 += gemmEdgeTiles {
				if k > 0 {
					for i := range gemmTile {
						ctx.Src[i] = &src[(t0*gemmTile+i)*ldSrc]
					}
				}
				ctx.RowTiles = min(gemmEdgeTiles, tiles-t0)
				call()
				copyOut(t0*gemmTile, ctx.RowTiles*gemmTile)
			}
		}
	}

	// The other rows, a tile at a time.
	ctx.RowTiles = 1
	for r0 := tiles * gemmTile; r0 < rows; r0 += gemmTile {
		q := min(gemmTile, rows-r0)
		if k > 0 {
			for i := range gemmTile {
				r := r0 + min(i, q-1)
				ctx.Src[i] = &src[r*ldSrc]
				if k > kFull {
					ctx.KTail = 2
					if off := r*ldSrc + kFull; off+16 <= len(src) {
						ctx.Tail[i] = &src[off]
					} else {
						t := tailBuf[16*i : 16*i+16]
						copy(t, src[off:r*ldSrc+k])
						ctx.Tail[i] = &t[0]
					}
				}
			}
		}
		if full > 0 {
			fullBlocks()
			for i := range gemmTile {
				ctx.Dst[i] = unsafe.Pointer(&dst[(r0+min(i, q-1))*ldDst])
			}
			call()
		}
		if edge > 0 {
			edgeBlock()
			for i := range gemmTile {
				ctx.Dst[i] = unsafe.Pointer(&scratch[i*nr])
			}
			call()
			copyOut(r0, q)
		}
	}
}
