//go:build !purego

#include "textflag.h"

// The AVX2 lookup: VPSHUFB looks up 16 bytes by the low nibble and gives
// zero where the index has bit 7 set. For a byte x with high nibble h <= 7,
// x +us C_t (unsigned saturating, C_t = 0x70 - 16t) keeps the low nibble
// and has bit 7 clear exactly for t >= h (and for no t when h >= 8), so
// XOR over t = 0..7 of the lookups in D_t = T_t ^ T_t+1 (D_7 = T_7, T_t
// the table's slice t) telescopes to T_h. x ^ 0x80 does the same for the
// high half with D_8..D_15. Per 32 bytes: 16 x (add, shuffle, xor).

// lut_c<>+32k: C_k = 0x70 - 16k in every byte.
DATA lut_c<>+0(SB)/8, $0x7070707070707070
DATA lut_c<>+8(SB)/8, $0x7070707070707070
DATA lut_c<>+16(SB)/8, $0x7070707070707070
DATA lut_c<>+24(SB)/8, $0x7070707070707070
DATA lut_c<>+32(SB)/8, $0x6060606060606060
DATA lut_c<>+40(SB)/8, $0x6060606060606060
DATA lut_c<>+48(SB)/8, $0x6060606060606060
DATA lut_c<>+56(SB)/8, $0x6060606060606060
DATA lut_c<>+64(SB)/8, $0x5050505050505050
DATA lut_c<>+72(SB)/8, $0x5050505050505050
DATA lut_c<>+80(SB)/8, $0x5050505050505050
DATA lut_c<>+88(SB)/8, $0x5050505050505050
DATA lut_c<>+96(SB)/8, $0x4040404040404040
DATA lut_c<>+104(SB)/8, $0x4040404040404040
DATA lut_c<>+112(SB)/8, $0x4040404040404040
DATA lut_c<>+120(SB)/8, $0x4040404040404040
DATA lut_c<>+128(SB)/8, $0x3030303030303030
DATA lut_c<>+136(SB)/8, $0x3030303030303030
DATA lut_c<>+144(SB)/8, $0x3030303030303030
DATA lut_c<>+152(SB)/8, $0x3030303030303030
DATA lut_c<>+160(SB)/8, $0x2020202020202020
DATA lut_c<>+168(SB)/8, $0x2020202020202020
DATA lut_c<>+176(SB)/8, $0x2020202020202020
DATA lut_c<>+184(SB)/8, $0x2020202020202020
DATA lut_c<>+192(SB)/8, $0x1010101010101010
DATA lut_c<>+200(SB)/8, $0x1010101010101010
DATA lut_c<>+208(SB)/8, $0x1010101010101010
DATA lut_c<>+216(SB)/8, $0x1010101010101010
DATA lut_c<>+224(SB)/8, $0
DATA lut_c<>+232(SB)/8, $0
DATA lut_c<>+240(SB)/8, $0
DATA lut_c<>+248(SB)/8, $0
GLOBL lut_c<>(SB), RODATA|NOPTR, $256

// DIFF: D_t into the frame at 32t, T_t ^ T_t+1.
#define DIFF(t) \
	VBROADCASTI128 (t*16)(DX), Y0;     \
	VBROADCASTI128 (t*16+16)(DX), Y1;  \
	VPXOR          Y1, Y0, Y0;         \
	VMOVDQU        Y0, (t*32)(SP)

// XSTEP: slice t (C_k, k = t%8) for the indices X1, X2 into Y2, Y3.
#define XSTEP(t, k, X1, X2) \
	VMOVDQU  (t*32)(SP), Y6;      \
	VPADDUSB (k*32)(R9), X1, Y7;  \
	VPADDUSB (k*32)(R9), X2, Y8;  \
	VPSHUFB  Y7, Y6, Y7;          \
	VPSHUFB  Y8, Y6, Y8;          \
	VPXOR    Y7, Y2, Y2;          \
	VPXOR    Y8, Y3, Y3

