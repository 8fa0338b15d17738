//go:build !purego

#include "textflag.h"
#include "requant_amd64.h"

#define ln_src 0
#define ln_dst 8
#define ln_c 16
#define ln_pixels 24
#define ln_nb 32
#define ln_zero 40
#define ln_s 48
#define ln_q 56
#define ln_sP 64
#define ln_r 72
#define ln_mult 80
#define ln_shift 88
#define ln_bias 96
#define ln_left 104
#define ln_bias16 112

DATA ln_rnd<>+0(SB)/8, $2048
DATA ln_rnd<>+8(SB)/8, $2048
DATA ln_rnd<>+16(SB)/8, $2048
DATA ln_rnd<>+24(SB)/8, $2048
GLOBL ln_rnd<>(SB), RODATA|NOPTR, $32

// HSUM: the sum of the 8 lanes of Y (XY is the same register) into the
// low lane; XT is clobbered.
#define HSUM(Y, XY, XT) \
	VEXTRACTI128 $1, Y, XT; \
	VPADDD       XT, XY, XY; \
	VPSHUFD      $0x4e, XY, XT; \
	VPADDD       XT, XY, XY; \
	VPSHUFD      $0xb1, XY, XT; \
	VPADDD       XT, XY, XY

// func LayerNormStatsAVX2(ctx *LayerNormCtx)
TEXT ·LayerNormStatsAVX2(SB), NOSPLIT, $0-8
	MOVQ         ctx+0(FP), R8
	MOVQ         ln_src(R8), SI
	MOVQ         ln_pixels(R8), DX
	MOVQ         ln_s(R8), R10
	MOVQ         ln_q(R8), R11
	VPBROADCASTW ln_zero(R8), Y15
	VPCMPEQW     Y14, Y14, Y14
	VPSRLW       $15, Y14, Y14 // 1 in every word

pixel:
	MOVQ  SI, AX
	MOVQ  ln_nb(R8), CX
	VPXOR Y2, Y2, Y2 // sums of d
	VPXOR Y3, Y3, Y3 // sums of d^2

block:
	VPMOVSXBW (AX), Y0
	VPSUBW    Y15, Y0, Y0
	VPMADDWD  Y0, Y0, Y1
	VPADDD    Y1, Y3, Y3
	VPMADDWD  Y14, Y0, Y1
	VPADDD    Y1, Y2, Y2
	ADDQ      $16, AX
	DECQ      CX
	JNZ       block
	HSUM(Y2, X2, X4)
	HSUM(Y3, X3, X4)
	MOVL      X2, (R10)
	MOVL      X3, (R11)
	ADDQ      $4, R10
	ADDQ      $4, R11
	ADDQ      ln_c(R8), SI
	DECQ      DX
	JNZ       pixel
	VZEROUPPER
	RET

// LN8 does channels BX..BX+7 of one pixel (SI, DI; its R in Y11, its SP
// at R13). nv = ((C*x - SP)*R + 2^11) >> 12 is taken mod 2^32 from the
// exact 64-bit products: |C*d - S| <= sqrt(C*V) and R <= 2^24/sqrt(V)
// (+1/2) keep |nv| below 2^21, so the sat32 of the reference never acts.
#define LN8(SHL) \
	VPMOVSXBD (SI)(BX*1), Y0;               \
	VPMULLD   Y10, Y0, Y0;                  \
	VPSUBD    (R13), Y0, Y0;                \
	VPMULDQ   Y11, Y0, Y1;                  \
	VPSRLQ    $32, Y0, Y2;                  \
	VPMULDQ   Y11, Y2, Y2;                  \
	VPADDQ    ln_rnd<>(SB), Y1, Y1;         \
	VPADDQ    ln_rnd<>(SB), Y2, Y2;         \
	VPSRLQ    $12, Y1, Y1;                  \
	VPSLLQ    $20, Y2, Y2;                  \
	VPBLENDD  $0xaa, Y2, Y1, Y0;            \
	VMOVDQU   (R14)(BX*4), Y2;              \
	SHIFTS(Y2, Y8, Y9, Y3, Y4, Y5);         \
	SHL(Y0, Y3, Y12, Y1, Y2);               \
	VMOVDQU   (R9)(BX*4), Y6;               \
	VPSRLQ    $32, Y6, Y7;                  \
	SQRDMULH(Y0, Y6, Y7, Y14, Y13, Y1, Y2); \
	RSHR(Y0, Y4, Y5, Y15, Y1);              \
	SATADD(Y0, (R15)(BX*4), Y13, Y1, Y2);   \
	PACK8(Y0, X0, X1);                      \
	MOVQ      X0, (DI)(BX*1)

