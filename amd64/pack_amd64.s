//go:build !purego

// The AVX2 kernel of Weights.PackStrided (see ../kernels/pack_amd64.go for
// the driver): n chunks of chunk bytes, consecutive in src, to dst chunks
// dStride apart, each value clamped to [-127, 127] (VPMAXSB). A chunk of
// 32 bytes or more moves 32 at a time with an overlapping last 32 (the
// clamp is idempotent); 16, 8 and 4 byte chunks move in one piece.
//
// Registers: R13 ctx, SI src, DI dst, CX chunks left, R8 chunk, R9
// dStride, R10 index, AX chunk-32; Y1 -127 in every byte.

#include "textflag.h"

#define pk_src 0
#define pk_dst 8
#define pk_n 16
#define pk_chunk 24
#define pk_dStride 32

DATA pkmin<>+0(SB)/8, $0x8181818181818181
DATA pkmin<>+8(SB)/8, $0x8181818181818181
DATA pkmin<>+16(SB)/8, $0x8181818181818181
DATA pkmin<>+24(SB)/8, $0x8181818181818181
GLOBL pkmin<>(SB), RODATA|NOPTR, $32

// func PackStrided(ctx *PackCtx)
TEXT ·PackStrided(SB), NOSPLIT, $0-8
	MOVQ ctx+0(FP), R13
	MOVQ pk_src(R13), SI
	MOVQ pk_dst(R13), DI
	MOVQ pk_n(R13), CX
	MOVQ pk_chunk(R13), R8
	MOVQ pk_dStride(R13), R9
	VMOVDQU pkmin<>(SB), Y1
	CMPQ R8, $4
	JEQ pk_c4
	CMPQ R8, $8
	JEQ pk_c8
	CMPQ R8, $16
	JEQ pk_c16
	LEAQ -32(R8), AX

pk_c32:
	XORQ R10, R10

pk_c32loop:
	VPMAXSB (SI)(R10*1), Y1, Y0
	VMOVDQU Y0, (DI)(R10*1)
	ADDQ $32, R10
	CMPQ R10, AX
	JLT pk_c32loop
	VPMAXSB -32(SI)(R8*1), Y1, Y0
	VMOVDQU Y0, -32(DI)(R8*1)
	ADDQ R8, SI
	ADDQ R9, DI
	DECQ CX
	JNZ pk_c32
	JMP pk_done

pk_c16:
	VPMAXSB (SI), X1, X0
	VMOVDQU X0, (DI)
	ADDQ $16, SI
	ADDQ R9, DI
	DECQ CX
	JNZ pk_c16
	JMP pk_done

pk_c8:
	VMOVQ (SI), X0
	VPMAXSB X1, X0, X0
	VMOVQ X0, (DI)
	ADDQ $8, SI
	ADDQ R9, DI
	DECQ CX
	JNZ pk_c8
	JMP pk_done

pk_c4:
	VMOVD (SI), X0
	VPMAXSB X1, X0, X0
	VMOVD X0, (DI)
	ADDQ $4, SI
	ADDQ R9, DI
	DECQ CX
	JNZ pk_c4

pk_done:
	VZEROUPPER
	RET

// The AVX2 kernels of Weights.PackTransposed (see ../kernels/pack_amd64.go
// for the driver): W[c][j] = max(src[j*ld+c], -127) for one block of
// channels, by byte transposes with VPUNPCK*, and the block's channel sums
// over the rows done, overwritten (so that a last block may overlap the
// one before it).
//
// PackTransposedRows, 16 channels x 16 rows per step: Y0-Y7 get rows r
// and r+8 in their two lanes (VINSERTI128), three rounds of unpacks
// (bytes, words, dwords; Y8-Y15, Y0-Y7, Y8-Y15) leave in each lane two
// channels' 8 values, and VPERMQ joins each channel's two halves, stored
// 16 bytes per channel at dst + c*step. The sums: after the byte round
// VPMADDUBSW of ones adds each channel's pairs of rows in int16 (at most
// 8*127 per lane), the lanes are added, widened and added to sums.
//
// Registers: R13 ctx, SI src rows 0-3, AX rows 4-7, BX rows 8-11, CX rows
// 12-15, R8 ld, R9 3*ld, DI dst, DX step, R11 3*step, R12 the pointer to
// the chunks of channels 4-15, R10 blocks left, R14 sums.
//
// PackTransposedGroups, 32 channels x 4 rows per step: rows 0-3 (Y0-Y3,
// clamped as they load), bytes then words unpacked (Y4-Y7, Y0-Y3) give in
// each lane 4 channels' 4 values, and VPERM2I128 puts 8 channels in order
// in each of Y4-Y7, stored at dst + off[0..3]. The sums: VPMADDUBSW of
// ones adds pairs of rows into int16 accumulators Y8-Y11 (at most 254 a
// step), which VPMADDWD widens and adds to sums every 64 steps.
//
// Registers: R13 ctx, SI src, R8 ld, R9 3*ld, DI dst, BX R10 R11 R12
// off[0..3], DX step, CX groups left, AX steps to the next flush, R14
// sums; Y12 ones (int16), Y13 scratch, Y14 ones (bytes), Y15 -127.

