//go:build !purego

#include "textflag.h"
#include "requant_amd64.h"

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
#define sm_exp16 240
#define sm_expS 248
#define sm_expC 256
#define sm_outLo 264
#define sm_outHi 272

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
	JZ   nopre
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

// The AVX-512 kernel: the same passes on 16 lanes, the last partial block
// of a row (and of each bias run) under a mask instead of overlapping, the
// row's maximum taken while the bias row is built, and e looked up by
// VPERMI2W in registers: on this Zen 5 a 16-lane VPGATHERDD port ran no
// faster than the AVX2 kernel (its gather costs the same per value), the
// permutes 1.4x.
// Z16 Mult, Z17 LeftN, Z18 Right, Z19 Right1, Z12 0x7fffffff, Z13
// 0x80000000, Z14 2^30 per qword, Z15 1, Z9 0, Z8 4095; K2 the odd
// lanes, K3 the block's lanes, K5 the row's last N%16, K6 a run's last
// Side%16; K1 and K4 are scratch.

// BLOCKS16 runs BODY for BX = 0, 16, ... while a whole block fits (K3
// all lanes), then, if N%16 != 0, once more under K5. BODY keeps AX, BX
// and CX.
#define BLOCKS16(BODY, loop, tail, done) \
	XORQ   BX, BX;         \
	MOVQ   CX, AX;         \
	ANDQ   $-16, AX;       \
	KXNORW K3, K3, K3;     \
	CMPQ   BX, AX;         \
	JGE    tail;           \
loop:                      \
	BODY;                  \
	ADDQ   $16, BX;        \
	CMPQ   BX, AX;         \
	JLT    loop;           \
tail:                      \
	CMPQ   BX, CX;         \
	JGE    done;           \
	KMOVW  K5, K3;         \
	BODY;                  \
done:

#define MAX16 \
	VPMAXSD (SI)(BX*4), Z11, K3, Z11

// EXPZ: from t = mx - l in X, the exponent z = clamp(the requantized
// min(t, 2^31-1), 0, 4095). t is exact as uint32, so min unsigned with
// 2^31-1 is the saturating subtraction.
#define EXPZ(X, SHL) \
	VPMINUD    Z12, X, X;                                        \
	SHL(X, Z17, Z12, Z1, Z2);                                    \
	RQ16(X, Z16, Z16, Z18, Z18, Z19, Z19, K2, Z12, Z13, Z1, Z2); \
	VPMAXSD    Z9, X, X;                                         \
	VPMINSD    Z8, X, X

// LOOKUPW: Z1 = table[Z0] per word, Z0 indexes below 256: the 256
// uint16 entries in Z20-Z27, 64 a pair, one VPERMI2W each, the pair
// chosen by bits 6 and 7 of the index (Z30 64, Z31 128 per word).
#define LOOKUPW \
	VPTESTMW  Z30, Z0, K4;    \
	VMOVDQA64 Z0, Z1;         \
	VPERMI2W  Z21, Z20, Z1;   \
	VMOVDQA64 Z0, Z2;         \
	VPERMI2W  Z23, Z22, Z2;   \
	VMOVDQU16 Z2, K4, Z1;     \
	VMOVDQA64 Z0, Z2;         \
	VPERMI2W  Z25, Z24, Z2;   \
	VMOVDQA64 Z0, Z28;        \
	VPERMI2W  Z27, Z26, Z28;  \
	VMOVDQU16 Z28, K4, Z2;    \
	VPTESTMW  Z31, Z0, K4;    \
	VMOVDQU16 Z2, K4, Z1

// EXP16: e = table[z & 255] >> (z >> 8) for the 16 values (those of K3)
// from BX, into Ebuf and the sum Z10; Z29 255, Z4 0xffff (the words the
// indexes' zero high words looked up cleared).
#define EXP16(SHL) \
	VPSUBD.Z   (SI)(BX*4), Z11, K3, Z0;                        \
	EXPZ(Z0, SHL);                                             \
	VPSRLD     $8, Z0, Z3;                                     \
	VPANDD     Z29, Z0, Z0;                                    \
	LOOKUPW;                                                   \
	VPANDD     Z4, Z1, Z1;                                     \
	VPSRLVD.Z  Z3, Z1, K3, Z2;                                 \
	VMOVDQU32  Z2, K3, (R11)(BX*4);                            \
	VPADDD     Z2, Z10, Z10

