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

	// gemmPanelBytes bounds the packed weights of the channel blocks one
	// call runs over every row tile: 64 KB is an eighth of the smallest L2
	// of the Pis (512 KB: the A76's own, the A53's shared by 4 cores), so
	// a group and the rows it multiplies stay there on every thread.
	gemmPanelBytes = 64 << 10

	// zpInt16Max bounds the zero points that the sdot GEMM's common
	// epilogue, Depthwise3x3Sdot, Affine and Add add to int16 values (the
	// same bytes as adding them to int32: arm64/internal/asmgen.Narrow16ZP).
	zpInt16Max = 32640
)

// gemmPanelHook, when set (by tests), is called before each micro-kernel
// call with its first channel block, its channel blocks and its row tiles:
// the kernel reads the blocks' panels in turn for each tile.
var gemmPanelHook func(first, blocks, rowTiles int)

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
// edges and the loop order. The kernel runs every row tile of a call over
// its channel blocks in turn, so the whole channel blocks go in groups of
// at most gemmPanelBytes of packed weights, and each group runs over all
// the rows before the next: a group is read from memory once and then
// from the cache, however many rows there are. For each group, whole tiles
// of 4 rows whose K tail can be read where the rows go on (16 bytes from
// the last multiple of 16 stay inside src) run in one call; the remaining
// rows (a short last tile, tiles whose tail block would reach past the end
// of src) run a tile at a time, a short tile repeating its last row, with
// the K tails copied to a scratch block where needed. The ragged last
// block runs after the groups, in calls of gemmEdgeTiles tiles, into a
// scratch whose valid columns are then copied out (with the block's
// parameters copied into zero-padded arrays). The kernels are called
// directly, not through a func value, so that ctx and the scratch arrays
// stay on the stack.
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
	panel := w.kp * nr // bytes of one block's packed weights
	group := max(1, min(full, gemmPanelBytes/max(panel, 1)))
	biasF, biasStride := &zeros[0], 0
	if bias != nil {
		biasF, biasStride = &bias[0], 4*nr
		copy(biasE[:edge], bias[c0:])
	}
	multF, shiftF, parStride := &zeros[0], &zeros[0], 0
	if rq != nil {
		ctx.Zp = int(rq.ZeroPoint)
		if rq.ZeroPoint < -zpInt16Max || rq.ZeroPoint > zpInt16Max {
			ctx.General = 1
		}
		if rq.leftShifts() {
			ctx.General = 1
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
	call := func() {
		if gemmHook != nil {
			gemmHook(w.impl.name)
		}
		if gemmPanelHook != nil {
			first := 0
			if ctx.W != nil {
				first = int(uintptr(unsafe.Pointer(ctx.W))-uintptr(unsafe.Pointer(&w.data[0]))) / panel
			}
			gemmPanelHook(first, ctx.NBlocks, ctx.RowTiles)
		}
		if sdot {
			arm64.GemmSdot(&ctx)
		} else {
			arm64.GemmNeon(&ctx)
		}
	}
	// blocks points ctx at n channel blocks from block b (nil weights
	// when k = 0: nothing is read); the ragged one's parameters are the
	// padded copies.
	blocks := func(b, n int) {
		ctx.W, ctx.NBlocks = nil, n
		if k > 0 {
			ctx.W = &w.data[b*panel]
		}
		if b < full {
			ctx.Bias = (*int32)(unsafe.Add(unsafe.Pointer(biasF), b*biasStride))
			ctx.Mult = (*int32)(unsafe.Add(unsafe.Pointer(multF), b*parStride))
			ctx.Shift = (*int32)(unsafe.Add(unsafe.Pointer(shiftF), b*parStride))
			ctx.BiasStride, ctx.ParamStride = biasStride, parStride
		} else {
			ctx.Bias, ctx.Mult, ctx.Shift = &biasE[0], &multE[0], &shiftE[0]
		}
	}
	// wholeRows points ctx at the tiles from row r0 on, their K tails read
	// in place.
	wholeRows := func(r0 int) {
		if k > 0 {
			for i := range gemmTile {
				ctx.Src[i] = &src[(r0+i)*ldSrc]
			}
		}
		ctx.KTail = 0
		if k > kFull {
			ctx.KTail = 1
		}
	}
	// tileRows points ctx at the one tile of rows [r0, r0+q), the last
	// repeated, with the K tails copied where they cannot be read in place.
	tileRows := func(r0, q int) {
		ctx.RowTiles = 1
		if k == 0 {
			return
		}
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
	// toDst points the tile's outputs at rows [r0, r0+q) from column c.
	toDst := func(r0, q, c int) {
		for i := range gemmTile {
			ctx.Dst[i] = unsafe.Pointer(&dst[(r0+min(i, q-1))*ldDst+c])
		}
	}
	// Scratch rows are nr values apart; a tile of them 4*nr.
	toScratch := func() {
		for i := range gemmTile {
			ctx.Dst[i] = unsafe.Pointer(&scratch[i*nr])
		}
	}
	copyOut := func(r0, n int) {
		for i := range n {
			o := (r0+i)*ldDst + c0
			copy(dst[o:o+edge], scratch[i*nr:])
		}
	}

	// Whole tiles whose K tails can be read in place.
	tiles := rows / gemmTile
	if k > kFull {
		lim := len(src) - kFull - 16 // the last row start whose tail fits
		tiles = 0
		if lim >= 0 {
			tiles = min(rows/gemmTile, (lim/ldSrc+1)/gemmTile)
		}
	}
	ctx.SrcStep = gemmTile * ldSrc

	for b := 0; b < full; b += group {
		n := min(group, full-b)
		blocks(b, n)
		if tiles > 0 {
			wholeRows(0)
			toDst(0, gemmTile, b*nr)
			ctx.RowTiles, ctx.DstStep = tiles, (gemmTile*ldDst-n*nr)*elem
			call()
		}
		for r0 := tiles * gemmTile; r0 < rows; r0 += gemmTile {
			q := min(gemmTile, rows-r0)
			tileRows(r0, q)
			toDst(r0, q, b*nr)
			call()
		}
	}
	if edge > 0 {
		blocks(full, 1)
		toScratch()
		ctx.DstStep = (gemmTile - 1) * nr * elem
		for t0 := 0; t0 < tiles; t0 += gemmEdgeTiles {
			wholeRows(t0 * gemmTile)
			ctx.RowTiles = min(gemmEdgeTiles, tiles-t0)
			call()
			copyOut(t0*gemmTile, ctx.RowTiles*gemmTile)
		}
		for r0 := tiles * gemmTile; r0 < rows; r0 += gemmTile {
			q := min(gemmTile, rows-r0)
			tileRows(r0, q)
			call()
			copyOut(r0, q)
		}
	}
}