#define pt_src 0
#define pt_ld 8
#define pt_dst 16
#define pt_off 24
#define pt_step 56
#define pt_jStep 64
#define pt_n 72
#define pt_sums 80

DATA ptones8<>+0(SB)/8, $0x0101010101010101
DATA ptones8<>+8(SB)/8, $0x0101010101010101
DATA ptones8<>+16(SB)/8, $0x0101010101010101
DATA ptones8<>+24(SB)/8, $0x0101010101010101
GLOBL ptones8<>(SB), RODATA|NOPTR, $32
DATA ptones16<>+0(SB)/8, $0x0001000100010001
DATA ptones16<>+8(SB)/8, $0x0001000100010001
DATA ptones16<>+16(SB)/8, $0x0001000100010001
DATA ptones16<>+24(SB)/8, $0x0001000100010001
GLOBL ptones16<>(SB), RODATA|NOPTR, $32

// PTLOAD loads rows r (at P) and r+8 (at Q) of 16 channels into the lanes
// of Y, clamped.
#define PTLOAD(P, Q, X, Y) \
	VMOVDQU P, X; \
	VINSERTI128 $1, Q, Y, Y; \
	VPMAXSB pkmin<>(SB), Y, Y

// PTSTORE stores Y's two channels, whose first 16 values are in Y's low
// lane and the rest in its high lane, after joining their halves.
#define PTSTORE(X, Y, P, Q) \
	VPERMQ $0xD8, Y, Y; \
	VMOVDQU X, P; \
	VEXTRACTI128 $1, Y, Q

// func PackTransposedRows(ctx *PackTCtx)
TEXT ·PackTransposedRows(SB), NOSPLIT, $0-8
	MOVQ ctx+0(FP), R13
	MOVQ pt_src(R13), SI
	MOVQ pt_ld(R13), R8
	LEAQ (R8)(R8*2), R9
	MOVQ pt_dst(R13), DI
	MOVQ pt_step(R13), DX
	LEAQ (DX)(DX*2), R11
	MOVQ pt_n(R13), R10
	MOVQ pt_sums(R13), R14
	TESTQ R14, R14
	JZ ptr_loop
	VPXOR Y0, Y0, Y0
	VMOVDQU Y0, (R14)
	VMOVDQU Y0, 32(R14)

ptr_loop:
	LEAQ (SI)(R8*4), AX
	LEAQ (AX)(R8*4), BX
	LEAQ (BX)(R8*4), CX
	PTLOAD((SI), (BX), X0, Y0)
	PTLOAD((SI)(R8*1), (BX)(R8*1), X1, Y1)
	PTLOAD((SI)(R8*2), (BX)(R8*2), X2, Y2)
	PTLOAD((SI)(R9*1), (BX)(R9*1), X3, Y3)
	PTLOAD((AX), (CX), X4, Y4)
	PTLOAD((AX)(R8*1), (CX)(R8*1), X5, Y5)
	PTLOAD((AX)(R8*2), (CX)(R8*2), X6, Y6)
	PTLOAD((AX)(R9*1), (CX)(R9*1), X7, Y7)

	// Bytes: each lane's words are channels 0-7 (L) or 8-15 (H) of a
	// pair of rows.
	VPUNPCKLBW Y1, Y0, Y8
	VPUNPCKHBW Y1, Y0, Y9
	VPUNPCKLBW Y3, Y2, Y10
	VPUNPCKHBW Y3, Y2, Y11
	VPUNPCKLBW Y5, Y4, Y12
	VPUNPCKHBW Y5, Y4, Y13
	VPUNPCKLBW Y7, Y6, Y14
	VPUNPCKHBW Y7, Y6, Y15

	TESTQ R14, R14
	JZ ptr_nosums
	VMOVDQU ptones8<>(SB), Y0
	VPMADDUBSW Y8, Y0, Y1
	VPMADDUBSW Y10, Y0, Y2
	VPADDW Y2, Y1, Y1
	VPMADDUBSW Y12, Y0, Y2
	VPADDW Y2, Y1, Y1
	VPMADDUBSW Y14, Y0, Y2
	VPADDW Y2, Y1, Y1
	VPMADDUBSW Y9, Y0, Y3
	VPMADDUBSW Y11, Y0, Y2
	VPADDW Y2, Y3, Y3
	VPMADDUBSW Y13, Y0, Y2
	VPADDW Y2, Y3, Y3
	VPMADDUBSW Y15, Y0, Y2
	VPADDW Y2, Y3, Y3
	VEXTRACTI128 $1, Y1, X2
	VPADDW X2, X1, X1
	VPMOVSXWD X1, Y1
	VPADDD (R14), Y1, Y1
	VMOVDQU Y1, (R14)
	VEXTRACTI128 $1, Y3, X2
	VPADDW X2, X3, X3
	VPMOVSXWD X3, Y3
	VPADDD 32(R14), Y3, Y3
	VMOVDQU Y3, 32(R14)

