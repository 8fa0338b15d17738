//go:build !purego

#include "textflag.h"
#include "requant_amd64.h"

#define af_dst 0
#define af_src 8
#define af_c 16
#define af_rows 24
#define af_zero 32
#define af_w 40
#define af_bias 48
#define af_biasMask 56
#define af_mult 64
#define af_shift 72
#define af_paramMask 80
#define af_left 88
#define af_outLo 96
#define af_outHi 128
#define af_zp 160

// Both kernels run a block of channels (8 or 16) down every row, so that
// the block's constants are made once: the weights widened to int32, the
// zero point folded into the biases (bias - w*zero: the same sum mod
// 2^32), and the merged requantization's constants (requant_amd64.h).
// Each value then takes a multiply, an add and RQ8 or RQ16.

// AFPREP8 makes the constants of channels BX..BX+7: Y3 the weights, Y4
// the biases less w*zero (Y15 the zero point), Y5 the multipliers, Y6
// their odd lanes, Y7-Y11 RQPREP8's CE, CO, SE, SO, D, Y12 the left
// shifts.
#define AFPREP8 \
	MOVQ      BX, R12;                                 \
	ANDQ      af_paramMask(R8), R12;                   \
	MOVQ      BX, R13;                                 \
	ANDQ      af_biasMask(R8), R13;                    \
	VPMOVSXWD (R9)(BX*2), Y3;                          \
	VPMULLD   Y15, Y3, Y0;                             \
	VMOVDQU   (R10)(R13*4), Y4;                        \
	VPSUBD    Y0, Y4, Y4;                              \
	VMOVDQU   (R11)(R12*4), Y5;                        \
	VPSRLQ    $32, Y5, Y6;                             \
	VMOVDQU   (R14)(R12*4), Y0;                        \
	RQPREP8(Y0, Y12, Y9, Y10, Y7, Y8, Y11, Y1, Y2)

// AFCOLSTART points SI, DI at the chunk's first row of the block from BX
// and counts its rows in DX.
#define AFCOLSTART \
	MOVQ af_src(R8), SI; \
	ADDQ BX, SI;         \
	MOVQ af_dst(R8), DI; \
	ADDQ BX, DI;         \
	MOVQ R15, DX

// AFCOL8 runs channels BX..BX+7 down the rows. SHL is SATSHL or NOSHL.
#define AFCOL8(SHL, loop) \
	AFCOLSTART;                                       \
loop:                                                 \
	VPMOVSXBD (SI), Y0;                               \
	VPMULLD   Y3, Y0, Y0;                             \
	VPADDD    Y4, Y0, Y0;                             \
	SHL(Y0, Y12, Y14, Y1, Y2);                        \
	RQ8(Y0, Y5, Y6, Y9, Y10, Y7, Y8, Y11, Y13, Y1, Y2); \
	VPMAXSD   af_outLo(R8), Y0, Y0;                   \
	VPMINSD   af_outHi(R8), Y0, Y0;                   \
	VPADDD    af_zp(R8), Y0, Y0;                      \
	PACK8(Y0, X0, X1);                                \
	MOVQ      X0, (DI);                               \
	ADDQ      CX, SI;                                 \
	ADDQ      CX, DI;                                 \
	DECQ      DX;                                     \
	JNZ       loop

// AFCHUNK sets R15 to the rows of the next chunk, at most 128.
#define AFCHUNK \
	MOVQ af_rows(R8), R15; \
	CMPQ R15, $128;        \
	JLE  2(PC);            \
	MOVQ $128, R15

// AFBLOCKS8 runs the blocks at BX = 0, 8, ..., the last at C-8, on
// chunks of up to 128 rows (the chunk's pixels stay in L1 from one block
// to the next): R15 the chunk's rows, ctx.Src and ctx.Dst its first.
#define AFBLOCKS8(SHL, chunk, block, col, last, lastcol, done) \
chunk:                    \
	AFCHUNK;              \
	XORQ BX, BX;          \
block:                    \
	AFPREP8;              \
	AFCOL8(SHL, col);     \
	ADDQ $8, BX;          \
	LEAQ 8(BX), AX;       \
	CMPQ AX, CX;          \
	JLE  block;           \
	CMPQ BX, CX;          \
	JGE  done;            \
	LEAQ -8(CX), BX;      \
last:                     \
	AFPREP8;              \
	AFCOL8(SHL, lastcol); \
done:                     \
	AFNEXT(chunk)

// AFNEXT moves ctx.Src and ctx.Dst past the chunk of R15 rows and goes
// back to chunk while rows are left.
#define AFNEXT(chunk) \
	SUBQ  R15, af_rows(R8); \
	IMULQ CX, R15;          \
	ADDQ  R15, af_src(R8);  \
	ADDQ  R15, af_dst(R8);  \
	CMPQ  af_rows(R8), $0;  \
	JNE   chunk;            \
	VZEROUPPER;             \
	RET

