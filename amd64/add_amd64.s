//go:build !purego

#include "textflag.h"
#include "requant_amd64.h"

#define add_dst 0
#define add_a 8
#define add_b 16
#define add_n 24
#define add_fast 32
#define add_left 40
#define add_zeroA 48
#define add_zeroB 80
#define add_zeroOut 112
#define add_outLo 144
#define add_outHi 176
#define add_hiA 208
#define add_hiB 240
#define add_loA 272
#define add_loB 304
#define add_cLoA 336
#define add_cLoB 368
#define add_cHiA 400
#define add_cHiB 432
#define add_shiftA 464
#define add_shiftB 496
#define add_multA 528
#define add_multB 560
#define add_multOut 592
#define add_leftA 624
#define add_leftB 656
#define add_leftOut 688
#define add_rightA 720
#define add_rightB 752
#define add_rightOut 784
#define add_right1A 816
#define add_right1B 848
#define add_right1Out 880

// The output's steps on Y0 (8 values) into DI: SHL is SATSHL, or NOSHL
// without a negative output shift; then the clamp before the zero point
// (exact: the bounds make the int32 sum saturate as sat8 would).
#define OUT8(SHL) \
	SHL(Y0, add_leftOut(R8), Y12, Y2, Y3);                           \
	SQRDMULH(Y0, add_multOut(R8), add_multOut(R8), Y14, Y13, Y2, Y3); \
	RSHR(Y0, add_rightOut(R8), add_right1Out(R8), Y15, Y2);          \
	VPMAXSD   add_outLo(R8), Y0, Y0;                                 \
	VPMINSD   add_outHi(R8), Y0, Y0;                                 \
	VPADDD    add_zeroOut(R8), Y0, Y0;                               \
	PACK8(Y0, X0, X2);                                               \
	MOVQ      X0, (DI)

// ADD8 does 8 values in the general steps, which the kernel takes only
// where an input's shift is negative.
#define ADD8 \
	VPMOVSXBD (SI), Y0;                                              \
	VPMOVSXBD (DX), Y1;                                              \
	VPSUBD    add_zeroA(R8), Y0, Y0;                                 \
	VPSUBD    add_zeroB(R8), Y1, Y1;                                 \
	VPSLLD    $20, Y0, Y0;                                           \
	VPSLLD    $20, Y1, Y1;                                           \
	SATSHL(Y0, add_leftA(R8), Y12, Y2, Y3);                          \
	SATSHL(Y1, add_leftB(R8), Y12, Y4, Y5);                          \
	SQRDMULH(Y0, add_multA(R8), add_multA(R8), Y14, Y13, Y2, Y3);    \
	SQRDMULH(Y1, add_multB(R8), add_multB(R8), Y14, Y13, Y4, Y5);    \
	RSHR(Y0, add_rightA(R8), add_right1A(R8), Y15, Y2);              \
	RSHR(Y1, add_rightB(R8), add_right1B(R8), Y15, Y4);              \
	SATADD(Y0, Y1, Y13, Y2, Y3);                                     \
	OUT8(SATSHL)

// TERM is one input's term in the 32-bit form (AddCtx.Fast), on Y or Z
// registers: X = (X*hi + ((X*lo + cLo) >> 11) + cHi) >> shift, T
// clobbered.
#define TERM(X, T, HI, LO, CLO, CHI, SH) \
	VPMULLD LO, X, T;  \
	VPADDD  CLO, T, T; \
	VPSRAD  $11, T, T; \
	VPMULLD HI, X, X;  \
	VPADDD  T, X, X;   \
	VPADDD  CHI, X, X; \
	VPSRAVD SH, X, X