#define LUT64 \
	VPXOR Y2, Y2, Y2;          \
	VPXOR Y3, Y3, Y3;          \
	VPXOR Y14, Y4, Y9;         \
	VPXOR Y14, Y5, Y10;        \
	XSTEP(0, 0, Y4, Y5);       \
	XSTEP(1, 1, Y4, Y5);       \
	XSTEP(2, 2, Y4, Y5);       \
	XSTEP(3, 3, Y4, Y5);       \
	XSTEP(4, 4, Y4, Y5);       \
	XSTEP(5, 5, Y4, Y5);       \
	XSTEP(6, 6, Y4, Y5);       \
	XSTEP(7, 7, Y4, Y5);       \
	XSTEP(8, 0, Y9, Y10);      \
	XSTEP(9, 1, Y9, Y10);      \
	XSTEP(10, 2, Y9, Y10);     \
	XSTEP(11, 3, Y9, Y10);     \
	XSTEP(12, 4, Y9, Y10);     \
	XSTEP(13, 5, Y9, Y10);     \
	XSTEP(14, 6, Y9, Y10);     \
	XSTEP(15, 7, Y9, Y10)

// func LUTAVX2(dst, src *int8, n int, table *[256]int8)
TEXT ·LUTAVX2(SB), $512-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ table+24(FP), DX
	LEAQ lut_c<>(SB), R9
	DIFF(0)
	DIFF(1)
	DIFF(2)
	DIFF(3)
	DIFF(4)
	DIFF(5)
	DIFF(6)
	VBROADCASTI128 112(DX), Y0
	VMOVDQU        Y0, 224(SP)
	DIFF(8)
	DIFF(9)
	DIFF(10)
	DIFF(11)
	DIFF(12)
	DIFF(13)
	DIFF(14)
	VBROADCASTI128 240(DX), Y0
	VMOVDQU        Y0, 480(SP)
	MOVL           $0x80808080, AX
	MOVD           AX, X14
	VPBROADCASTD   X14, Y14
	CMPQ           CX, $64
	JLT            tail32

loop64:
	VMOVDQU (SI), Y4
	VMOVDQU 32(SI), Y5
	LUT64
	VMOVDQU Y2, (DI)
	VMOVDQU Y3, 32(DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $64, CX
	CMPQ    CX, $64
	JGE     loop64

tail32:
	TESTQ   CX, CX
	JZ      done
	// One last block of 32: the same steps, the second half unused.
	VMOVDQU (SI), Y4
	VPXOR   Y5, Y5, Y5
	LUT64
	VMOVDQU Y2, (DI)

done:
	VZEROUPPER
	RET

// func LUTVBMI(dst, src *int8, n int, table *[256]int8)
TEXT ·LUTVBMI(SB), NOSPLIT, $0-32
	MOVQ      dst+0(FP), DI
	MOVQ      src+8(FP), SI
	MOVQ      n+16(FP), CX
	MOVQ      table+24(FP), DX
	VMOVDQU64 (DX), Z0
	VMOVDQU64 64(DX), Z1
	VMOVDQU64 128(DX), Z2
	VMOVDQU64 192(DX), Z3
	CMPQ      CX, $64
	JLT       vtail

vloop:
	// Z5 = table[0:128][src&127], Z4 = table[128:256][src&127], then
	// Z4 where src's bit 7 is set.
	VMOVDQU64 (SI), Z4
	VPMOVB2M  Z4, K1
	VMOVDQA64 Z4, Z5
	VPERMI2B  Z1, Z0, Z5
	VPERMI2B  Z3, Z2, Z4
	VMOVDQU8  Z4, K1, Z5
	VMOVDQU64 Z5, (DI)
	ADDQ      $64, SI
	ADDQ      $64, DI
	SUBQ      $64, CX
	CMPQ      CX, $64
	JGE       vloop

vtail:
	TESTQ     CX, CX
	JZ        vdone
	MOVQ      $-1, AX
	BZHIQ     CX, AX, AX
	KMOVQ     AX, K2
	VMOVDQU8.Z (SI), K2, Z4
	VPMOVB2M  Z4, K1
	VMOVDQA64 Z4, Z5
	VPERMI2B  Z1, Z0, Z5
	VPERMI2B  Z3, Z2, Z4
	VMOVDQU8  Z4, K1, Z5
	VMOVDQU8  Z5, K2, (DI)

vdone:
	VZEROUPPER
	RET
