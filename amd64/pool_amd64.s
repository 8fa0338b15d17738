//go:build !purego

// The AVX2 kernel of AvgPool2x2 (see ../kernels/pool_amd64.go for the
// driver). For each output pixel, 16 channels at a time (a last block at
// c-16 when c is not a multiple of 16, writing some values twice): the
// window's four values sign-extended to int16 (VPMOVSXBW), summed with 2,
// shifted right by 2 (VPSRAW: the floor), packed back to bytes.
//
// Registers: R13 ctx, SI the window's top left, BX top right, DX bottom
// left, DI bottom right, R11 dst, CX pixels left, R8 c, R9 c-16, R10 the
// channel offset, R12 the row step.

#include "textflag.h"

#define pl_src 0
#define pl_dst 8
#define pl_rowStep 16
#define pl_n 24
#define pl_c 32

DATA pltwo<>+0(SB)/8, $0x0002000200020002
DATA pltwo<>+8(SB)/8, $0x0002000200020002
DATA pltwo<>+16(SB)/8, $0x0002000200020002
DATA pltwo<>+24(SB)/8, $0x0002000200020002
GLOBL pltwo<>(SB), RODATA|NOPTR, $32

// func AvgPool2x2(ctx *PoolCtx)
TEXT ·AvgPool2x2(SB), NOSPLIT, $0-8
	MOVQ ctx+0(FP), R13
	MOVQ pl_src(R13), SI
	MOVQ pl_dst(R13), R11
	MOVQ pl_rowStep(R13), R12
	MOVQ pl_n(R13), CX
	MOVQ pl_c(R13), R8
	LEAQ -16(R8), R9
	VMOVDQU pltwo<>(SB), Y5

pl_pixel:
	LEAQ (SI)(R8*1), BX
	LEAQ (SI)(R12*1), DX
	LEAQ (DX)(R8*1), DI
	XORQ R10, R10

pl_block:
	VPMOVSXBW (SI)(R10*1), Y0
	VPMOVSXBW (BX)(R10*1), Y1
	VPMOVSXBW (DX)(R10*1), Y2
	VPMOVSXBW (DI)(R10*1), Y3
	VPADDW Y1, Y0, Y0
	VPADDW Y3, Y2, Y2
	VPADDW Y5, Y0, Y0
	VPADDW Y2, Y0, Y0
	VPSRAW $2, Y0, Y0
	VPACKSSWB Y0, Y0, Y0
	VPERMQ $0x08, Y0, Y0
	VMOVDQU X0, (R11)(R10*1)
	// The next block: min(off+16, c-16), unless this was c-16.
	CMPQ R10, R9
	JEQ pl_next
	ADDQ $16, R10
	CMPQ R10, R9
	CMOVQGT R9, R10
	JMP pl_block

pl_next:
	LEAQ (SI)(R8*2), SI
	ADDQ R8, R11
	DECQ CX
	JNZ pl_pixel
	VZEROUPPER
	RET
