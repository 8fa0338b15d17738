//go:build !purego

// The AVX2 kernel of Im2col3x3 (see ../kernels/im2col_amd64.go for the
// driver). For each pixel of the run and kernel row ky, the seg = 3*c
// bytes of the row's three taps, contiguous in the image, are copied to
// dst + ky*seg, or filled with pad for a padding row, as memmove does: 32
// bytes at a time and an overlapping last 32, or two overlapping moves of
// 16, 8, 4 bytes, or single bytes below 4.
//
// Registers: R13 ctx, CX pixels left, R8 the pixel's source offset, R11
// the pixel's patch row, R12 ky, SI source, DI destination, R9 seg, R10
// index, BX pad in every byte, AX scratch; Y0 data, Y1 pad in every byte.

#include "textflag.h"

#define ic_rows 0
#define ic_dst 24
#define ic_n 32
#define ic_seg 40
#define ic_step 48
#define ic_ld 56
#define ic_pad 64

// func Im2col3x3(ctx *Im2colCtx)
TEXT ·Im2col3x3(SB), NOSPLIT, $0-8
	MOVQ ctx+0(FP), R13
	MOVQ ic_n(R13), CX
	MOVQ ic_dst(R13), R11
	MOVQ ic_seg(R13), R9
	MOVBQZX ic_pad(R13), BX
	MOVQ $0x0101010101010101, AX
	IMULQ AX, BX
	MOVQ BX, X1
	VPBROADCASTQ X1, Y1
	XORQ R8, R8

ic_pixel:
	XORQ R12, R12
	MOVQ R11, DI

ic_row:
	MOVQ ic_rows(R13)(R12*8), SI
	TESTQ SI, SI
	JZ ic_fill
	ADDQ R8, SI
	CMPQ R9, $32
	JB ic_c16
	XORQ R10, R10
	LEAQ -32(R9), AX

ic_c32:
	VMOVDQU (SI)(R10*1), Y0
	VMOVDQU Y0, (DI)(R10*1)
	ADDQ $32, R10
	CMPQ R10, AX
	JLT ic_c32
	VMOVDQU -32(SI)(R9*1), Y0
	VMOVDQU Y0, -32(DI)(R9*1)
	JMP ic_rownext

ic_c16:
	CMPQ R9, $16
	JB ic_c8
	VMOVDQU (SI), X0
	VMOVDQU X0, (DI)
	VMOVDQU -16(SI)(R9*1), X0
	VMOVDQU X0, -16(DI)(R9*1)
	JMP ic_rownext

ic_c8:
	CMPQ R9, $8
	JB ic_c4
	MOVQ (SI), AX
	MOVQ AX, (DI)
	MOVQ -8(SI)(R9*1), AX
	MOVQ AX, -8(DI)(R9*1)
	JMP ic_rownext

ic_c4:
	CMPQ R9, $4
	JB ic_c1
	MOVL (SI), AX
	MOVL AX, (DI)
	MOVL -4(SI)(R9*1), AX
	MOVL AX, -4(DI)(R9*1)
	JMP ic_rownext

ic_c1:
	XORQ R10, R10

ic_c1loop:
	MOVB (SI)(R10*1), AX
	MOVB AX, (DI)(R10*1)
	INCQ R10
	CMPQ R10, R9
	JLT ic_c1loop
	JMP ic_rownext

ic_fill:
	CMPQ R9, $32
	JB ic_f16
	XORQ R10, R10
	LEAQ -32(R9), AX

ic_f32:
	VMOVDQU Y1, (DI)(R10*1)
	ADDQ $32, R10
	CMPQ R10, AX
	JLT ic_f32
	VMOVDQU Y1, -32(DI)(R9*1)
	JMP ic_rownext

ic_f16:
	CMPQ R9, $16
	JB ic_f8
	VMOVDQU X1, (DI)
	VMOVDQU X1, -16(DI)(R9*1)
	JMP ic_rownext

ic_f8:
	CMPQ R9, $8
	JB ic_f4
	MOVQ BX, (DI)
	MOVQ BX, -8(DI)(R9*1)
	JMP ic_rownext

ic_f4:
	CMPQ R9, $4
	JB ic_f1
	MOVL BX, (DI)
	MOVL BX, -4(DI)(R9*1)
	JMP ic_rownext

ic_f1:
	XORQ R10, R10

ic_f1loop:
	MOVB BX, (DI)(R10*1)
	INCQ R10
	CMPQ R10, R9
	JLT ic_f1loop

ic_rownext:
	ADDQ R9, DI
	INCQ R12
	CMPQ R12, $3
	JLT ic_row
	ADDQ ic_step(R13), R8
	ADDQ ic_ld(R13), R11
	DECQ CX
	JNZ ic_pixel
	VZEROUPPER
	RET
