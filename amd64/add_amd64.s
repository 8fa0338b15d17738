//go:build !purego

#include "textflag.h"
#include "requant_amd64.h"

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

// ADD16 does the 16 values (or those of K3) at SI, DX into DI.
#define ADD16(SHL) \
	VPMOVSXBD.Z (SI), K3, Z0;                                     \
	VPMOVSXBD.Z (DX), K3, Z1;                                     \
	VPSUBD      Z16, Z0, Z0;                                      \
	VPSUBD      Z17, Z1, Z1;                                      \
	VPSLLD      $20, Z0, Z0;                                      \
	VPSLLD      $20, Z1, Z1;                                      \
	SHL(Z0, Z19, Z28, Z2, Z3);                                    \
	SHL(Z1, Z20, Z28, Z4, Z5);                                    \
	SQRDMULH16(Z0, Z22, Z22, Z30, K2, Z28, Z29, Z2, Z3);          \
	SQRDMULH16(Z1, Z23, Z23, Z30, K2, Z28, Z29, Z4, Z5);          \
	RSHR16(Z0, Z25, Z6, Z31, Z2);                                 \
	RSHR16(Z1, Z26, Z7, Z31, Z4);                                 \
	SATADD16(Z0, Z1, Z29, Z2, Z3);                                \
	SHL(Z0, Z21, Z28, Z2, Z3);                                    \
	SQRDMULH16(Z0, Z24, Z24, Z30, K2, Z28, Z29, Z2, Z3);          \
	RSHR16(Z0, Z27, Z8, Z31, Z2);                                 \
	SATADD16(Z0, Z18, Z29, Z2, Z3);                               \
	VPMOVSDB    Z0, K3, (DI)

#define ADDLOOP(SHL, loop, tail, done) \
	CMPQ  CX, $16;            \
	JLT   tail;               \
loop:                         \
	ADD16(SHL);               \
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
	ADD16(SHL);               \
done:

// func AddAVX512(ctx *AddCtx)
TEXT ·AddAVX512(SB), NOSPLIT, $0-8
	MOVQ         ctx+0(FP), R8
	MOVQ         add_dst(R8), DI
	MOVQ         add_a(R8), SI
	MOVQ         add_b(R8), DX
	MOVQ         add_n(R8), CX
	VPBROADCASTD add_zeroA(R8), Z16
	VPBROADCASTD add_zeroB(R8), Z17
	VPBROADCASTD add_zeroOut(R8), Z18
	VPBROADCASTD add_leftA(R8), Z19
	VPBROADCASTD add_leftB(R8), Z20
	VPBROADCASTD add_leftOut(R8), Z21
	VPBROADCASTD add_multA(R8), Z22
	VPBROADCASTD add_multB(R8), Z23
	VPBROADCASTD add_multOut(R8), Z24
	VPBROADCASTD add_rightA(R8), Z25
	VPBROADCASTD add_rightB(R8), Z26
	VPBROADCASTD add_rightOut(R8), Z27
	VPBROADCASTD add_right1A(R8), Z6
	VPBROADCASTD add_right1B(R8), Z7
	VPBROADCASTD add_right1Out(R8), Z8
	CONSTS16(Z28, Z29, Z30, Z31)
	MOVL         $0xaaaa, AX
	KMOVW        AX, K2
	MOVL         $0xffff, AX
	KMOVW        AX, K3
	CMPQ         add_left(R8), $0
	JNE          left512
	ADDLOOP(NOSHL16, l0, t0, d0)
	VZEROUPPER
	RET

left512:
	ADDLOOP(SATSHL16, l1, t1, d1)
	VZEROUPPER
	RET