#define LNPIXELS(SHL, pixel, blockloop, next) \
pixel:                          \
	VPBROADCASTD (R11), Y11;    \
	XORQ         BX, BX;        \
blockloop:                      \
	LN8(SHL);                   \
	ADDQ         $8, BX;        \
	LEAQ         8(BX), AX;     \
	CMPQ         AX, CX;        \
	JLE          blockloop;     \
	CMPQ         BX, CX;        \
	JGE          next;          \
	LEAQ         -8(CX), BX;    \
	LN8(SHL);                   \
next:                           \
	ADDQ         CX, SI;        \
	ADDQ         CX, DI;        \
	ADDQ         $4, R11;       \
	ADDQ         $32, R13;      \
	DECQ         DX;            \
	JNZ          pixel

// func LayerNormApplyAVX2(ctx *LayerNormCtx)
TEXT ·LayerNormApplyAVX2(SB), NOSPLIT, $0-8
	MOVQ         ctx+0(FP), R8
	MOVQ         ln_src(R8), SI
	MOVQ         ln_dst(R8), DI
	MOVQ         ln_c(R8), CX
	MOVQ         ln_pixels(R8), DX
	MOVQ         ln_r(R8), R11
	MOVQ         ln_sP(R8), R13
	MOVQ         ln_mult(R8), R9
	MOVQ         ln_shift(R8), R14
	MOVQ         ln_bias(R8), R15
	CONSTS(Y12, X12, Y13, X13, Y14, X14, Y15, X15)
	VPXOR        Y8, Y8, Y8
	VPCMPEQD     Y9, Y9, Y9
	VPBROADCASTD ln_c(R8), Y10
	CMPQ         ln_left(R8), $0
	JNE          withleft
	LNPIXELS(NOSHL, p0, b0, n0)
	VZEROUPPER
	RET

withleft:
	LNPIXELS(SATSHL, p1, b1, n1)
	VZEROUPPER
	RET

// The AVX-512 kernel runs a block of 16 channels (the last C%16 under K4)
// down the chunk's pixels, so that the block's multipliers, shifts (the
// merged requantization's constants, RQPREP16) and biases are loaded
// once. Z16 the multipliers, Z17 their odd lanes, Z18 the left shifts,
// Z19-Z22 SE, SO, CE, CO, Z23 the biases (with Bias16, Y27 as int16); Z10
// C, Z11 the pixel's R, Z12 its SP, Z13 2048 per qword, Z8 0, Z24 2^31,
// Z25 31, Z26 1 per qword, Z28-Z31 CONSTS16's; K2 the odd lanes, K3 the
// block's, K1 scratch.

// LNOUTSAT adds the biases with int32 saturation (any bias).
#define LNOUTSAT \
	SATADD16(Z0, Z23, Z29, Z1, Z2); \
	VPMOVSDB Z0, K3, (DI)

// LNOUTW adds them in a saturating int16 add after packing with
// saturation, which gives sat8(x + bias) exactly for |bias| <= 32640.
#define LNOUTW \
	VPMOVSDW Z0, Y0;        \
	VPADDSW  Y27, Y0, Y0;   \
	VPMOVSWB Y0, X0;        \
	VMOVDQU8 X0, K3, (DI)

// LNBLOCKS16 runs every block; SHL is SATSHL16 or NOSHL16, OUT LNOUTSAT
// or LNOUTW.
#define LNBLOCKS16(SHL, OUT, block, full, pixel) \
	XORQ        BX, BX;                                                  \
block:                                                                   \
	KMOVW       K5, K3;                                                  \
	LEAQ        16(BX), AX;                                              \
	CMPQ        AX, CX;                                                  \
	JLE         full;                                                    \
	KMOVW       K4, K3;                                                  \