ptr_nosums:
	// Words: each lane's dwords are 4 channels of 4 rows.
	VPUNPCKLWD Y10, Y8, Y0
	VPUNPCKHWD Y10, Y8, Y1
	VPUNPCKLWD Y11, Y9, Y2
	VPUNPCKHWD Y11, Y9, Y3
	VPUNPCKLWD Y14, Y12, Y4
	VPUNPCKHWD Y14, Y12, Y5
	VPUNPCKLWD Y15, Y13, Y6
	VPUNPCKHWD Y15, Y13, Y7

	// Dwords: each lane's qwords are 2 channels of 8 rows, Y8 channels
	// 0 and 1, Y9 2 and 3, ..., Y15 14 and 15.
	VPUNPCKLDQ Y4, Y0, Y8
	VPUNPCKHDQ Y4, Y0, Y9
	VPUNPCKLDQ Y5, Y1, Y10
	VPUNPCKHDQ Y5, Y1, Y11
	VPUNPCKLDQ Y6, Y2, Y12
	VPUNPCKHDQ Y6, Y2, Y13
	VPUNPCKLDQ Y7, Y3, Y14
	VPUNPCKHDQ Y7, Y3, Y15

	PTSTORE(X8, Y8, (DI), (DI)(DX*1))
	PTSTORE(X9, Y9, (DI)(DX*2), (DI)(R11*1))
	LEAQ (DI)(DX*4), R12
	PTSTORE(X10, Y10, (R12), (R12)(DX*1))
	PTSTORE(X11, Y11, (R12)(DX*2), (R12)(R11*1))
	LEAQ (R12)(DX*4), R12
	PTSTORE(X12, Y12, (R12), (R12)(DX*1))
	PTSTORE(X13, Y13, (R12)(DX*2), (R12)(R11*1))
	LEAQ (R12)(DX*4), R12
	PTSTORE(X14, Y14, (R12), (R12)(DX*1))
	PTSTORE(X15, Y15, (R12)(DX*2), (R12)(R11*1))

	LEAQ (CX)(R8*4), SI
	ADDQ pt_jStep(R13), DI
	DECQ R10
	JNZ ptr_loop
	VZEROUPPER
	RET

// PTFLUSH adds the int16 pair sums ACC of 8 channels to their int32 sums
// at P and clears ACC.
#define PTFLUSH(ACC, P) \
	VPMADDWD Y12, ACC, ACC; \
	VPADDD P, ACC, ACC; \
	VMOVDQU ACC, P; \
	VPXOR ACC, ACC, ACC

// func PackTransposedGroups(ctx *PackTCtx)
TEXT ·PackTransposedGroups(SB), NOSPLIT, $0-8
	MOVQ ctx+0(FP), R13
	MOVQ pt_src(R13), SI
	MOVQ pt_ld(R13), R8
	LEAQ (R8)(R8*2), R9
	MOVQ pt_dst(R13), DI
	MOVQ pt_off+0(R13), BX
	MOVQ pt_off+8(R13), R10
	MOVQ pt_off+16(R13), R11
	MOVQ pt_off+24(R13), R12
	MOVQ pt_step(R13), DX
	MOVQ pt_n(R13), CX
	MOVQ pt_sums(R13), R14
	VMOVDQU pkmin<>(SB), Y15
	VMOVDQU ptones8<>(SB), Y14
	VMOVDQU ptones16<>(SB), Y12
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11
	TESTQ R14, R14
	JZ ptg_chunk
	VMOVDQU Y8, (R14)
	VMOVDQU Y8, 32(R14)
	VMOVDQU Y8, 64(R14)
	VMOVDQU Y8, 96(R14)

ptg_chunk:
	MOVQ $64, AX