// ADDFAST8 does 8 values with the inputs' terms in 32 bits: their sum
// cannot saturate (each term is below 2^28 in magnitude).
#define ADDFAST8(SHL) \
	VPMOVSXBD (SI), Y0;                                                                         \
	VPMOVSXBD (DX), Y1;                                                                         \
	TERM(Y0, Y2, add_hiA(R8), add_loA(R8), add_cLoA(R8), add_cHiA(R8), add_shiftA(R8));        \
	TERM(Y1, Y3, add_hiB(R8), add_loB(R8), add_cLoB(R8), add_cHiB(R8), add_shiftB(R8));        \
	VPADDD    Y1, Y0, Y0;                                                                       \
	OUT8(SHL)

// LOOP8 runs BODY on the CX values at SI, DX into DI, 8 a step.
#define LOOP8(BODY, loop) \
loop:             \
	BODY;         \
	ADDQ $8, SI;  \
	ADDQ $8, DX;  \
	ADDQ $8, DI;  \
	SUBQ $8, CX;  \
	JNZ  loop;    \
	VZEROUPPER;   \
	RET

// func AddAVX2(ctx *AddCtx)
TEXT ·AddAVX2(SB), NOSPLIT, $0-8
	MOVQ ctx+0(FP), R8
	MOVQ add_dst(R8), DI
	MOVQ add_a(R8), SI
	MOVQ add_b(R8), DX
	MOVQ add_n(R8), CX
	CONSTS(Y12, X12, Y13, X13, Y14, X14, Y15, X15)
	CMPQ add_fast(R8), $0
	JNE  fast
	LOOP8(ADD8, general)

fast:
	CMPQ add_left(R8), $0
	JNE  fastleft
	LOOP8(ADDFAST8(NOSHL), fastloop)

fastleft:
	LOOP8(ADDFAST8(SATSHL), fastleftloop)

// The AVX-512 kernel. Registers: the general steps Z16 ZeroA, Z17 ZeroB,
// Z19 LeftA, Z20 LeftB, Z22 MultA, Z23 MultB, Z25 RightA, Z26 RightB, Z6
// Right1A, Z7 Right1B; the 32-bit terms (Fast) Z16 HiA, Z17 HiB, Z19 LoA,
// Z20 LoB, Z22 CLoA, Z23 CLoB, Z25 CHiA, Z26 CHiB, Z6 ShiftA, Z7 ShiftB;
// the output Z18 ZeroOut, Z21 LeftOut, Z24 MultOut, Z27 RightOut, Z8
// Right1Out, Z14 OutLo, Z15 OutHi; Z28-Z31 CONSTS16's; K2 the odd lanes,
// K3 the step's lanes.

// OUT16 is OUT8 on Z0's 16 values (those of K3).
#define OUT16(SHL) \
	SHL(Z0, Z21, Z28, Z2, Z3);                           \
	SQRDMULH16(Z0, Z24, Z24, Z30, K2, Z28, Z29, Z2, Z3); \
	RSHR16(Z0, Z27, Z8, Z31, Z2);                        \
	VPMAXSD     Z14, Z0, Z0;                             \
	VPMINSD     Z15, Z0, Z0;                             \
	VPADDD      Z18, Z0, Z0;                             \
	VPMOVSDB    Z0, K3, (DI)

// ADD16 is ADD8 on the 16 values (or those of K3) at SI, DX into DI.
#define ADD16 \
	VPMOVSXBD.Z (SI), K3, Z0;                                     \
	VPMOVSXBD.Z (DX), K3, Z1;                                     \
	VPSUBD      Z16, Z0, Z0;                                      \
	VPSUBD      Z17, Z1, Z1;                                      \
	VPSLLD      $20, Z0, Z0;                                      \
	VPSLLD      $20, Z1, Z1;                                      \
	SATSHL16(Z0, Z19, Z28, Z2, Z3);                               \
	SATSHL16(Z1, Z20, Z28, Z4, Z5);                               \
	SQRDMULH16(Z0, Z22, Z22, Z30, K2, Z28, Z29, Z2, Z3);          \
	SQRDMULH16(Z1, Z23, Z23, Z30, K2, Z28, Z29, Z4, Z5);          \
	RSHR16(Z0, Z25, Z6, Z31, Z2);                                 \
	RSHR16(Z1, Z26, Z7, Z31, Z4);                                 \
	SATADD16(Z0, Z1, Z29, Z2, Z3);                                \
	OUT16(SATSHL16)

