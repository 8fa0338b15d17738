//go:build !purego

// The AVX2 kernel of Depthwise3x3 (see ../kernels/depthwise_amd64.go for
// the Go driver, ../kernels/doc.go for the numerics).
//
// Depthwise3x3 computes a run of n output pixels of one output row, for
// all c channels (c >= 8), 8 channels at a time: blocks at channel offsets
// 0, 8, ..., and a last block at c-8 when c is not a multiple of 8 (it
// recomputes some channels, writing the same values). For each block the
// 9 taps' weights, sign-extended to int32, stay in Y0-Y8 while the run's
// pixels stream by, two per iteration (independent chains); the block's
// requantization parameters are set up in the context's scratch fields.
// A tap whose bit is set in padMask reads padding for the whole run: its
// weights are zeroed and pad times them is added to the biases (its
// pointer, the center tap's, is read but meets zero weights).
//
// Per pixel and block: VPMOVSXBD widens 8 inputs of a tap, VPMULLD and
// VPADDD accumulate (modulo 2^32, as the reference), then
// requant_amd64.h's steps, VPACKSSDW, VPADDSW of the zero point (exact
// for |zp| <= 32640), VPACKSSWB and VPERMD put the 8 bytes in order.
//
// Registers: R13 ctx, AX BX CX DX SI DI R8 R9 R10 tap pointers, R14
// step, R11 dst, R12 pixels left. Y0-Y8 weights, Y9-Y10 accumulators,
// Y11-Y14 scratch, Y15 the VPERMD indexes.

#include "textflag.h"
#include "requant_amd64.h"

// Offsets of the DepthwiseCtx fields.
#define dw_taps 0
#define dw_dst 72
#define dw_w 80
#define dw_bias 88
#define dw_mult 96
#define dw_shift 104
#define dw_biasStep 112
#define dw_paramStep 120
#define dw_c 128
#define dw_n 136
#define dw_step 144
#define dw_padMask 152
#define dw_pad 160
#define dw_zp 168
#define dw_leftShift 176
#define dw_off 184
#define dw_bBias 192
#define dw_bMult 224
#define dw_bMultOdd 256
#define dw_bRs 288
#define dw_bRm1 320
#define dw_bLs 352
#define dw_bZp 384

// TAP1 adds tap W's products for one pixel at P into ACC.
#define TAP1(P, W, ACC) \
	VPMOVSXBD (P), Y11; \
	VPMULLD W, Y11, Y11; \
	VPADDD Y11, ACC, ACC

// TAP2 does it for two pixels, at P and P+step.
#define TAP2(P, W) \
	VPMOVSXBD (P), Y11; \
	VPMOVSXBD (P)(R14*1), Y12; \
	VPMULLD W, Y11, Y11; \
	VPMULLD W, Y12, Y12; \
	VPADDD Y11, Y9, Y9; \
	VPADDD Y12, Y10, Y10

#define SUM1 \
	VPMOVSXBD (AX), Y9; \
	VPMULLD Y0, Y9, Y9; \
	VPADDD dw_bBias(R13), Y9, Y9; \
	TAP1(BX, Y1, Y9); \
	TAP1(CX, Y2, Y9); \
	TAP1(DX, Y3, Y9); \
	TAP1(SI, Y4, Y9); \
	TAP1(DI, Y5, Y9); \
	TAP1(R8, Y6, Y9); \
	TAP1(R9, Y7, Y9); \
	TAP1(R10, Y8, Y9)

#define SUM2 \
	VPMOVSXBD (AX), Y9; \
	VPMOVSXBD (AX)(R14*1), Y10; \
	VPMULLD Y0, Y9, Y9; \
	VPMULLD Y0, Y10, Y10; \
	VPADDD dw_bBias(R13), Y9, Y9; \
	VPADDD dw_bBias(R13), Y10, Y10; \
	TAP2(BX, Y1); \
	TAP2(CX, Y2); \
	TAP2(DX, Y3); \
	TAP2(SI, Y4); \
	TAP2(DI, Y5); \
	TAP2(R8, Y6); \
	TAP2(R9, Y7); \
	TAP2(R10, Y8)

// RQ requantizes A with the block's parameters from the context's
// scratch fields and the constants from memory (Y12, Y13 scratch); RQL
// shifts left first.
#define RQ(A) \
	SQRDMULH(A, dw_bMult(R13), dw_bMultOdd(R13), rqround<>(SB), rqmin<>(SB), Y12, Y13); \
	RSHR(A, dw_bRs(R13), dw_bRm1(R13), rqone<>(SB), Y12)