// func AffineAVX2(ctx *AffineCtx)
TEXT ·AffineAVX2(SB), NOSPLIT, $0-8
	MOVQ         ctx+0(FP), R8
	MOVQ         af_c(R8), CX
	MOVQ         af_w(R8), R9
	MOVQ         af_bias(R8), R10
	MOVQ         af_mult(R8), R11
	MOVQ         af_shift(R8), R14
	VPBROADCASTD af_zero(R8), Y15
	VPBROADCASTD rqmin<>(SB), Y13
	VPBROADCASTD rqmax<>(SB), Y14
	CMPQ         af_left(R8), $0
	JNE          withleft
	AFBLOCKS8(NOSHL, k0, b0, c0, l0, lc0, d0)

withleft:
	AFBLOCKS8(SATSHL, k1, b1, c1, l1, lc1, d1)

// The AVX-512 kernel, 16 channels a block, the last (C%16) masked by K4
// (K3 the block's lanes, K5 all, K2 the odd ones, K1 scratch). Z16 the
// weights, Z17 the biases less w*zero (Z10 the zero point), Z18 the
// multipliers, Z19 their odd lanes, Z20-Z23 RQPREP16's CE, CO, SE, SO, Z24
// the left shifts; Z25 OutLo, Z26 OutHi, Z27 the zero point; Z28
// 0x7fffffff, Z29 0x80000000, Z30 2^30 per qword (CONSTS16); Z8 0, Z12
// 2^31, Z13 31, Z14 1 per qword.

// AFPREP16 makes the constants of the channels of K3 from BX on.
#define AFPREP16 \
	MOVQ        BX, R12;                                                 \
	ANDQ        af_paramMask(R8), R12;                                   \
	MOVQ        BX, R13;                                                 \
	ANDQ        af_biasMask(R8), R13;                                    \
	VPMOVSXWD.Z (R9)(BX*2), K3, Z16;                                     \
	VPMULLD     Z10, Z16, Z0;                                            \
	VMOVDQU32.Z (R10)(R13*4), K3, Z17;                                   \
	VPSUBD      Z0, Z17, Z17;                                            \
	VMOVDQU32.Z (R11)(R12*4), K3, Z18;                                   \
	VPSRLQ      $32, Z18, Z19;                                           \
	VMOVDQU32.Z (R14)(R12*4), K3, Z0;                                    \
	RQPREP16(Z0, Z8, Z30, Z12, Z13, Z14, K2, Z24, Z22, Z23, Z20, Z21, Z1)

// AFCOL16 runs the channels of K3 from BX on down the rows.
#define AFCOL16(SHL, loop) \
	AFCOLSTART;                                               \
loop:                                                         \
	VPMOVSXBD.Z (SI), K3, Z0;                                 \
	VPMULLD     Z16, Z0, Z0;                                  \
	VPADDD      Z17, Z0, Z0;                                  \
	SHL(Z0, Z24, Z28, Z1, Z2);                                \
	RQ16(Z0, Z18, Z19, Z22, Z23, Z20, Z21, K2, Z28, Z29, Z1, Z2); \
	VPMAXSD     Z25, Z0, Z0;                                  \
	VPMINSD     Z26, Z0, Z0;                                  \
	VPADDD      Z27, Z0, Z0;                                  \
	VPMOVSDB    Z0, K3, (DI);                                 \
	ADDQ        CX, SI;                                       \
	ADDQ        CX, DI;                                       \
	DECQ        DX;                                           \
	JNZ         loop

// AFBLOCKS16 runs the blocks at BX = 0, 16, ..., the last under K4, on
// chunks of rows as AFBLOCKS8 does.
#define AFBLOCKS16(SHL, chunk, block, col, full) \
chunk:                 \
	AFCHUNK;           \
	XORQ  BX, BX;      \
block:                 \
	KMOVW K5, K3;      \
	LEAQ  16(BX), AX;  \
	CMPQ  AX, CX;      \
	JLE   full;        \
	KMOVW K4, K3;      \
full:                  \
	AFPREP16;          \
	AFCOL16(SHL, col); \
	ADDQ  $16, BX;     \
	CMPQ  BX, CX;      \
	JLT   block;       \
	AFNEXT(chunk)

// func AffineAVX512(ctx *AffineCtx)
TEXT ·AffineAVX512(SB), NOSPLIT, $0-8
	MOVQ         ctx+0(FP), R8
	MOVQ         af_c(R8), CX
	MOVQ         af_w(R8), R9
	MOVQ         af_bias(R8), R10
	MOVQ         af_mult(R8), R11
	MOVQ         af_shift(R8), R14
	CONSTS16(Z28, Z29, Z30, Z31)
	VPXORD       Z8, Z8, Z8
	MOVQ         $0x80000000, AX
	VPBROADCASTQ AX, Z12
	MOVQ         $31, AX
	VPBROADCASTQ AX, Z13
	MOVQ         $1, AX
	VPBROADCASTQ AX, Z14
	VPBROADCASTD af_zero(R8), Z10
	VPBROADCASTD af_outLo(R8), Z25
	VPBROADCASTD af_outHi(R8), Z26
	VPBROADCASTD af_zp(R8), Z27
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
	AFBLOCKS16(NOSHL16, k2, b2, c2, f2)

withleft512:
	AFBLOCKS16(SATSHL16, k3, b3, c3, f3)
