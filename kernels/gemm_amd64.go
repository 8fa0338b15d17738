//go:build !purego

package kernels

import (
	"math"
	"unsafe"

	"github.com/coatnet-edge/coatnet-edge/amd64"
	"golang.org/x/sys/cpu"
)

const (
	gemmTile      = 4  // rows of a micro-kernel tile
	gemmEdgeTiles = 4  // row tiles of the ragged channel block per call
	gemmMaxNR     = 32 // the widest panel (avx512vnni)
)

// The x86-64 GEMM micro-kernels, by how they multiply.
const (
	x86AVX512VNNI = iota
	x86AVXVNNI
	x86AVX2
)

var (
	gemmAVX512VNNIKernel = x86Kernel(x86AVX512VNNI, "avx512vnni", 32)
	gemmAVXVNNIKernel    = x86Kernel(x86AVXVNNI, "avxvnni", 16)
	gemmAVX2Kernel       = x86Kernel(x86AVX2, "avx2", 16)
)

// Best first: AVX-512 VNNI (Zen 4/5, Ice Lake and later Xeons), AVX-VNNI
// (Alder Lake and the N100, Zen 5), AVX2 (every x86-64-v3 core).
func init() {
	gemmK.register("avx512vnni", &gemmAVX512VNNIKernel, cpu.X86.HasAVX512F && cpu.X86.HasAVX512VNNI)
	gemmK.register("avxvnni", &gemmAVXVNNIKernel, cpu.X86.HasAVX2 && cpu.X86.HasAVXVNNI)
	gemmK.register("avx2", &gemmAVX2Kernel, cpu.X86.HasAVX2)
}

func x86Kernel(variant int, name string, nr int) gemmKernel {
	var sumPanels func(p *Weights)
	if variant == x86AVX512VNNI {
		sumPanels = weightSumsAVX512VNNI
	}
	return gemmKernel{
		sumPanels: sumPanels,
		name:      name, nr: nr, kc: 4, sums: variant != x86AVX2, tailLast: true,
		pack: packGroups,
		requant: func(dst []int8, ldDst int, src []int8, ldSrc int, rows int, w *Weights, bias []int32, rq *Requant) {
			gemmX86(variant, dst, ldDst, src, ldSrc, rows, w, bias, rq)
		},
		int32: func(dst []int32, ldDst int, src []int8, ldSrc int, rows int, w *Weights) {
			gemmX86(variant, dst, ldDst, src, ldSrc, rows, w, nil, nil)
		},
	}
}

// weightSumsAVX512VNNI is setSums in assembly for the AVX-512 VNNI
// layout (the CPU has the instructions wherever that kernel is chosen):
// the sums of whole panels, padding channels included, as setSums4
// computes them.
func weightSumsAVX512VNNI(p *Weights) {
	if len(p.data) == 0 {
		return
	}
	nr := p.impl.nr
	ctx := amd64.SumsCtx{Data: &p.data[0], Sums: &p.sums[0], Panels: len(p.sums) / nr, Groups: p.kp / 4, NR: nr}
	amd64.WeightSumsAVX512VNNI(&ctx)
}

// avx2Shuffle is GemmAVX2's widening shuffle, the bytes of each group's
// int16 x0 x1 x2 x3 to x0 x2 x1 x3 (per 128 bits: 0 1 4 5 2 3 6 7, and
// the same for the next group).
var avx2Shuffle = [4]int32{0x05040100, 0x07060302, 0x0D0C0908, 0x0F0E0B0A}

