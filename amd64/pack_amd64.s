//go:build !purego

// The AVX2 kernel of Weights.PackStrided (see ../kernels/pack_amd64.go for
// the driver): n chunks of chunk bytes, consecutive in src, to dst chunks
// dStride apart, each value clamped to [-127, 127] (VPMAXSB). A chunk of
// 32 bytes or more moves 32 at a time with an overlapping last 32 (the
// clamp is idempotent); 16, 8 and 4 byte chunks move in one piece.
//
// Registers: R13 ctx, SI src, DI dst, CX chunks left, R8 chunk, R9
// dStride, R10 index, AX chunk-32; Y1 -127 in every byte.

#include "textflag.h"

#define pk_src 0
#define pk_dst 8
#define pk_n 16
#define pk_chunk 24
#define pk_dStride 32

DATA pkmin<>+0(SB)/8, $0x8181818181818181
DATA pkmin<>+8(SB)/8, $0x8181818181818181
DATA pkmin<>+16(SB)/8, $0x8181818181818181
DATA pkmin<>+24(SB)/8, $0x8181818181818181
GLOBL pkmin<>(SB), RODATA|NOPTR, $32

// func PackStrided(ctx *PackCtx)
TEXT ·PackStrided(SB), NOSPLIT, $0-8
	MOVQ ctx+0(FP), R13
	MOVQ pk_src(R13), SI
	MOVQ pk_dst(R13), DI
	MOVQ pk_n(R13), CX
	MOVQ pk_chunk(R13), R8
	MOVQ pk_dStride(R13), R9
	VMOVDQU pkmin<>(SB), Y1
	CMPQ R8, $4
	JEQ pk_c4
	CMPQ R8, $8
	JEQ pk_c8
	CMPQ R8, $16
	JEQ pk_c16
	LEAQ -32(R8), AX

pk_c32:
	XORQ R10, R10

pk_c32loop:
	VPMAXSB (SI)(R10*1), Y1, Y0
	VMOVDQU Y0, (DI)(R10*1)
	ADDQ $32, R10
	CMPQ R10, AX
	JLT pk_c32loop
	VPMAXSB -32(SI)(R8*1), Y1, Y0
	VMOVDQU Y0, -32(DI)(R8*1)
	ADDQ R8, SI
	ADDQ R9, DI
	DECQ CX
	JNZ pk_c32
	JMP pk_done

pk_c16:
	VPMAXSB (SI), X1, X0
	VMOVDQU X0, (DI)
	ADDQ $16, SI
	ADDQ R9, DI
	DECQ CX
	JNZ pk_c16
	JMP pk_done

pk_c8:
	VMOVQ (SI), X0
	VPMAXSB X1, X0, X0
	VMOVQ X0, (DI)
	ADDQ $8, SI
	ADDQ R9, DI
	DECQ CX
	JNZ pk_c8
	JMP pk_done

pk_c4:
	VMOVD (SI), X0
	VPMAXSB X1, X0, X0
	VMOVD X0, (DI)
	ADDQ $4, SI
	ADDQ R9, DI
	DECQ CX
	JNZ pk_c4

pk_done:
	VZEROUPPER
	RET