ptg_loop:
	VPMAXSB (SI), Y15, Y0
	VPMAXSB (SI)(R8*1), Y15, Y1
	VPMAXSB (SI)(R8*2), Y15, Y2
	VPMAXSB (SI)(R9*1), Y15, Y3
	// Bytes, then words: each lane's dwords are 4 channels of 4 rows,
	// Y0 channels 0-3 and 16-19, Y1 4-7 and 20-23, Y2 8-11 and 24-27,
	// Y3 12-15 and 28-31.
	VPUNPCKLBW Y1, Y0, Y4
	VPUNPCKHBW Y1, Y0, Y5
	VPUNPCKLBW Y3, Y2, Y6
	VPUNPCKHBW Y3, Y2, Y7
	VPUNPCKLWD Y6, Y4, Y0
	VPUNPCKHWD Y6, Y4, Y1
	VPUNPCKLWD Y7, Y5, Y2
	VPUNPCKHWD Y7, Y5, Y3
	VPERM2I128 $0x20, Y1, Y0, Y4
	VPERM2I128 $0x20, Y3, Y2, Y5
	VPERM2I128 $0x31, Y1, Y0, Y6
	VPERM2I128 $0x31, Y3, Y2, Y7
	VMOVDQU Y4, (DI)(BX*1)
	VMOVDQU Y5, (DI)(R10*1)
	VMOVDQU Y6, (DI)(R11*1)
	VMOVDQU Y7, (DI)(R12*1)
	VPMADDUBSW Y4, Y14, Y4
	VPMADDUBSW Y5, Y14, Y5
	VPMADDUBSW Y6, Y14, Y6
	VPMADDUBSW Y7, Y14, Y7
	VPADDW Y4, Y8, Y8
	VPADDW Y5, Y9, Y9
	VPADDW Y6, Y10, Y10
	VPADDW Y7, Y11, Y11
	LEAQ (SI)(R8*4), SI
	ADDQ DX, DI
	DECQ CX
	JZ ptg_flush
	DECQ AX
	JNZ ptg_loop

ptg_flush:
	TESTQ R14, R14
	JZ ptg_next
	PTFLUSH(Y8, (R14))
	PTFLUSH(Y9, 32(R14))
	PTFLUSH(Y10, 64(R14))
	PTFLUSH(Y11, 96(R14))

ptg_next:
	TESTQ CX, CX
	JNZ ptg_chunk
	VZEROUPPER
	RET

#define ws_data 0
#define ws_sums 8
#define ws_panels 16
#define ws_groups 24
#define ws_nr 32

// func WeightSumsAVX512VNNI(ctx *SumsCtx)
//
// Each strip of 16 channels (64 bytes of every group) is summed by
// VPDPBUSD of 0x01 bytes with the signed values, four groups at a time
// into four accumulators (one would make a chain of dependent VPDPBUSD).
// SI the panel, BX the strip's offset in a group, DX the group, R10 the
// group stride (4*NR), R11 groups left; Z31 0x01 bytes, Z30 -128.
TEXT ·WeightSumsAVX512VNNI(SB), NOSPLIT, $0-8
	MOVQ         ctx+0(FP), R8
	MOVQ         ws_data(R8), SI
	MOVQ         ws_sums(R8), DI
	MOVQ         ws_panels(R8), CX
	MOVQ         ws_nr(R8), R10
	SHLQ         $2, R10
	MOVL         $0x01010101, AX
	VPBROADCASTD AX, Z31
	MOVL         $-128, AX
	VPBROADCASTD AX, Z30
	TESTQ        CX, CX
	JZ           ws_done

ws_panel:
	XORQ BX, BX

ws_strip:
	LEAQ   (SI)(BX*1), DX
	MOVQ   ws_groups(R8), R11
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	CMPQ   R11, $4
	JLT    ws_one

ws_four:
	VPDPBUSD (DX), Z31, Z0
	VPDPBUSD (DX)(R10*1), Z31, Z1
	LEAQ     (DX)(R10*2), DX
	VPDPBUSD (DX), Z31, Z2
	VPDPBUSD (DX)(R10*1), Z31, Z3
	LEAQ     (DX)(R10*2), DX
	SUBQ     $4, R11
	CMPQ     R11, $4
	JGE      ws_four

ws_one:
	TESTQ    R11, R11
	JZ       ws_sum
	VPDPBUSD (DX), Z31, Z0
	ADDQ     R10, DX
	DECQ     R11
	JMP      ws_one

ws_sum:
	VPADDD    Z1, Z0, Z0
	VPADDD    Z3, Z2, Z2
	VPADDD    Z2, Z0, Z0
	VPMULLD   Z30, Z0, Z0
	VMOVDQU32 Z0, (DI)
	ADDQ      $64, DI
	ADDQ      $64, BX
	CMPQ      BX, R10
	JLT       ws_strip
	MOVQ      ws_groups(R8), AX
	IMULQ     R10, AX
	ADDQ      AX, SI
	DECQ      CX
	JNZ       ws_panel

ws_done:
	VZEROUPPER
	RET