// packGroups lays w out for an x86 micro-kernel: panel cb holds channels
// [cb*nr, cb*nr+nr) in kp*nr bytes, for every group of 4 k the nr
// channels' 4 bytes. A ragged last group (k%4 = t > 0) is the one the
// kernel reads at the last 4 bytes of the row: 4-t zeros, then the last
// t values. With Weights.sums, it also sets -128*sum(w) per channel, the
// correction of the kernels that take x+128 as the unsigned operand.
// It does not allocate (this runs per inference for attention).
func packGroups(p *Weights, w []int8) {
	m, k, kp, nr := p.m, p.k, p.kp, p.impl.nr
	if m == 0 || k == 0 {
		return
	}
	full := k &^ 3
	for c := range m {
		o := c/nr*kp*nr + c%nr*4 // group i/4 of channel c is at o + i*nr
		row := w[c*k : c*k+k]
		_ = p.data[o+(kp-4)*nr+3] // the last byte of channel c's last group
		d, s := unsafe.Pointer(&p.data[o]), unsafe.Pointer(&row[0])
		for i := 0; i < full; i += 4 {
			*(*uint32)(unsafe.Add(d, i*nr)) = *(*uint32)(unsafe.Add(s, i))
		}
		if t := k - full; t > 0 {
			g := p.data[o+full*nr : o+full*nr+4]
			clear(g[:4-t])
			copy(g[4-t:], row[full:])
		}
		if p.sums != nil {
			var sum int32
			for _, v := range row {
				sum += int32(v)
			}
			p.sums[c] = -128 * sum
		}
	}
}