// EXP32 is EXP16 on the 32 values from BX (no mask), their indexes
// packed to words so that each VPERMI2W looks up 32 of them: Z0 and Z5
// the exponents, Z3 and Z6 their shifts, Z9 (0) unpacks the words.
#define EXP32(SHL) \
	VPSUBD     (SI)(BX*4), Z11, Z0;                               \
	VPSUBD     64(SI)(BX*4), Z11, Z5;                             \
	EXPZ(Z0, SHL);                                                \
	EXPZ(Z5, SHL);                                                \
	VPSRLD     $8, Z0, Z3;                                        \
	VPSRLD     $8, Z5, Z6;                                        \
	VPANDD     Z29, Z0, Z0;                                       \
	VPANDD     Z29, Z5, Z5;                                       \
	VPACKUSDW  Z5, Z0, Z0;                                        \
	LOOKUPW;                                                      \
	VPUNPCKLWD Z9, Z1, Z0;                                        \
	VPUNPCKHWD Z9, Z1, Z5;                                        \
	VPSRLVD    Z3, Z0, Z0;                                        \
	VPSRLVD    Z6, Z5, Z5;                                        \
	VMOVDQU32  Z0, (R11)(BX*4);                                   \
	VMOVDQU32  Z5, 64(R11)(BX*4);                                 \
	VPADDD     Z0, Z10, Z10;                                      \
	VPADDD     Z5, Z10, Z10

// EXPS runs EXP32 while 32 values are left, then EXP16 on up to 16 and
// on the rest under K5.
#define EXPS(SHL, pairs, one, tail, done) \
	XORQ   BX, BX;         \
	MOVQ   CX, AX;         \
	ANDQ   $-32, AX;       \
	KXNORW K3, K3, K3;     \
	CMPQ   BX, AX;         \
	JGE    one;            \
pairs:                     \
	EXP32(SHL);            \
	ADDQ   $32, BX;        \
	CMPQ   BX, AX;         \
	JLT    pairs;          \
one:                       \
	LEAQ   16(BX), AX;     \
	CMPQ   AX, CX;         \
	JGT    tail;           \
	EXP16(SHL);            \
	ADDQ   $16, BX;        \
tail:                      \
	CMPQ   BX, CX;         \
	JGE    done;           \
	KMOVW  K5, K3;         \
	EXP16(SHL);            \
done:

// OUT16: sat8(((e*R + 2^21) >> 22) + Zp), the int32 value clamped to Z8,
// Z9 (OutLo, OutHi) before Zp is added.
#define OUT16 \
	VMOVDQU32.Z (R11)(BX*4), K3, Z0; \
	VPMULLD     Z7, Z0, Z0;          \
	VPADDD      Z5, Z0, Z0;          \
	VPSRAD      $22, Z0, Z0;         \
	VPMAXSD     Z8, Z0, Z0;          \
	VPMINSD     Z9, Z0, Z0;          \
	VPADDD      Z4, Z0, Z0;          \
	VPMOVSDB    Z0, K3, (DI)(BX*1)

#define POST16 \
	VMOVDQU32.Z (R11)(BX*4), K3, Z0; \
	VPMULLD     Z7, Z0, Z0;          \
	VPSRAD      $14, Z0, Z0;         \
	VMOVDQU32.Z (R10)(BX*4), K3, Z3; \
	SATADD16(Z0, Z3, Z13, Z1, Z2);   \
	VPSRLD      $7, Z0, Z1;          \
	VPANDD      Z15, Z1, Z1;         \
	VPSRAD      $8, Z0, Z0;          \
	VPADDD      Z1, Z0, Z0;          \
	VPADDD      Z4, Z0, Z0;          \
	VPMOVSDB    Z0, K3, (DI)(BX*1)

// func SoftmaxAVX512(ctx *SoftmaxCtx)
TEXT ·SoftmaxAVX512(SB), NOSPLIT, $0-8
	MOVQ ctx+0(FP), R8
	MOVQ sm_logits(R8), SI
	MOVQ sm_bias(R8), R10
	MOVQ sm_dst(R8), DI
	MOVQ sm_ebuf(R8), R11
	MOVQ sm_exp(R8), R9
	VPBROADCASTD sm_mult(R8), Z16
	VPBROADCASTD sm_leftN(R8), Z17
	VPBROADCASTQ sm_expS(R8), Z18
	VPBROADCASTQ sm_expC(R8), Z19
	CONSTS16(Z12, Z13, Z14, Z15)
	MOVL         $4095, AX
	VPBROADCASTD AX, Z8
	VPXORD       Z9, Z9, Z9
	MOVL         $0xaaaa, AX
	KMOVW        AX, K2
	// K5: the first N%16 lanes; K6: the first Side%16.
	MOVQ  sm_n(R8), CX
	ANDQ  $15, CX
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX
	KMOVW AX, K5
	MOVQ  sm_side(R8), CX
	ANDQ  $15, CX
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX
	KMOVW AX, K6
	MOVQ  sm_n(R8), CX

	// The attention bias row, as SoftmaxAVX2 builds it, 16 at a time, and
	// the largest value of the row (Pre) or of the logits (Post).
	MOVQ  sm_side(R8), R13
	TESTQ R13, R13
	JZ    nopre512
	MOVQ  sm_table(R8), R14
	MOVQ  R10, R15         // the row
	MOVQ  SI, DX           // the logits
	MOVQ  R13, R12         // runs left
	MOVQ  R13, AX
	ANDQ  $-16, AX         // the whole blocks of a run
	VMOVDQA64 Z13, Z11     // the row's largest value, from MinInt32

