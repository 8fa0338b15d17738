//go:build !purego

#include "textflag.h"
#include "elem_amd64.h"

#define sm_logits 0
#define sm_bias 8
#define sm_dst 16
#define sm_ebuf 24
#define sm_exp 32
#define sm_n 40
#define sm_pre 48
#define sm_post 56
#define sm_q 64
#define sm_zp 72
#define sm_left 80
#define sm_table 88
#define sm_tStride 96
#define sm_side 104
#define sm_mult 112
#define sm_leftN 144
#define sm_right 176
#define sm_right1 208

// sm_tail+4*r: lanes 8-r..7 set, for the last r values of a row run as an
// overlapping block of 8.
DATA sm_tail<>+0(SB)/8, $0
DATA sm_tail<>+8(SB)/8, $0
DATA sm_tail<>+16(SB)/8, $0
DATA sm_tail<>+24(SB)/8, $0
DATA sm_tail<>+32(SB)/8, $-1
DATA sm_tail<>+40(SB)/8, $-1
DATA sm_tail<>+48(SB)/8, $-1
DATA sm_tail<>+56(SB)/8, $-1
GLOBL sm_tail<>(SB), RODATA|NOPTR, $64

// sm_head+32-4*r: lanes 0..r-1 set.
DATA sm_head<>+0(SB)/8, $-1
DATA sm_head<>+8(SB)/8, $-1
DATA sm_head<>+16(SB)/8, $-1
DATA sm_head<>+24(SB)/8, $-1
DATA sm_head<>+32(SB)/8, $0
DATA sm_head<>+40(SB)/8, $0
DATA sm_head<>+48(SB)/8, $0
DATA sm_head<>+56(SB)/8, $0
GLOBL sm_head<>(SB), RODATA|NOPTR, $64

// BLOCKS runs BODY for BX = 0, 8, ... while a whole block fits, then, if
// N%8 != 0, once for BX = N-8 with LAST set up first.
#define BLOCKS(BODY, LAST, loop, lastblk, done) \
	XORQ BX, BX;       \
loop:                  \
	BODY;              \
	ADDQ $8, BX;       \
	LEAQ 8(BX), AX;    \
	CMPQ AX, CX;       \
	JLE  loop;         \
	CMPQ BX, CX;       \
	JGE  done;         \
	LEAQ -8(CX), BX;   \
	LAST;              \
lastblk:               \
	BODY;              \
done:

#define NOTHING

// Pass 0, the pre-softmax bias: Bias += Logits, the last block stored
// masked (it overlaps values already summed).
#define PRE8 \
	VMOVDQU (SI)(BX*4), Y0;         \
	VPADDD  (R10)(BX*4), Y0, Y0;    \
	VPMASKMOVD Y0, Y6, (R10)(BX*4)

// Pass 1: the largest logit into Y11.
#define MAX8 \
	VPMAXSD (SI)(BX*4), Y11, Y11

// Pass 2: e_j into Ebuf and their sum into Y10 (Y6 masks the lanes the
// last block repeats).
#define EXP8(SHL) \
	VPSUBD     (SI)(BX*4), Y11, Y0;                                   \
	VBLENDVPS  Y0, Y12, Y0, Y0;                                       \
	SHL(Y0, sm_leftN(R8), Y12, Y1, Y2);                               \
	SQRDMULH(Y0, sm_mult(R8), sm_mult(R8), Y14, Y13, Y1, Y2);         \
	RSHR(Y0, sm_right(R8), sm_right1(R8), Y15, Y1);                   \
	VPMAXSD    Y9, Y0, Y0;                                            \
	VPMINSD    Y8, Y0, Y0;                                            \
	VPCMPEQD   Y1, Y1, Y1;                                            \
	VPGATHERDD Y1, (R9)(Y0*4), Y2;                                    \
	VMOVDQU    Y2, (R11)(BX*4);                                       \
	VPAND      Y6, Y2, Y2;                                            \
	VPADDD     Y2, Y10, Y10

// Pass 3 without a post bias: sat8(((e*R + 2^21) >> 22) + Zp).
#define OUT8 \
	VPMULLD (R11)(BX*4), Y7, Y0;   \
	VPADDD  Y5, Y0, Y0;            \
	VPSRAD  $22, Y0, Y0;           \
	SATADD(Y0, Y4, Y13, Y1, Y2);   \
	PACK8(Y0, X0, X1);             \
	MOVQ    X0, (DI)(BX*1)

// Pass 3 with a post bias: v = sat32((e*R >> 14) + bias), then
// sat8(((v + 128) >> 8) + Zp) with the rounding as bit 7 (no overflow).
#define POST8 \
	VPMULLD (R11)(BX*4), Y7, Y0;       \
	VPSRAD  $14, Y0, Y0;               \
	SATADD(Y0, (R10)(BX*4), Y13, Y1, Y2); \
	VPSRLD  $7, Y0, Y1;                \
	VPAND   Y15, Y1, Y1;               \
	VPSRAD  $8, Y0, Y0;                \
	VPADDD  Y1, Y0, Y0;                \
	VPADDD  Y4, Y0, Y0;                \
	PACK8(Y0, X0, X1);                 \
	MOVQ    X0, (DI)(BX*1)

