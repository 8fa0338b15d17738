//go:build !purego

#include "textflag.h"

// QuantizeInputAVX2 in doubles, 4 a YMM, as the reference computes: x =
// float64(f) * inv; t = trunc(x); t += 1 where x - t >= 0.5, t -= 1 where
// x - t <= -0.5 (x - t is exact for |x| < 2^52, and 0 above, where x is
// an integer): round half away from zero. Then t + zp, clamped to
// [-128, 127], and 0 where x is NaN. Two YMMs pack to 8 bytes, stored at
// once (stride 1) or a byte at a time.
//
// Registers: DI dst, BX stride, SI src, CX values left; Y15 inv, Y14 0.5,
// Y13 -0.5, Y12 1.0, Y11 zp, Y10 -128.0, Y9 127.0.

// QUANT4 quantizes the 4 floats at off(SI) into the int32s of xo, with
// scratch y0..y4 (xo the XMM of y0).
#define QUANT4(off, xo, y0, y1, y2, y3, y4) \
	VCVTPS2PD   off(SI), y0;        \
	VMULPD      Y15, y0, y0;        \
	VROUNDPD    $3, y0, y1;         \
	VSUBPD      y1, y0, y2;         \
	VCMPPD      $13, Y14, y2, y3;   \
	VCMPPD      $2, Y13, y2, y4;    \
	VANDPD      Y12, y3, y3;        \
	VANDPD      Y12, y4, y4;        \
	VADDPD      y3, y1, y1;         \
	VSUBPD      y4, y1, y1;         \
	VADDPD      Y11, y1, y1;        \
	VMAXPD      Y10, y1, y1;        \
	VMINPD      Y9, y1, y1;         \
	VCMPPD      $7, y0, y0, y2;     \
	VANDPD      y2, y1, y1;         \
	VCVTTPD2DQY y1, xo

// func QuantizeInputAVX2(dst *int8, stride int, src *float32, n int, inv, zp float64)
TEXT ·QuantizeInputAVX2(SB), NOSPLIT, $0-48
	MOVQ         dst+0(FP), DI
	MOVQ         stride+8(FP), BX
	MOVQ         src+16(FP), SI
	MOVQ         n+24(FP), CX
	VBROADCASTSD inv+32(FP), Y15
	VBROADCASTSD zp+40(FP), Y11
	MOVQ         $0x3FE0000000000000, AX // 0.5
	VMOVQ        AX, X14
	VBROADCASTSD X14, Y14
	MOVQ         $0xBFE0000000000000, AX // -0.5
	VMOVQ        AX, X13
	VBROADCASTSD X13, Y13
	MOVQ         $0x3FF0000000000000, AX // 1.0
	VMOVQ        AX, X12
	VBROADCASTSD X12, Y12
	MOVQ         $0xC060000000000000, AX // -128.0
	VMOVQ        AX, X10
	VBROADCASTSD X10, Y10
	MOVQ         $0x405FC00000000000, AX // 127.0
	VMOVQ        AX, X9
	VBROADCASTSD X9, Y9

loop:
	QUANT4(0, X0, Y0, Y1, Y2, Y3, Y4)
	QUANT4(16, X5, Y5, Y6, Y7, Y8, Y4)
	VPACKSSDW X5, X0, X0
	VPACKSSWB X0, X0, X0
	VMOVQ     X0, AX
	CMPQ      BX, $1
	JNE       strided
	MOVQ      AX, (DI)
	ADDQ      $8, DI
	JMP       next

strided:
	MOVB AL, (DI)
	SHRQ $8, AX
	ADDQ BX, DI
	MOVB AL, (DI)
	SHRQ $8, AX
	ADDQ BX, DI
	MOVB AL, (DI)
	SHRQ $8, AX
	ADDQ BX, DI
	MOVB AL, (DI)
	SHRQ $8, AX
	ADDQ BX, DI
	MOVB AL, (DI)
	SHRQ $8, AX
	ADDQ BX, DI
	MOVB AL, (DI)
	SHRQ $8, AX
	ADDQ BX, DI
	MOVB AL, (DI)
	SHRQ $8, AX
	ADDQ BX, DI
	MOVB AL, (DI)
	ADDQ BX, DI

next:
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ  loop
	VZEROUPPER
	RET