run512:
	XORQ BX, BX
	CMPQ BX, AX
	JGE  runtail512

run16:
	VMOVDQU32 (R14)(BX*4), Z0
	CMPQ      sm_pre(R8), $0
	JE        run16post
	VPADDD    (DX)(BX*4), Z0, Z0
	VPMAXSD   Z0, Z11, Z11
	JMP       run16store

run16post:
	VPMAXSD (DX)(BX*4), Z11, Z11

run16store:
	VMOVDQU32 Z0, (R15)(BX*4)
	ADDQ      $16, BX
	CMPQ      BX, AX
	JLT       run16

runtail512:
	CMPQ        BX, R13
	JGE         runnext512
	VMOVDQU32.Z (R14)(BX*4), K6, Z0
	VMOVDQU32.Z (DX)(BX*4), K6, Z1
	CMPQ        sm_pre(R8), $0
	JE          runtailmax
	VPADDD      Z1, Z0, Z0
	VMOVDQA64   Z0, Z1

runtailmax:
	VPMAXSD   Z1, Z11, K6, Z11
	VMOVDQU32 Z0, K6, (R15)(BX*4)

runnext512:
	ADDQ sm_tStride(R8), R14
	LEAQ (R15)(R13*4), R15
	LEAQ (DX)(R13*4), DX
	DECQ R12
	JNZ  run512
	CMPQ sm_pre(R8), $0
	JE   max512
	MOVQ R10, SI
	JMP  max512

nopre512:
	VPBROADCASTD (SI), Z11
	BLOCKS16(MAX16, q1, q1t, q1d)

max512:
	VEXTRACTI64X4 $1, Z11, Y0
	VPMAXSD       Y0, Y11, Y11
	VEXTRACTI128  $1, Y11, X0
	VPMAXSD       X0, X11, X11
	VPSHUFD       $0x4e, X11, X0
	VPMAXSD       X0, X11, X11
	VPSHUFD       $0xb1, X11, X0
	VPMAXSD       X0, X11, X11
	VPBROADCASTD  X11, Z11

	MOVQ      sm_exp16(R8), AX
	VMOVDQU64 (AX), Z20
	VMOVDQU64 64(AX), Z21
	VMOVDQU64 128(AX), Z22
	VMOVDQU64 192(AX), Z23
	VMOVDQU64 256(AX), Z24
	VMOVDQU64 320(AX), Z25
	VMOVDQU64 384(AX), Z26
	VMOVDQU64 448(AX), Z27
	MOVL         $255, AX
	VPBROADCASTD AX, Z29
	MOVL         $64, AX
	VPBROADCASTW AX, Z30
	MOVL         $128, AX
	VPBROADCASTW AX, Z31
	MOVL         $0xffff, AX
	VPBROADCASTD AX, Z4
	VPXORD Z10, Z10, Z10
	CMPQ   sm_left(R8), $0
	JNE    expleft512
	EXPS(NOSHL16, q2, q2o, q2t, q2d)
	JMP    sum512

expleft512:
	EXPS(SATSHL16, q2s, q2so, q2st, q2sd)

sum512:
	VEXTRACTI64X4 $1, Z10, Y0
	VPADDD        Y0, Y10, Y10
	VEXTRACTI128  $1, Y10, X0
	VPADDD        X0, X10, X10
	VPSHUFD       $0x4e, X10, X0
	VPADDD        X0, X10, X10
	VPSHUFD       $0xb1, X10, X0
	VPADDD        X0, X10, X10
	MOVL          X10, R12 // sum
	// R = (Q<<22 + sum/2) / sum, below 2^31.
	MOVQ         sm_q(R8), AX
	SHLQ         $22, AX
	MOVQ         R12, DX
	SHRQ         $1, DX
	ADDQ         DX, AX
	XORQ         DX, DX
	DIVQ         R12
	VPBROADCASTD AX, Z7
	VPBROADCASTD sm_zp(R8), Z4
	MOVL         $0x200000, AX
	VPBROADCASTD AX, Z5
	VPBROADCASTD sm_outLo(R8), Z8
	VPBROADCASTD sm_outHi(R8), Z9

	CMPQ sm_post(R8), $0
	JNE  post512
	BLOCKS16(OUT16, q3, q3t, q3d)
	VZEROUPPER
	RET

post512:
	BLOCKS16(POST16, q4, q4t, q4d)
	VZEROUPPER
	RET
