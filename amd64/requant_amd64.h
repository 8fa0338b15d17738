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

// The same for 16 int32 lanes in a ZMM register (AVX-512F), the
// constants broadcast from their first element. Z12-Z14 and K2 are
// scratch; K1 must hold 0xAAAA (the odd lanes).

// VPERMD indexes gathering dwords 0, 4, 8, 12, 1, 5, ...: after two
// in-lane packs the bytes of 16 channels of one (or two) vectors in order.
DATA rqperm16<>+0(SB)/8, $0x0000000400000000
DATA rqperm16<>+8(SB)/8, $0x0000000c00000008
DATA rqperm16<>+16(SB)/8, $0x0000000500000001
DATA rqperm16<>+24(SB)/8, $0x0000000d00000009
DATA rqperm16<>+32(SB)/8, $0x0000000600000002
DATA rqperm16<>+40(SB)/8, $0x0000000e0000000a
DATA rqperm16<>+48(SB)/8, $0x0000000700000003
DATA rqperm16<>+56(SB)/8, $0x0000000f0000000b
GLOBL rqperm16<>(SB), RODATA|NOPTR, $64

// RQLEFT16 is RQLEFT: the lanes where shifting back gives A (K2) keep
// the shifted value, the others saturate by A's sign.
#define RQLEFT16(A, LS) \
	VPSLLVD LS, A, Z12; \
	VPSRAVD LS, Z12, Z13; \
	VPCMPEQD A, Z13, K2; \
	VPSRAD $31, A, Z14; \
	VPXORD.BCST rqmax<>(SB), Z14, Z14; \
	VPBLENDMD Z12, Z14, K2, A

// RQMUL16 is RQMUL, the odd lanes blended in under K1, MaxInt32
// broadcast into the lanes that gave MinInt32 (K2).
#define RQMUL16(A, MULT, MULTODD, RS, RM1) \
	VPMULDQ MULT, A, Z12; \
	VPSRLQ $32, A, Z13; \
	VPMULDQ MULTODD, Z13, Z13; \
	VPADDQ.BCST rqround<>(SB), Z12, Z12; \
	VPADDQ.BCST rqround<>(SB), Z13, Z13; \
	VPSRLQ $31, Z12, Z12; \
	VPSLLQ $1, Z13, Z13; \
	VPBLENDMD Z13, Z12, K1, A; \
	VPCMPEQD.BCST rqmin<>(SB), A, K2; \
	VPBROADCASTD rqmax<>(SB), K2, A; \
	VPSRLVD RM1, A, Z12; \
	VPANDD.BCST rqone<>(SB), Z12, Z12; \
	VPSRAVD RS, A, A; \
	VPADDD Z12, A, A