#define RQL(A) SATSHL(A, dw_bLs(R13), rqmax<>(SB), Y12, Y13); RQ(A)

// OUT1 stores Y9's 8 bytes; OUT2 Y9's and Y10's at dst and dst+c.
#define OUT1 \
	VPACKSSDW Y9, Y9, Y9; \
	VPADDSW dw_bZp(R13), Y9, Y9; \
	VPACKSSWB Y9, Y9, Y9; \
	VPERMD Y9, Y15, Y9; \
	VMOVQ X9, (R11); \
	ADDQ dw_c(R13), R11

#define OUT2 \
	VPACKSSDW Y10, Y9, Y9; \
	VPADDSW dw_bZp(R13), Y9, Y9; \
	VPACKSSWB Y9, Y9, Y9; \
	VPERMD Y9, Y15, Y9; \
	VMOVQ X9, (R11); \
	ADDQ dw_c(R13), R11; \
	VPEXTRQ $1, X9, (R11); \
	ADDQ dw_c(R13), R11

#define ADV2 \
	LEAQ (AX)(R14*2), AX; LEAQ (BX)(R14*2), BX; LEAQ (CX)(R14*2), CX; \
	LEAQ (DX)(R14*2), DX; LEAQ (SI)(R14*2), SI; LEAQ (DI)(R14*2), DI; \
	LEAQ (R8)(R14*2), R8; LEAQ (R9)(R14*2), R9; LEAQ (R10)(R14*2), R10

// PADTAP zeroes tap T's weights W when its bit is set in DX, adding pad
// (Y10) times them to the biases (Y9).
#define PADTAP(T, W, L) \
	BTQ $T, DX; \
	JCC L; \
	VPMULLD Y10, W, Y11; \
	VPADDD Y11, Y9, Y9; \
	VPXOR W, W, W; \
L:

// func Depthwise3x3(ctx *DepthwiseCtx)
TEXT ·Depthwise3x3(SB), NOSPLIT, $0-8
	MOVQ ctx+0(FP), R13
	VMOVDQU rqperm<>(SB), Y15
	MOVQ dw_zp(R13), AX
	VMOVQ AX, X9
	VPBROADCASTW X9, Y9
	VMOVDQU Y9, dw_bZp(R13)
	MOVQ $0, dw_off(R13)

dw_block:
	// The block's weights, biases and requantization parameters.
	MOVQ dw_off(R13), R12
	MOVQ dw_w(R13), AX
	ADDQ R12, AX
	MOVQ dw_c(R13), BX
	VPMOVSXBD (AX), Y0
	ADDQ BX, AX
	VPMOVSXBD (AX), Y1
	ADDQ BX, AX
	VPMOVSXBD (AX), Y2
	ADDQ BX, AX
	VPMOVSXBD (AX), Y3
	ADDQ BX, AX
	VPMOVSXBD (AX), Y4
	ADDQ BX, AX
	VPMOVSXBD (AX), Y5
	ADDQ BX, AX
	VPMOVSXBD (AX), Y6
	ADDQ BX, AX
	VPMOVSXBD (AX), Y7
	ADDQ BX, AX
	VPMOVSXBD (AX), Y8
	MOVQ dw_biasStep(R13), CX
	IMULQ R12, CX
	ADDQ dw_bias(R13), CX
	VMOVDQU (CX), Y9
	MOVQ dw_padMask(R13), DX
	TESTQ DX, DX
	JZ dw_nopad
	MOVQ dw_pad(R13), CX
	VMOVQ CX, X10
	VPBROADCASTD X10, Y10
	PADTAP(0, Y0, dw_pad0)
	PADTAP(1, Y1, dw_pad1)
	PADTAP(2, Y2, dw_pad2)
	PADTAP(3, Y3, dw_pad3)
	PADTAP(4, Y4, dw_pad4)
	PADTAP(5, Y5, dw_pad5)
	PADTAP(6, Y6, dw_pad6)
	PADTAP(7, Y7, dw_pad7)
	PADTAP(8, Y8, dw_pad8)

