//go:build !purego

// The AVX2 kernel of MeanChannels (see ../kernels/mean_amd64.go for the
// driver, ../kernels/doc.go for the numerics). Channels [c0, c1) in blocks
// of 32 while that many are left, then of 8 (a last one at c1-8 when
// fewer are left, writing some values twice): each block's sums start at
// base (-n*zero) and add every pixel's values sign-extended to int32
// (VPMOVSXBD; modulo 2^32, four independent accumulators for 32
// channels); then 8 at a time they are requantized (requant_amd64.h),
// packed to bytes and stored.
//
// Registers: R13 ctx, R12 channel offset, SI source, CX pixels left, R8
// c, R11 groups of 8 left, R10 the group's byte offset in the sums, DX
// parameter pointers. Y0-Y3 sums, Y4-Y7 inputs, Y9 the group,
// Y12-Y14 scratch, Y15 the VPERMD indexes.

#include "textflag.h"
#include "requant_amd64.h"

#define mn_dst 0
#define mn_src 8
#define mn_n 16
#define mn_c 24
#define mn_c0 32
#define mn_c1 40
#define mn_base 48
#define mn_mult 56
#define mn_shift 64
#define mn_paramStep 72
#define mn_zp 80
#define mn_left 88
#define mn_sums 96
#define mn_bMult 224
#define mn_bMultOdd 256
#define mn_bRs 288
#define mn_bRm1 320
#define mn_bLs 352
#define mn_bZp 384

// func MeanChannels(ctx *MeanCtx)
TEXT ·MeanChannels(SB), NOSPLIT, $0-8
	MOVQ ctx+0(FP), R13
	VMOVDQU rqperm<>(SB), Y15
	MOVQ mn_zp(R13), AX
	VMOVQ AX, X9
	VPBROADCASTW X9, Y9
	VMOVDQU Y9, mn_bZp(R13)
	MOVQ mn_base(R13), AX
	VMOVQ AX, X8
	VPBROADCASTD X8, Y8
	MOVQ mn_c(R13), R8
	MOVQ mn_c0(R13), R12

mn_loop:
	MOVQ mn_c1(R13), AX
	SUBQ R12, AX
	JZ mn_done
	CMPQ AX, $32
	JGE mn_b32
	CMPQ AX, $8
	JGE mn_b8
	MOVQ mn_c1(R13), R12
	SUBQ $8, R12

mn_b8:
	VMOVDQA Y8, Y0
	VMOVDQA Y8, Y1
	MOVQ mn_src(R13), SI
	ADDQ R12, SI
	MOVQ mn_n(R13), CX
	CMPQ CX, $2
	JLT mn_p8one

mn_p8:
	VPMOVSXBD (SI), Y4
	VPMOVSXBD (SI)(R8*1), Y5
	VPADDD Y4, Y0, Y0
	VPADDD Y5, Y1, Y1
	LEAQ (SI)(R8*2), SI
	SUBQ $2, CX
	CMPQ CX, $2
	JGE mn_p8

mn_p8one:
	TESTQ CX, CX
	JZ mn_s8
	VPMOVSXBD (SI), Y4
	VPADDD Y4, Y0, Y0

mn_s8:
	VPSUBD Y8, Y1, Y1
	VPADDD Y1, Y0, Y0
	VMOVDQU Y0, mn_sums(R13)
	MOVQ $1, R11
	JMP mn_rq

mn_b32:
	VMOVDQA Y8, Y0
	VMOVDQA Y8, Y1
	VMOVDQA Y8, Y2
	VMOVDQA Y8, Y3
	MOVQ mn_src(R13), SI
	ADDQ R12, SI
	MOVQ mn_n(R13), CX
	TESTQ CX, CX
	JZ mn_s32

mn_p32:
	VPMOVSXBD (SI), Y4
	VPMOVSXBD 8(SI), Y5
	VPMOVSXBD 16(SI), Y6
	VPMOVSXBD 24(SI), Y7
	VPADDD Y4, Y0, Y0
	VPADDD Y5, Y1, Y1
	VPADDD Y6, Y2, Y2
	VPADDD Y7, Y3, Y3
	ADDQ R8, SI
	DECQ CX
	JNZ mn_p32

