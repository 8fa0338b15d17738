//go:build !purego

#include "textflag.h"
#include "elem_amd64.h"

#define add_dst 0
#define add_a 8
#define add_b 16
#define add_n 24
#define add_left 32
#define add_zeroA 40
#define add_zeroB 72
#define add_zeroOut 104
#define add_multA 136
#define add_multB 168
#define add_multOut 200
#define add_leftA 232
#define add_leftB 264
#define add_leftOut 296
#define add_rightA 328
#define add_rightB 360
#define add_rightOut 392
#define add_right1A 424
#define add_right1B 456
#define add_right1Out 488

// ADD8 does 8 values: SHL is SATSHL, or NOSHL without negative shifts.
#define ADD8(SHL) \
	VPMOVSXBD (SI), Y0;                                              \
	VPMOVSXBD (DX), Y1;                                              \
	VPSUBD    add_zeroA(R8), Y0, Y0;                                 \
	VPSUBD    add_zeroB(R8), Y1, Y1;                                 \
	VPSLLD    $20, Y0, Y0;                                           \
	VPSLLD    $20, Y1, Y1;                                           \
	SHL(Y0, add_leftA(R8), Y12, Y2, Y3);                             \
	SHL(Y1, add_leftB(R8), Y12, Y4, Y5);                             \
	SQRDMULH(Y0, add_multA(R8), add_multA(R8), Y14, Y13, Y2, Y3);    \
	SQRDMULH(Y1, add_multB(R8), add_multB(R8), Y14, Y13, Y4, Y5);    \
	RSHR(Y0, add_rightA(R8), add_right1A(R8), Y15, Y2);              \
	RSHR(Y1, add_rightB(R8), add_right1B(R8), Y15, Y4);              \
	SATADD(Y0, Y1, Y13, Y2, Y3);                                     \
	SHL(Y0, add_leftOut(R8), Y12, Y2, Y3);                           \
	SQRDMULH(Y0, add_multOut(R8), add_multOut(R8), Y14, Y13, Y2, Y3); \
	RSHR(Y0, add_rightOut(R8), add_right1Out(R8), Y15, Y2);          \
	SATADD(Y0, add_zeroOut(R8), Y13, Y2, Y3);                        \
	PACK8(Y0, X0, X2);                                               \
	MOVQ      X0, (DI)

// func AddAVX2(ctx *AddCtx)
TEXT ·AddAVX2(SB), NOSPLIT, $0-8
	MOVQ ctx+0(FP), R8
	MOVQ add_dst(R8), DI
	MOVQ add_a(R8), SI
	MOVQ add_b(R8), DX
	MOVQ add_n(R8), CX
	CONSTS(Y12, X12, Y13, X13, Y14, X14, Y15, X15)
	CMPQ add_left(R8), $0
	JNE  left

loop:
	ADD8(NOSHL)
	ADDQ $8, SI
	ADDQ $8, DX
	ADDQ $8, DI
	SUBQ $8, CX
	JNZ  loop
	VZEROUPPER
	RET

left:
	ADD8(SATSHL)
	ADDQ $8, SI
	ADDQ $8, DX
	ADDQ $8, DI
	SUBQ $8, CX
	JNZ  left
	VZEROUPPER
	RET