dw_nopad:
	VMOVDQU Y9, dw_bBias(R13)
	MOVQ dw_paramStep(R13), CX
	IMULQ R12, CX
	MOVQ dw_mult(R13), DX
	ADDQ CX, DX
	VMOVDQU (DX), Y9
	VMOVDQU Y9, dw_bMult(R13)
	VPSRLQ $32, Y9, Y9
	VMOVDQU Y9, dw_bMultOdd(R13)
	MOVQ dw_shift(R13), DX
	ADDQ CX, DX
	VMOVDQU (DX), Y9
	VPXOR Y10, Y10, Y10
	VPMAXSD Y10, Y9, Y11
	VMOVDQU Y11, dw_bRs(R13)
	VPSUBD rqone<>(SB), Y11, Y11
	VMOVDQU Y11, dw_bRm1(R13)
	VPSUBD Y9, Y10, Y9
	VPMAXSD Y10, Y9, Y9
	VMOVDQU Y9, dw_bLs(R13)

	// The run's tap and output pointers at this block.
	MOVQ dw_taps+0(R13), AX
	MOVQ dw_taps+8(R13), BX
	MOVQ dw_taps+16(R13), CX
	MOVQ dw_taps+24(R13), DX
	MOVQ dw_taps+32(R13), SI
	MOVQ dw_taps+40(R13), DI
	MOVQ dw_taps+48(R13), R8
	MOVQ dw_taps+56(R13), R9
	MOVQ dw_taps+64(R13), R10
	ADDQ R12, AX
	ADDQ R12, BX
	ADDQ R12, CX
	ADDQ R12, DX
	ADDQ R12, SI
	ADDQ R12, DI
	ADDQ R12, R8
	ADDQ R12, R9
	ADDQ R12, R10
	MOVQ dw_dst(R13), R11
	ADDQ R12, R11
	MOVQ dw_step(R13), R14
	MOVQ dw_n(R13), R12
	CMPQ dw_leftShift(R13), $0
	JNE dw_pxl

dw_px:
	// Two pixels of the block.
	CMPQ R12, $2
	JLT dw_px1
	SUM2
	RQ(Y9)
	RQ(Y10)
	OUT2
	ADV2
	SUBQ $2, R12
	JMP dw_px

dw_px1:
	TESTQ R12, R12
	JZ dw_next
	SUM1
	RQ(Y9)
	OUT1
	JMP dw_next

dw_pxl:
	// Two pixels of the block, with left shifts.
	CMPQ R12, $2
	JLT dw_pxl1
	SUM2
	RQL(Y9)
	RQL(Y10)
	OUT2
	ADV2
	SUBQ $2, R12
	JMP dw_pxl

dw_pxl1:
	TESTQ R12, R12
	JZ dw_next
	SUM1
	RQL(Y9)
	OUT1

dw_next:
	// The next block: offset min(off+8, c-8), unless this was c-8.
	MOVQ dw_off(R13), R12
	MOVQ dw_c(R13), CX
	SUBQ $8, CX
	CMPQ R12, CX
	JEQ dw_done
	ADDQ $8, R12
	CMPQ R12, CX
	CMOVQGT CX, R12
	MOVQ R12, dw_off(R13)
	JMP dw_block

dw_done:
	VZEROUPPER
	RET

// Depthwise3x3AVX512 is Depthwise3x3 for c >= 16 channels, 16 at a time
// (blocks at 0, 16, ..., and c-16), with AVX-512F/BW: the same steps on
// ZMM registers (requant_amd64.h's 16-lane macros), the block's
// parameters in registers rather than the context's scratch fields (it
// sets only Off), the 16 bytes of a pixel put in order by one VPERMD.
//
// Registers as Depthwise3x3's, with Z for Y; Z15 the VPERMD indexes,
// Z16 the block's biases (pad included), Z17 multipliers, Z18 the odd
// lanes' multipliers, Z21 max(-shift, 0), Z23-Z26 the merged
// requantization's SE, SO, CE, CO (RQPREP16), Z22 the zero point
// (int16); Z28 0x7fffffff, Z29 0x80000000, and per qword Z30 2^30, Z19
// 2^31, Z20 31, Z31 1; K2 0xAAAA, K1 scratch.

#define TAP1Z(P, W, ACC) \
	VPMOVSXBD (P), Z11; \
	VPMULLD W, Z11, Z11; \
	VPADDD Z11, ACC, ACC

