//go:build !purego

#include "textflag.h"

// One 16-byte slice t of the table for 32 indices: Y4 holds src - 16t
// (mod 256); adding 0x70 with unsigned saturation keeps the low nibble
// and clears bit 7 exactly where src's high nibble is t, so VPSHUFB
// looks up there and gives zero everywhere else.
#define LUTSTEP(off) \
	VBROADCASTI128 off(DX), Y6; \
	VPADDUSB       Y13, Y4, Y7; \
	VPADDUSB       Y13, Y5, Y8; \
	VPSHUFB        Y7, Y6, Y7;  \
	VPSHUFB        Y8, Y6, Y8;  \
	VPOR           Y7, Y2, Y2;  \
	VPOR           Y8, Y3, Y3;  \
	VPSUBB         Y14, Y4, Y4; \
	VPSUBB         Y14, Y5, Y5

// func LUTAVX2(dst, src *int8, n int, table *[256]int8)
TEXT ·LUTAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ table+24(FP), DX
	MOVL $0x70707070, AX
	MOVD AX, X13
	VPBROADCASTD X13, Y13
	MOVL $0x10101010, AX
	MOVD AX, X14
	VPBROADCASTD X14, Y14
	CMPQ CX, $64
	JLT  tail32

loop64:
	VMOVDQU (SI), Y4
	VMOVDQU 32(SI), Y5
	VPXOR   Y2, Y2, Y2
	VPXOR   Y3, Y3, Y3
	LUTSTEP(0)
	LUTSTEP(16)
	LUTSTEP(32)
	LUTSTEP(48)
	LUTSTEP(64)
	LUTSTEP(80)
	LUTSTEP(96)
	LUTSTEP(112)
	LUTSTEP(128)
	LUTSTEP(144)
	LUTSTEP(160)
	LUTSTEP(176)
	LUTSTEP(192)
	LUTSTEP(208)
	LUTSTEP(224)
	LUTSTEP(240)
	VMOVDQU Y2, (DI)
	VMOVDQU Y3, 32(DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $64, CX
	CMPQ    CX, $64
	JGE     loop64

tail32:
	TESTQ CX, CX
	JZ    done
	// One last block of 32: the same steps, the second lane half unused.
	VMOVDQU (SI), Y4
	VPXOR   Y5, Y5, Y5
	VPXOR   Y2, Y2, Y2
	VPXOR   Y3, Y3, Y3
	LUTSTEP(0)
	LUTSTEP(16)
	LUTSTEP(32)
	LUTSTEP(48)
	LUTSTEP(64)
	LUTSTEP(80)
	LUTSTEP(96)
	LUTSTEP(112)
	LUTSTEP(128)
	LUTSTEP(144)
	LUTSTEP(160)
	LUTSTEP(176)
	LUTSTEP(192)
	LUTSTEP(208)
	LUTSTEP(224)
	LUTSTEP(240)
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
