//go:build !purego

package amd64

// PackStrided copies one row of PackStrided into its packed chunks,
// clamping every value to [-127, 127], AVX2 (pack_amd64.s).
//
//go:noescape
func PackStrided(ctx *PackCtx)

// PackCtx is the argument block of PackStrided (offsets checked by a
// test).
type PackCtx struct {
	Src     *int8 // the row's first value
	Dst     *int8 // its first chunk
	N       int   // chunks, at least 1
	Chunk   int   // bytes per chunk: 4, 8, 16, or at least 32
	DStride int   // bytes between the chunks in Dst
}

// PackTransposedRows packs one block of 16 channels of PackTransposed,
// n blocks of 16 source rows, into channel rows of 16-value chunks (the
// plain layout, or panels of 16 values per channel), clamping to
// [-127, 127] and setting the 16 channels' sums over those rows, AVX2
// (pack_amd64.s).
//
//go:noescape
func PackTransposedRows(ctx *PackTCtx)

// PackTransposedGroups packs one block of 32 channels of PackTransposed,
// n groups of 4 source rows, into panels of 4 values per channel (four
// runs of 8 channels each), clamping to [-127, 127] and setting the 32
// channels' sums over those rows, AVX2 (pack_amd64.s).
//
//go:noescape
func PackTransposedGroups(ctx *PackTCtx)

// PackTCtx is the argument block of PackTransposedRows and
// PackTransposedGroups (offsets checked by a test).
type PackTCtx struct {
	Src   *int8  // source row 0 at the block's first channel
	Ld    int    // bytes between source rows
	Dst   *int8  // the block's first channel's first chunk
	Off   [4]int // Groups: offsets from Dst of channels 0, 8, 16 and 24
	Step  int    // Rows: bytes between the channels' chunks; Groups: between successive groups of 4 rows
	JStep int    // Rows: bytes between the chunks of successive blocks of 16 rows
	N     int    // blocks of 16 rows (Rows) or groups of 4 rows (Groups), at least 1
	Sums  *int32 // nil, or the block's 16 or 32 channel sums, overwritten
}

// WeightSumsAVX512VNNI sets ctx.Sums[c] = -128 * (the sum of channel c's
// packed values) for every channel of ctx.Panels panels of NR (a multiple
// of 16) channels in groups of 4 bytes (package kernels' x86 layout), 16
// channels a VPDPBUSD of ones (pack_amd64.s; AVX-512 F and VNNI).
//
//go:noescape
func WeightSumsAVX512VNNI(ctx *SumsCtx)

// SumsCtx is the argument block of WeightSumsAVX512VNNI (offsets checked
// by a test).
type SumsCtx struct {
	Data   *int8  // the first panel
	Sums   *int32 // Panels*NR values
	Panels int
	Groups int // groups of 4 k a channel
	NR     int // channels a panel
}