// ADDFAST16 is ADDFAST8 on 16 values (those of K3).
#define ADDFAST16(SHL) \
	VPMOVSXBD.Z (SI), K3, Z0;                \
	VPMOVSXBD.Z (DX), K3, Z1;                \
	TERM(Z0, Z2, Z16, Z19, Z22, Z25, Z6);  \
	TERM(Z1, Z3, Z17, Z20, Z23, Z26, Z7);  \
	VPADDD      Z1, Z0, Z0;                  \
	OUT16(SHL)

// ADDLOOP runs BODY on the CX values, 16 a step, the last partial step
// under K3, and returns.
#define ADDLOOP(BODY, loop, tail, done) \
	CMPQ  CX, $16;            \
	JLT   tail;               \
loop:                         \
	BODY;                     \
	ADDQ  $16, SI;            \
	ADDQ  $16, DX;            \
	ADDQ  $16, DI;            \
	SUBQ  $16, CX;            \
	CMPQ  CX, $16;            \
	JGE   loop;               \
tail:                         \
	TESTQ CX, CX;             \
	JZ    done;               \
	MOVL  $1, AX;             \
	SHLL  CX, AX;             \
	DECL  AX;                 \
	KMOVW AX, K3;             \
	BODY;                     \
done:                         \
	VZEROUPPER;               \
	RET

// func AddAVX512(ctx *AddCtx)
TEXT ·AddAVX512(SB), NOSPLIT, $0-8
	MOVQ         ctx+0(FP), R8
	MOVQ         add_dst(R8), DI
	MOVQ         add_a(R8), SI
	MOVQ         add_b(R8), DX
	MOVQ         add_n(R8), CX
	VPBROADCASTD add_zeroOut(R8), Z18
	VPBROADCASTD add_leftOut(R8), Z21
	VPBROADCASTD add_multOut(R8), Z24
	VPBROADCASTD add_rightOut(R8), Z27
	VPBROADCASTD add_right1Out(R8), Z8
	VPBROADCASTD add_outLo(R8), Z14
	VPBROADCASTD add_outHi(R8), Z15
	CONSTS16(Z28, Z29, Z30, Z31)
	MOVL         $0xaaaa, AX
	KMOVW        AX, K2
	MOVL         $0xffff, AX
	KMOVW        AX, K3
	CMPQ         add_fast(R8), $0
	JNE          fast512
	VPBROADCASTD add_zeroA(R8), Z16
	VPBROADCASTD add_zeroB(R8), Z17
	VPBROADCASTD add_leftA(R8), Z19
	VPBROADCASTD add_leftB(R8), Z20
	VPBROADCASTD add_multA(R8), Z22
	VPBROADCASTD add_multB(R8), Z23
	VPBROADCASTD add_rightA(R8), Z25
	VPBROADCASTD add_rightB(R8), Z26
	VPBROADCASTD add_right1A(R8), Z6
	VPBROADCASTD add_right1B(R8), Z7
	ADDLOOP(ADD16, l0, t0, d0)

fast512:
	VPBROADCASTD add_hiA(R8), Z16
	VPBROADCASTD add_hiB(R8), Z17
	VPBROADCASTD add_loA(R8), Z19
	VPBROADCASTD add_loB(R8), Z20
	VPBROADCASTD add_cLoA(R8), Z22
	VPBROADCASTD add_cLoB(R8), Z23
	VPBROADCASTD add_cHiA(R8), Z25
	VPBROADCASTD add_cHiB(R8), Z26
	VPBROADCASTD add_shiftA(R8), Z6
	VPBROADCASTD add_shiftB(R8), Z7
	CMPQ         add_left(R8), $0
	JNE          fastleft512
	ADDLOOP(ADDFAST16(NOSHL16), l2, t2, d2)

fastleft512:
	ADDLOOP(ADDFAST16(SATSHL16), l3, t3, d3)