mn_s32:
	VMOVDQU Y0, mn_sums+0(R13)
	VMOVDQU Y1, mn_sums+32(R13)
	VMOVDQU Y2, mn_sums+64(R13)
	VMOVDQU Y3, mn_sums+96(R13)
	MOVQ $4, R11

mn_rq:
	// Requantize R11 groups of 8 sums, from channel R12 on.
	XORQ R10, R10

mn_group:
	MOVQ mn_paramStep(R13), CX
	IMULQ R12, CX
	MOVQ mn_mult(R13), DX
	ADDQ CX, DX
	VMOVDQU (DX), Y9
	VMOVDQU Y9, mn_bMult(R13)
	VPSRLQ $32, Y9, Y9
	VMOVDQU Y9, mn_bMultOdd(R13)
	MOVQ mn_shift(R13), DX
	ADDQ CX, DX
	VMOVDQU (DX), Y9
	VPXOR Y10, Y10, Y10
	VPMAXSD Y10, Y9, Y11
	VMOVDQU Y11, mn_bRs(R13)
	VPSUBD rqone<>(SB), Y11, Y11
	VMOVDQU Y11, mn_bRm1(R13)
	VPSUBD Y9, Y10, Y9
	VPMAXSD Y10, Y9, Y9
	VMOVDQU Y9, mn_bLs(R13)
	LEAQ mn_sums(R13), DX
	VMOVDQU (DX)(R10*1), Y9
	CMPQ mn_left(R13), $0
	JEQ mn_noleft
	SATSHL(Y9, mn_bLs(R13), rqmax<>(SB), Y12, Y13)

mn_noleft:
	SQRDMULH(Y9, mn_bMult(R13), mn_bMultOdd(R13), rqround<>(SB), rqmin<>(SB), Y12, Y13)
	RSHR(Y9, mn_bRs(R13), mn_bRm1(R13), rqone<>(SB), Y12)
	VPACKSSDW Y9, Y9, Y9
	VPADDSW mn_bZp(R13), Y9, Y9
	VPACKSSWB Y9, Y9, Y9
	VPERMD Y9, Y15, Y9
	MOVQ mn_dst(R13), DX
	VMOVQ X9, (DX)(R12*1)
	ADDQ $8, R12
	ADDQ $32, R10
	DECQ R11
	JNZ mn_group
	JMP mn_loop

mn_done:
	VZEROUPPER
	RET

// MeanChannelsAVX512 is MeanChannels for c1-c0 >= 16 with AVX-512F/BW:
// blocks of 64 channels (a whole cache line of each pixel; Z0-Z3) while
// that many are left, then of 16 (the last at c1-16), each 16 sums
// requantized with requant_amd64.h's 16-lane macros and their parameters
// in registers, without the context's scratch fields.
//
// Registers: R13 ctx, R12 channel offset, SI source, CX pixels left, R8
// c, DX parameter pointers. Z0-Z3 sums, Z4-Z7 inputs, Z8 base, Z9-Z10
// scratch, Z15 the VPERMD indexes, Z17-Z21 the group's multipliers, odd
// multipliers, max(shift, 0), that minus 1, max(-shift, 0), Z22 the zero
// point (int16), Z28-Z31 CONSTS16's constants; K2 0xAAAA, K1 scratch.

// MZGROUP requantizes the 16 sums in A (XA its low 128 bits) as channels
// R12..R12+15 and stores their bytes; R12 += 16. L1 and L2 are labels.
#define MZGROUP(A, XA, L1, L2) \
	MOVQ mn_paramStep(R13), CX; \
	IMULQ R12, CX; \
	MOVQ mn_mult(R13), DX; \
	ADDQ CX, DX; \
	ADDQ mn_shift(R13), CX; \
	VPBROADCASTD (DX), Z17; \
	VPBROADCASTD (CX), Z9; \
	CMPQ mn_paramStep(R13), $0; \
	JEQ L1; \
	VMOVDQU32 (DX), Z17; \
	VMOVDQU32 (CX), Z9; \