#define TAP2Z(P, W) \
	VPMOVSXBD (P), Z11; \
	VPMOVSXBD (P)(R14*1), Z12; \
	VPMULLD W, Z11, Z11; \
	VPMULLD W, Z12, Z12; \
	VPADDD Z11, Z9, Z9; \
	VPADDD Z12, Z10, Z10

#define SUM1Z \
	VPMOVSXBD (AX), Z9; \
	VPMULLD Z0, Z9, Z9; \
	VPADDD Z16, Z9, Z9; \
	TAP1Z(BX, Z1, Z9); \
	TAP1Z(CX, Z2, Z9); \
	TAP1Z(DX, Z3, Z9); \
	TAP1Z(SI, Z4, Z9); \
	TAP1Z(DI, Z5, Z9); \
	TAP1Z(R8, Z6, Z9); \
	TAP1Z(R9, Z7, Z9); \
	TAP1Z(R10, Z8, Z9)

#define SUM2Z \
	VPMOVSXBD (AX), Z9; \
	VPMOVSXBD (AX)(R14*1), Z10; \
	VPMULLD Z0, Z9, Z9; \
	VPMULLD Z0, Z10, Z10; \
	VPADDD Z16, Z9, Z9; \
	VPADDD Z16, Z10, Z10; \
	TAP2Z(BX, Z1); \
	TAP2Z(CX, Z2); \
	TAP2Z(DX, Z3); \
	TAP2Z(SI, Z4); \
	TAP2Z(DI, Z5); \
	TAP2Z(R8, Z6); \
	TAP2Z(R9, Z7); \
	TAP2Z(R10, Z8)

#define RQZ(A) RQ16(A, Z17, Z18, Z23, Z24, Z25, Z26, K2, Z28, Z29, Z12, Z13)
#define RQLZ(A) SATSHL16(A, Z21, Z28, Z12, Z13); RQZ(A)

// OUT1Z stores Z9's 16 bytes; OUT2Z Z9's and Z10's at dst and dst+c.
#define OUT1Z \
	VPACKSSDW Z9, Z9, Z9; \
	VPADDSW Z22, Z9, Z9; \
	VPACKSSWB Z9, Z9, Z9; \
	VPERMD Z9, Z15, Z9; \
	VMOVDQU X9, (R11); \
	ADDQ dw_c(R13), R11

#define OUT2Z \
	VPACKSSDW Z10, Z9, Z9; \
	VPADDSW Z22, Z9, Z9; \
	VPACKSSWB Z9, Z9, Z9; \
	VPERMD Z9, Z15, Z9; \
	VMOVDQU X9, (R11); \
	ADDQ dw_c(R13), R11; \
	VEXTRACTI128 $1, Y9, (R11); \
	ADDQ dw_c(R13), R11

// PADTAPZ is PADTAP with pad in Z10 and the biases in Z16.
#define PADTAPZ(T, W, L) \
	BTQ $T, DX; \
	JCC L; \
	VPMULLD Z10, W, Z11; \
	VPADDD Z11, Z16, Z16; \
	VPXORD W, W, W; \
L:

// func Depthwise3x3AVX512(ctx *DepthwiseCtx)
TEXT ·Depthwise3x3AVX512(SB), NOSPLIT, $0-8
	MOVQ ctx+0(FP), R13
	VMOVDQU32 rqperm16<>(SB), Z15
	MOVQ dw_zp(R13), AX
	VMOVQ AX, X9
	VPBROADCASTW X9, Z22
	CONSTS16(Z28, Z29, Z30, Z31)
	MOVQ $0x80000000, AX
	VPBROADCASTQ AX, Z19
	MOVQ $31, AX
	VPBROADCASTQ AX, Z20
	MOVQ $1, AX
	VPBROADCASTQ AX, Z31
	MOVL $0xAAAA, AX
	KMOVW AX, K2
	MOVQ $0, dw_off(R13)

dwz_block:
	MOVQ dw_off(R13), R12
	MOVQ dw_w(R13), AX
	ADDQ R12, AX
	MOVQ dw_c(R13), BX
	VPMOVSXBD (AX), Z0
	ADDQ BX, AX
	VPMOVSXBD (AX), Z1
	ADDQ BX, AX
	VPMOVSXBD (AX), Z2
	ADDQ BX, AX
	VPMOVSXBD (AX), Z3
	ADDQ BX, AX
	VPMOVSXBD (AX), Z4
	ADDQ BX, AX
	VPMOVSXBD (AX), Z5
	ADDQ BX, AX
	VPMOVSXBD (AX), Z6
	ADDQ BX, AX
	VPMOVSXBD (AX), Z7
	ADDQ BX, AX
	VPMOVSXBD (AX), Z8
	// Biases, multipliers and shifts: 16 in a row, or one broadcast
	// where the step is 0.
	MOVQ dw_biasStep(R13), CX
	MOVQ CX, AX
	IMULQ R12, CX
	ADDQ dw_bias(R13), CX
	VPBROADCASTD (CX), Z16
	TESTQ AX, AX
	JZ dwz_bias1
	VMOVDQU32 (CX), Z16

