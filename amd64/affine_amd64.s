//go:build !purego

#include "textflag.h"
#include "requant_amd64.h"

#define af_dst 0
#define af_src 8
#define af_c 16
#define af_rows 24
#define af_zero 32
#define af_zp 40
#define af_w 48
#define af_bias 56
#define af_biasMask 64
#define af_mult 72
#define af_shift 80
#define af_paramMask 88
#define af_left 96

// AF8 does channels BX..BX+7 of one row (SI, DI). SHL is SATSHL or NOSHL.
#define AF8(SHL) \
	MOVQ      BX, R12;                             \
	ANDQ      af_paramMask(R8), R12;               \
	MOVQ      BX, R13;                             \
	ANDQ      af_biasMask(R8), R13;                \
	VPMOVSXBD (SI)(BX*1), Y0;                      \
	VPSUBD    Y10, Y0, Y0;                         \
	VPMOVSXWD (R9)(BX*2), Y1;                      \
	VPMULLD   Y1, Y0, Y0;                          \
	VPADDD    (R10)(R13*4), Y0, Y0;                \
	VMOVDQU   (R14)(R12*4), Y2;                    \
	SHIFTS(Y2, Y8, Y9, Y3, Y4, Y5);                \
	SHL(Y0, Y3, Y12, Y1, Y2);                      \
	VMOVDQU   (R11)(R12*4), Y6;                    \
	VPSRLQ    $32, Y6, Y7;                         \
	SQRDMULH(Y0, Y6, Y7, Y14, Y13, Y1, Y2);        \
	RSHR(Y0, Y4, Y5, Y15, Y1);                     \
	SATADD(Y0, Y11, Y13, Y1, Y2);                  \
	PACK8(Y0, X0, X1);                             \
	MOVQ      X0, (DI)(BX*1)

// AFROWS loops over the rows, and within each over the channel blocks.
#define AFROWS(SHL, rowloop, blockloop, last, next) \
rowloop:                   \
	XORQ BX, BX;           \
blockloop:                 \
	AF8(SHL);              \
	ADDQ $8, BX;           \
	LEAQ 8(BX), AX;        \
	CMPQ AX, CX;           \
	JLE  blockloop;        \
	CMPQ BX, CX;           \
	JGE  next;             \
	LEAQ -8(CX), BX;       \
last:                      \
	AF8(SHL);              \
next:                      \
	ADDQ CX, SI;           \
	ADDQ CX, DI;           \
	DECQ DX;               \
	JNZ  rowloop

// func AffineAVX2(ctx *AffineCtx)
TEXT ·AffineAVX2(SB), NOSPLIT, $0-8
	MOVQ ctx+0(FP), R8
	MOVQ af_dst(R8), DI
	MOVQ af_src(R8), SI
	MOVQ af_c(R8), CX
	MOVQ af_rows(R8), DX
	MOVQ af_w(R8), R9
	MOVQ af_bias(R8), R10
	MOVQ af_mult(R8), R11
	MOVQ af_shift(R8), R14
	CONSTS(Y12, X12, Y13, X13, Y14, X14, Y15, X15)
	VPXOR        Y8, Y8, Y8
	VPCMPEQD     Y9, Y9, Y9
	VPBROADCASTD af_zero(R8), Y10
	VPBROADCASTD af_zp(R8), Y11
	CMPQ af_left(R8), $0
	JNE  withleft
	AFROWS(NOSHL, r0, b0, l0, n0)
	VZEROUPPER
	RET

withleft:
	AFROWS(SATSHL, r1, b1, l1, n1)
	VZEROUPPER
	RET

// AF16 does the channels of K3 from BX on of one row (SI, DI).
#define AF16(SHL) \
	MOVQ        BX, R12;                                    \
	ANDQ        af_paramMask(R8), R12;                      \
	MOVQ        BX, R13;                                    \
	ANDQ        af_biasMask(R8), R13;                       \
	VPMOVSXBD.Z (SI)(BX*1), K3, Z0;                         \
	VPSUBD      Z10, Z0, Z0;                                \
	VPMOVSXWD.Z (R9)(BX*2), K3, Z1;                         \
	VPMULLD     Z1, Z0, Z0;                                 \
	VMOVDQU32.Z (R10)(R13*4), K3, Z1;                       \
	VPADDD      Z1, Z0, Z0;                                 \
	VMOVDQU32.Z (R14)(R12*4), K3, Z2;                       \
	SHIFTS(Z2, Z8, Z9, Z3, Z4, Z5);                         \
	SHL(Z0, Z3, Z28, Z1, Z2);                               \
	VMOVDQU32.Z (R11)(R12*4), K3, Z6;                       \
	VPSRLQ      $32, Z6, Z7;                                \
	SQRDMULH16(Z0, Z6, Z7, Z30, K2, Z28, Z29, Z1, Z2);      \
	RSHR16(Z0, Z4, Z5, Z31, Z1);                            \
	SATADD16(Z0, Z11, Z29, Z1, Z2);                         \
	VPMOVSDB    Z0, K3, (DI)(BX*1)

// AFROWS16 loops over the rows, and within each over the channel blocks,
// the last (C%16 channels) masked by K4.
#define AFROWS16(SHL, rowloop, blockloop, tail, next) \
rowloop:                   \
	XORQ  BX, BX;          \
	KMOVW K5, K3;          \
	CMPQ  CX, $16;         \
	JLT   tail;            \
blockloop:                 \
	AF16(SHL);             \
	ADDQ  $16, BX;         \
	LEAQ  16(BX), AX;      \
	CMPQ  AX, CX;          \
	JLE   blockloop;       \
tail:                      \
	CMPQ  BX, CX;          \
	JGE   next;            \
	KMOVW K4, K3;          \
	AF16(SHL);             \
next:                      \
	ADDQ  CX, SI;          \
	ADDQ  CX, DI;          \
	DECQ  DX;              \
	JNZ   rowloop

// func AffineAVX512(ctx *AffineCtx)
TEXT ·AffineAVX512(SB), NOSPLIT, $0-8
	MOVQ         ctx+0(FP), R8
	MOVQ         af_dst(R8), DI
	MOVQ         af_src(R8), SI
	MOVQ         af_c(R8), CX
	MOVQ         af_rows(R8), DX
	MOVQ         af_w(R8), R9
	MOVQ         af_bias(R8), R10
	MOVQ         af_mult(R8), R11
	MOVQ         af_shift(R8), R14
	CONSTS16(Z28, Z29, Z30, Z31)
	VPXORD       Z8, Z8, Z8
	VPTERNLOGD   $0xff, Z9, Z9, Z9
	VPBROADCASTD af_zero(R8), Z10
	VPBROADCASTD af_zp(R8), Z11
	MOVL         $0xaaaa, AX
	KMOVW        AX, K2
	MOVL         $0xffff, AX
	KMOVW        AX, K5
	MOVQ         CX, AX
	ANDQ         $15, AX
	MOVL         $1, R12
	SHLXL        AX, R12, R12
	DECL         R12
	KMOVW        R12, K4
	CMPQ         af_left(R8), $0
	JNE          withleft512
	AFROWS16(NOSHL16, r2, b2, t2, n2)
	VZEROUPPER
	RET

withleft512:
	AFROWS16(SATSHL16, r3, b3, t3, n3)
	VZEROUPPER
	RET