full:                                                                    \
	VMOVDQU32.Z (R9)(BX*4), K3, Z16;                                     \
	VPSRLQ      $32, Z16, Z17;                                           \
	VMOVDQU32.Z (R14)(BX*4), K3, Z0;                                     \
	RQPREP16(Z0, Z8, Z30, Z24, Z25, Z26, K2, Z18, Z19, Z20, Z21, Z22, Z1); \
	VMOVDQU32.Z (R15)(BX*4), K3, Z23;                                    \
	VPMOVDW     Z23, Y27;                                                \
	MOVQ        ln_src(R8), SI;                                          \
	ADDQ        BX, SI;                                                  \
	MOVQ        ln_dst(R8), DI;                                          \
	ADDQ        BX, DI;                                                  \
	MOVQ        ln_r(R8), R11;                                           \
	MOVQ        ln_sP(R8), R13;                                          \
	MOVQ        ln_pixels(R8), DX;                                       \
pixel:                                                                   \
	VPBROADCASTD (R11), Z11;                                             \
	VPBROADCASTD (R13), Z12;                                             \
	VPMOVSXBD.Z (SI), K3, Z0;                                            \
	VPMULLD     Z10, Z0, Z0;                                             \
	VPSUBD      Z12, Z0, Z0;                                             \
	VPMULDQ     Z11, Z0, Z1;                                             \
	VPSRLQ      $32, Z0, Z2;                                             \
	VPMULDQ     Z11, Z2, Z2;                                             \
	VPADDQ      Z13, Z1, Z1;                                             \
	VPADDQ      Z13, Z2, Z2;                                             \
	VPSRLQ      $12, Z1, Z1;                                             \
	VPSLLQ      $20, Z2, Z2;                                             \
	VPBLENDMD   Z2, Z1, K2, Z0;                                          \
	SHL(Z0, Z18, Z28, Z1, Z2);                                           \
	RQ16(Z0, Z16, Z17, Z19, Z20, Z21, Z22, K2, Z28, Z29, Z1, Z2);        \
	OUT;                                                                 \
	ADDQ        CX, SI;                                                  \
	ADDQ        CX, DI;                                                  \
	ADDQ        $4, R11;                                                 \
	ADDQ        $32, R13;                                                \
	DECQ        DX;                                                      \
	JNZ         pixel;                                                   \
	ADDQ        $16, BX;                                                 \
	CMPQ        BX, CX;                                                  \
	JLT         block;                                                   \
	VZEROUPPER;                                                          \
	RET

// func LayerNormApplyAVX512(ctx *LayerNormCtx)
TEXT ·LayerNormApplyAVX512(SB), NOSPLIT, $0-8
	MOVQ         ctx+0(FP), R8
	MOVQ         ln_c(R8), CX
	MOVQ         ln_mult(R8), R9
	MOVQ         ln_shift(R8), R14
	MOVQ         ln_bias(R8), R15
	CONSTS16(Z28, Z29, Z30, Z31)
	MOVQ         $2048, AX
	VPBROADCASTQ AX, Z13
	MOVQ         $0x80000000, AX
	VPBROADCASTQ AX, Z24
	MOVQ         $31, AX
	VPBROADCASTQ AX, Z25
	MOVQ         $1, AX
	VPBROADCASTQ AX, Z26
	VPXORD       Z8, Z8, Z8
	VPBROADCASTD ln_c(R8), Z10
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
	CMPQ         ln_left(R8), $0
	JNE          withleft512
	CMPQ         ln_bias16(R8), $0
	JNE          words512
	LNBLOCKS16(NOSHL16, LNOUTSAT, b2, f2, p2)

words512:
	LNBLOCKS16(NOSHL16, LNOUTW, b3, f3, p3)

withleft512:
	CMPQ         ln_bias16(R8), $0
	JNE          leftwords512
	LNBLOCKS16(SATSHL16, LNOUTSAT, b4, f4, p4)

leftwords512:
	LNBLOCKS16(SATSHL16, LNOUTW, b5, f5, p5)