dwz_bias1:
	MOVQ dw_padMask(R13), DX
	TESTQ DX, DX
	JZ dwz_nopad
	MOVQ dw_pad(R13), CX
	VMOVQ CX, X10
	VPBROADCASTD X10, Z10
	PADTAPZ(0, Z0, dwz_pad0)
	PADTAPZ(1, Z1, dwz_pad1)
	PADTAPZ(2, Z2, dwz_pad2)
	PADTAPZ(3, Z3, dwz_pad3)
	PADTAPZ(4, Z4, dwz_pad4)
	PADTAPZ(5, Z5, dwz_pad5)
	PADTAPZ(6, Z6, dwz_pad6)
	PADTAPZ(7, Z7, dwz_pad7)
	PADTAPZ(8, Z8, dwz_pad8)

dwz_nopad:
	MOVQ dw_paramStep(R13), CX
	MOVQ CX, AX
	IMULQ R12, CX
	MOVQ dw_mult(R13), DX
	ADDQ CX, DX
	ADDQ dw_shift(R13), CX
	VPBROADCASTD (DX), Z17
	VPBROADCASTD (CX), Z9
	TESTQ AX, AX
	JZ dwz_param1
	VMOVDQU32 (DX), Z17
	VMOVDQU32 (CX), Z9

dwz_param1:
	VPSRLQ $32, Z17, Z18
	VPXORD Z10, Z10, Z10
	RQPREP16(Z9, Z10, Z30, Z19, Z20, Z31, K2, Z21, Z23, Z24, Z25, Z26, Z11)

	MOVQ dw_taps+0(R13), AX
	MOVQ dw_taps+8(R13), BX
	MOVQ dw_taps+16(R13), CX
	MOVQ dw_taps+24(R13), DX
	MOVQ dw_taps+32(R13), SI
	MOVQ dw_taps+40(R13), DI
	MOVQ dw_taps+48(R13), R8
	MOVQ dw_taps+56(R13), R9
	MOVQ dw_taps+64(R13), R10
	ADDQ R12, AX
	ADDQ R12, BX
	ADDQ R12, CX
	ADDQ R12, DX
	ADDQ R12, SI
	ADDQ R12, DI
	ADDQ R12, R8
	ADDQ R12, R9
	ADDQ R12, R10
	MOVQ dw_dst(R13), R11
	ADDQ R12, R11
	MOVQ dw_step(R13), R14
	MOVQ dw_n(R13), R12
	CMPQ dw_leftShift(R13), $0
	JNE dwz_pxl

dwz_px:
	CMPQ R12, $2
	JLT dwz_px1
	SUM2Z
	RQZ(Z9)
	RQZ(Z10)
	OUT2Z
	ADV2
	SUBQ $2, R12
	JMP dwz_px

dwz_px1:
	TESTQ R12, R12
	JZ dwz_next
	SUM1Z
	RQZ(Z9)
	OUT1Z
	JMP dwz_next

dwz_pxl:
	CMPQ R12, $2
	JLT dwz_pxl1
	SUM2Z
	RQLZ(Z9)
	RQLZ(Z10)
	OUT2Z
	ADV2
	SUBQ $2, R12
	JMP dwz_pxl

dwz_pxl1:
	TESTQ R12, R12
	JZ dwz_next
	SUM1Z
	RQLZ(Z9)
	OUT1Z

dwz_next:
	// The next block: offset min(off+16, c-16), unless this was c-16.
	MOVQ dw_off(R13), R12
	MOVQ dw_c(R13), CX
	SUBQ $16, CX
	CMPQ R12, CX
	JEQ dwz_done
	ADDQ $16, R12
	CMPQ R12, CX
	CMOVQGT CX, R12
	MOVQ R12, dw_off(R13)
	JMP dwz_block

dwz_done:
	VZEROUPPER
	RET
