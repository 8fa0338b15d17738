// Requantization of 8 int32 lanes with AVX2, exactly as ../kernels/doc.go
// says, shared by the kernels that requantize (included by their .s files).
// Each macro takes the accumulator register A and memory operands holding
// the lanes' parameters; Y12-Y14 are scratch.

// The constants, file-local in every including file.
DATA rqround<>+0(SB)/8, $0x40000000
DATA rqround<>+8(SB)/8, $0x40000000
DATA rqround<>+16(SB)/8, $0x40000000
DATA rqround<>+24(SB)/8, $0x40000000
GLOBL rqround<>(SB), RODATA|NOPTR, $32
DATA rqone<>+0(SB)/8, $0x0000000100000001
DATA rqone<>+8(SB)/8, $0x0000000100000001
DATA rqone<>+16(SB)/8, $0x0000000100000001
DATA rqone<>+24(SB)/8, $0x0000000100000001
GLOBL rqone<>(SB), RODATA|NOPTR, $32
DATA rqmin<>+0(SB)/8, $0x8000000080000000
DATA rqmin<>+8(SB)/8, $0x8000000080000000
DATA rqmin<>+16(SB)/8, $0x8000000080000000
DATA rqmin<>+24(SB)/8, $0x8000000080000000
GLOBL rqmin<>(SB), RODATA|NOPTR, $32
DATA rqmax<>+0(SB)/8, $0x7fffffff7fffffff
DATA rqmax<>+8(SB)/8, $0x7fffffff7fffffff
DATA rqmax<>+16(SB)/8, $0x7fffffff7fffffff
DATA rqmax<>+24(SB)/8, $0x7fffffff7fffffff
GLOBL rqmax<>(SB), RODATA|NOPTR, $32
// VPERMD indexes gathering dwords 0, 4, 1, 5, ...: after two in-lane packs
// the bytes of 8 channels of one (or two) vectors in order.
DATA rqperm<>+0(SB)/8, $0x0000000400000000
DATA rqperm<>+8(SB)/8, $0x0000000500000001
DATA rqperm<>+16(SB)/8, $0x0000000600000002
DATA rqperm<>+24(SB)/8, $0x0000000700000003
GLOBL rqperm<>(SB), RODATA|NOPTR, $32

// RQLEFT is step 1: A = sat32(A << LS) per lane, LS = max(-shift, 0).
// VPSLLVD drops the bits shifted out; where shifting back (VPSRAVD) does
// not give A again, the lane saturates to MaxInt32 or MinInt32 by A's sign.
#define RQLEFT(A, LS) \
	VPSLLVD LS, A, Y12; \
	VPSRAVD LS, Y12, Y13; \
	VPCMPEQD A, Y13, Y13; \
	VPSRAD $31, A, Y14; \
	VPXOR rqmax<>(SB), Y14, Y14; \
	VPBLENDVB Y13, Y12, Y14, A

// RQMUL is steps 2 and 3. SQRDMULH: (2*a*m + 2^31) >> 32 is bits 31..62 of
// the exact 64-bit a*m + 2^30 (VPMULDQ, even lanes; the odd lanes after
// shifting them down), which is 0x80000000 only for a = m = MinInt32,
// where it saturates to MaxInt32 (no other lane can give MinInt32). The
// rounding right shift by RS = max(shift, 0) is (x >> RS) + bit RS-1 of
// x, exact without the int64 sum; RM1 = RS-1, and -1 (a count over 31,
// which VPSRLVD turns into 0) where RS = 0.
#define RQMUL(A, MULT, MULTODD, RS, RM1) \
	VPMULDQ MULT, A, Y12; \
	VPSRLQ $32, A, Y13; \
	VPMULDQ MULTODD, Y13, Y13; \
	VPADDQ rqround<>(SB), Y12, Y12; \
	VPADDQ rqround<>(SB), Y13, Y13; \
	VPSRLQ $31, Y12, Y12; \
	VPSLLQ $1, Y13, Y13; \
	VPBLENDD $0xAA, Y13, Y12, A; \
	VPCMPEQD rqmin<>(SB), A, Y12; \
	VPXOR Y12, A, A; \
	VPSRLVD RM1, A, Y12; \
	VPAND rqone<>(SB), Y12, Y12; \
	VPSRAVD RS, A, A; \
	VPADDD Y12, A, A