// gemmX86 runs a micro-kernel over a GEMM whose shapes GemmRequant or
// GemmInt32 checked: int8 output with rq, or int32 sums when rq is nil.
// The kernel does whole tiles of 4 rows and reads each row's groups of 4
// k in place, a ragged last group at the row's last 4 bytes, so nothing
// outside src is read when k >= 4; for k < 4 the rows are copied into a
// scratch a tile at a time. Whole tiles run in one call for the whole
// channel blocks and in calls of gemmEdgeTiles tiles for the ragged last
// block, into a scratch whose valid columns are then copied out (with the
// block's parameters copied into zero-padded arrays); a short last tile
// repeats its last row. The kernels are called directly, not through a
// func value, so that ctx and the scratch arrays stay on the stack.
func gemmX86[T int8 | int32](variant int, dst []T, ldDst int, src []int8, ldSrc int, rows int, w *Weights, bias []int32, rq *Requant) {
	m, k, nr := w.m, w.k, w.impl.nr
	if rows == 0 || m == 0 {
		return
	}
	var (
		ctx                  amd64.GemmCtx
		zeros, multT, shiftT [gemmMaxNR]int32 // nil bias or sums; per-tensor parameters
		biasE, multE, shiftE [gemmMaxNR]int32 // the ragged block's parameters
		rowBuf               [gemmTile][4]int8
		scratch              [gemmEdgeTiles * gemmTile * gemmMaxNR]T
	)
	elem := int(unsafe.Sizeof(T(0)))
	ctx.KMain = k / 4
	if k%4 != 0 {
		ctx.KTail, ctx.TailOff = 1, k%4-4
	}
	ctx.PanelSkip = (w.kp - (k+3)&^3) * nr
	if variant == x86AVX2 && k > amd64.GemmAVX2MaxK {
		ctx.InPlace = 1
	}
	full := m / nr      // whole channel blocks
	edge := m - full*nr // channels of the ragged block
	c0 := full * nr
	for i := range 8 {
		ctx.CMin[i], ctx.CMax[i], ctx.C32[i] = math.MinInt32, math.MaxInt32, 32
		ctx.CByte[i] = -0x7f7f7f80 // 0x80808080
		if variant == x86AVX2 {
			ctx.CByte[i] = avx2Shuffle[i%4]
		}
	}
	for i := range 4 {
		ctx.C2p30[i] = 1 << 30
	}
	initF, initE, initMask := &zeros[0], &zeros[0], 0
	if w.sums != nil {
		initF, initMask = &w.sums[0], -1
		if edge > 0 {
			initE = &w.sums[c0]
		}
	}
	biasF, biasMask := &zeros[0], 0
	if bias != nil {
		biasF, biasMask = &bias[0], -1
		copy(biasE[:edge], bias[c0:])
	}
	multF, shiftF, paramMask := &zeros[0], &zeros[0], 0
	if rq != nil {
		lo, hi := outputClamp(rq.ZeroPoint)
		for i := range 8 {
			ctx.Lo[i], ctx.Hi[i], ctx.Zp[i] = lo, hi, rq.ZeroPoint
		}
		if rq.leftShifts() {
			ctx.LeftShift = 1
		}
		if rq.saturatingMults() {
			ctx.SatMult = 1
		}
		if zpFitsInt16(rq.ZeroPoint) {
			ctx.Zp16 = 1
			amd64.Fill8(&ctx.ZpWords, int32(uint16(rq.ZeroPoint))*0x10001)
		}
		if len(rq.Mult) == 1 {
			for i := range nr {
				multT[i], shiftT[i] = rq.Mult[0], rq.Shift[0]
			}
			multF, shiftF = &multT[0], &shiftT[0]
			copy(multE[:edge], multT[:])
			copy(shiftE[:edge], shiftT[:])
		} else {
			multF, shiftF, paramMask = &rq.Mult[0], &rq.Shift[0], -1
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
		switch variant {
		case x86AVX512VNNI:
			amd64.GemmAVX512VNNI(&ctx)
		case x86AVXVNNI:
			amd64.GemmAVXVNNI(&ctx)
		default:
			amd64.GemmAVX2(&ctx)
		}
	}
	fullBlocks := func() {
		ctx.W, ctx.NBlocks = w0, full
		ctx.Init, ctx.Bias, ctx.Mult, ctx.Shift = initF, biasF, multF, shiftF
		ctx.InitMask, ctx.BiasMask, ctx.ParamMask = initMask, biasMask, paramMask
	}
	edgeBlock := func() {
		ctx.W, ctx.NBlocks = wEdge, 1
		ctx.Init, ctx.Bias, ctx.Mult, ctx.Shift = initE, &biasE[0], &multE[0], &shiftE[0]
		ctx.InitMask, ctx.BiasMask, ctx.ParamMask = initMask, -1, -1
	}
	// Scratch rows are nr values apart; a tile of them 4*nr.
	copyOut := func(r0, n int) {
		for i := range n {
			o := (r0+i)*ldDst + c0
			copy(dst[o:o+edge], scratch[i*nr:])
		}
	}

	// Whole tiles, their rows read in place.
	tiles := rows / gemmTile
	if k > 0 && k < 4 {
		tiles = 0
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

	// The other rows, a tile at a time: a short last tile, or every tile
	// when k < 4 (rows copied right-aligned into rowBuf, where the kernel
	// reads their one group at the last 4 bytes).
	ctx.RowTiles = 1
	for r0 := tiles * gemmTile; r0 < rows; r0 += gemmTile {
		q := min(gemmTile, rows-r0)
		if k > 0 {
			for i := range gemmTile {
				r := r0 + min(i, q-1)
				if k < 4 {
					copy(rowBuf[i][4-k:], src[r*ldSrc:r*ldSrc+k])
					ctx.Src[i] = &rowBuf[i][4-k]
				} else {
					ctx.Src[i] = &src[r*ldSrc]
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

// outputClamp returns the bounds an int32 x is clamped to so that x +
// zero, in int32 without overflow, saturates to the int8 of sat8(x+zero).
func outputClamp(zero int32) (lo, hi int32) {
	z := int64(zero)
	return int32(min(max(-128-z, math.MinInt32), math.MaxInt32)), int32(min(max(127-z, math.MinInt32), math.MaxInt32))
}

// mergedRequant returns the shift and rounding constant of the merged
// form of a requantization's SQRDMULH and rounding right shift
// (amd64/requant_amd64.h), for a per-tensor shift: with r = max(shift,
// 0), x*mult's 64-bit product plus 2^30 + 2^(30+r) (no 2^(30+r) for r =
// 0), shifted right by 31+r.
func mergedRequant(shift int32) (s, c int64) {
	r := int64(max(shift, 0))
	s, c = 31+r, 1<<30
	if r > 0 {
		c += 1 << (30 + r)
	}
	return s, c
}