#define TAILMASK \
	MOVQ    CX, AX;                  \
	ANDQ    $7, AX;                  \
	LEAQ    sm_tail<>(SB), DX;       \
	VMOVDQU (DX)(AX*4), Y6

// func SoftmaxAVX2(ctx *SoftmaxCtx)
TEXT ·SoftmaxAVX2(SB), NOSPLIT, $0-8
	MOVQ ctx+0(FP), R8
	MOVQ sm_logits(R8), SI
	MOVQ sm_bias(R8), R10
	MOVQ sm_dst(R8), DI
	MOVQ sm_ebuf(R8), R11
	MOVQ sm_exp(R8), R9
	MOVQ sm_n(R8), CX
	CONSTS(Y12, X12, Y13, X13, Y14, X14, Y15, X15)
	VPXOR    Y9, Y9, Y9
	MOVL     $4095, AX
	MOVD     AX, X8
	VPBROADCASTD X8, Y8
	VPCMPEQD Y6, Y6, Y6

	// The attention bias row: run jy of Side values from Table +
	// jy*TStride into Bias + 4*jy*Side, 8 at a time, the last Side%8
	// masked; with Pre, plus the logits.
	MOVQ sm_side(R8), R13
	TESTQ R13, R13
	JZ   nobuild
	MOVQ R13, AX
	ANDQ $7, AX
	NEGQ AX
	LEAQ sm_head<>+32(SB), DX
	VMOVDQU (DX)(AX*4), Y5 // the first Side%8 lanes
	MOVQ sm_table(R8), R14
	MOVQ R10, R15          // the row
	MOVQ SI, DX            // the logits
	MOVQ R13, R12          // runs left

run:
	XORQ BX, BX
	LEAQ 8(BX), AX
	CMPQ AX, R13
	JGT  runtail

run8:
	VMOVDQU (R14)(BX*4), Y0
	CMPQ    sm_pre(R8), $0
	JE      run8store
	VPADDD  (DX)(BX*4), Y0, Y0

run8store:
	VMOVDQU Y0, (R15)(BX*4)
	ADDQ    $8, BX
	LEAQ    8(BX), AX
	CMPQ    AX, R13
	JLE     run8

runtail:
	CMPQ       BX, R13
	JGE        runnext
	VPMASKMOVD (R14)(BX*4), Y5, Y0
	CMPQ       sm_pre(R8), $0
	JE         runtailstore
	VPMASKMOVD (DX)(BX*4), Y5, Y1
	VPADDD     Y1, Y0, Y0

runtailstore:
	VPMASKMOVD Y0, Y5, (R15)(BX*4)

runnext:
	ADDQ sm_tStride(R8), R14
	LEAQ (R15)(R13*4), R15
	LEAQ (DX)(R13*4), DX
	DECQ R12
	JNZ  run
	CMPQ sm_pre(R8), $0
	JE   nopre
	MOVQ R10, SI
	JMP  nopre

nobuild:
	CMPQ sm_pre(R8), $0
	JE   nopre
	BLOCKS(PRE8, TAILMASK, p0, p0l, p0d)
	MOVQ R10, SI
	VPCMPEQD Y6, Y6, Y6

nopre:
	VPBROADCASTD (SI), Y11
	BLOCKS(MAX8, NOTHING, p1, p1l, p1d)
	VEXTRACTI128 $1, Y11, X0
	VPMAXSD      X0, X11, X11
	VPSHUFD      $0x4e, X11, X0
	VPMAXSD      X0, X11, X11
	VPSHUFD      $0xb1, X11, X0
	VPMAXSD      X0, X11, X11
	VPBROADCASTD X11, Y11

	VPXOR Y10, Y10, Y10
	CMPQ  sm_left(R8), $0
	JNE   expleft
	BLOCKS(EXP8(NOSHL), TAILMASK, p2, p2l, p2d)
	JMP   sum

expleft:
	BLOCKS(EXP8(SATSHL), TAILMASK, p2s, p2sl, p2sd)

sum:
	VEXTRACTI128 $1, Y10, X0
	VPADDD       X0, X10, X10
	VPSHUFD      $0x4e, X10, X0
	VPADDD       X0, X10, X10
	VPSHUFD      $0xb1, X10, X0
	VPADDD       X0, X10, X10
	MOVL         X10, R12 // sum
	// R = (Q<<22 + sum/2) / sum, below 2^31.
	MOVQ         sm_q(R8), AX
	SHLQ         $22, AX
	MOVQ         R12, DX
	SHRQ         $1, DX
	ADDQ         DX, AX
	XORQ         DX, DX
	DIVQ         R12
	MOVD         AX, X7
	VPBROADCASTD X7, Y7
	VPBROADCASTD sm_zp(R8), Y4
	MOVL         $0x200000, AX
	MOVD         AX, X5
	VPBROADCASTD X5, Y5

	CMPQ sm_post(R8), $0
	JNE  post
	BLOCKS(OUT8, NOTHING, p3, p3l, p3d)
	VZEROUPPER
	RET

post:
	BLOCKS(POST8, NOTHING, p4, p4l, p4d)
	VZEROUPPER
	RET