L1: \
	VPSRLQ $32, Z17, Z18; \
	VPXORD Z10, Z10, Z10; \
	VPMAXSD Z10, Z9, Z19; \
	VPSUBD Z31, Z19, Z20; \
	VPSUBD Z9, Z10, Z9; \
	VPMAXSD Z10, Z9, Z21; \
	CMPQ mn_left(R13), $0; \
	JEQ L2; \
	SATSHL16(A, Z21, Z28, Z12, Z13); \
L2: \
	SQRDMULH16(A, Z17, Z18, Z30, K2, Z28, Z29, Z12, Z13); \
	RSHR16(A, Z19, Z20, Z31, Z12); \
	VPACKSSDW A, A, A; \
	VPADDSW Z22, A, A; \
	VPACKSSWB A, A, A; \
	VPERMD A, Z15, A; \
	MOVQ mn_dst(R13), DX; \
	VMOVDQU XA, (DX)(R12*1); \
	ADDQ $16, R12

// func MeanChannelsAVX512(ctx *MeanCtx)
TEXT ·MeanChannelsAVX512(SB), NOSPLIT, $0-8
	MOVQ ctx+0(FP), R13
	VMOVDQU32 rqperm16<>(SB), Z15
	MOVQ mn_zp(R13), AX
	VMOVQ AX, X9
	VPBROADCASTW X9, Z22
	CONSTS16(Z28, Z29, Z30, Z31)
	MOVL $0xAAAA, AX
	KMOVW AX, K2
	MOVQ mn_base(R13), AX
	VMOVQ AX, X8
	VPBROADCASTD X8, Z8
	MOVQ mn_c(R13), R8
	MOVQ mn_c0(R13), R12

mz_loop:
	MOVQ mn_c1(R13), AX
	SUBQ R12, AX
	JZ mz_done
	CMPQ AX, $64
	JGE mz_b64
	CMPQ AX, $16
	JGE mz_b16
	MOVQ mn_c1(R13), R12
	SUBQ $16, R12

mz_b16:
	VMOVDQA32 Z8, Z0
	VMOVDQA32 Z8, Z1
	MOVQ mn_src(R13), SI
	ADDQ R12, SI
	MOVQ mn_n(R13), CX
	CMPQ CX, $2
	JLT mz_p16one

mz_p16:
	VPMOVSXBD (SI), Z4
	VPMOVSXBD (SI)(R8*1), Z5
	VPADDD Z4, Z0, Z0
	VPADDD Z5, Z1, Z1
	LEAQ (SI)(R8*2), SI
	SUBQ $2, CX
	CMPQ CX, $2
	JGE mz_p16

mz_p16one:
	TESTQ CX, CX
	JZ mz_s16
	VPMOVSXBD (SI), Z4
	VPADDD Z4, Z0, Z0

mz_s16:
	VPSUBD Z8, Z1, Z1
	VPADDD Z1, Z0, Z0
	MZGROUP(Z0, X0, mz_g16a, mz_g16b)
	JMP mz_loop

mz_b64:
	VMOVDQA32 Z8, Z0
	VMOVDQA32 Z8, Z1
	VMOVDQA32 Z8, Z2
	VMOVDQA32 Z8, Z3
	MOVQ mn_src(R13), SI
	ADDQ R12, SI
	MOVQ mn_n(R13), CX
	TESTQ CX, CX
	JZ mz_s64

mz_p64:
	VPMOVSXBD (SI), Z4
	VPMOVSXBD 16(SI), Z5
	VPMOVSXBD 32(SI), Z6
	VPMOVSXBD 48(SI), Z7
	VPADDD Z4, Z0, Z0
	VPADDD Z5, Z1, Z1
	VPADDD Z6, Z2, Z2
	VPADDD Z7, Z3, Z3
	ADDQ R8, SI
	DECQ CX
	JNZ mz_p64

mz_s64:
	MZGROUP(Z0, X0, mz_g0a, mz_g0b)
	MZGROUP(Z1, X1, mz_g1a, mz_g1b)
	MZGROUP(Z2, X2, mz_g2a, mz_g2b)
	MZGROUP(Z3, X3, mz_g3a, mz_g3b)
	JMP mz_loop

mz_done:
	VZEROUPPER
	RET
