// The requantization of ../kernels/doc.go on 8 int32 lanes (AVX2) and on
// 16 (AVX-512), exactly: the one home of its steps (and of their merged
// form, at the end), included by every kernel that requantizes
// (depthwise, mean, add, affine, layernorm, softmax). Each macro takes
// its operands and temporaries by name and leaves the temporaries
// clobbered; a parameter operand (L, M, MO, R, R1 and, in the AVX2 forms,
// the constants) may be a register or memory, so a kernel short of
// registers passes its context's fields and the rq* constants below.

// The constants, file-local in every including file, for the kernels
// that take them from memory (the linker keeps only those a file uses).
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
// The same for 16 lanes, dwords 0, 4, 8, 12, 1, 5, ...
DATA rqperm16<>+0(SB)/8, $0x0000000400000000
DATA rqperm16<>+8(SB)/8, $0x0000000c00000008
DATA rqperm16<>+16(SB)/8, $0x0000000500000001
DATA rqperm16<>+24(SB)/8, $0x0000000d00000009
DATA rqperm16<>+32(SB)/8, $0x0000000600000002
DATA rqperm16<>+40(SB)/8, $0x0000000e0000000a
DATA rqperm16<>+48(SB)/8, $0x0000000700000003
DATA rqperm16<>+56(SB)/8, $0x0000000f0000000b
GLOBL rqperm16<>(SB), RODATA|NOPTR, $64

// SATSHL: X = sat32(X << L) per lane (the SQSHL of step 1), L =
// max(-shift, 0). VPSLLVD drops the bits shifted out; where shifting back
// (VPSRAVD) does not give X again, the lane saturates to MaxInt32 or
// MinInt32 by X's sign. C7F holds 0x7fffffff in every lane.
#define SATSHL(X, L, C7F, T1, T2) \
	VPSLLVD   L, X, T1;     \
	VPSRAVD   L, T1, T2;    \
	VPCMPEQD  T2, X, T2;    \
	VPSRAD    $31, X, X;    \
	VPXOR     C7F, X, X;    \
	VBLENDVPS T2, T1, X, X

// SQRDMULH: X = sat32((2*X*M + 2^31) >> 32) per lane (step 2): bits
// 31..62 of the exact 64-bit X*M + 2^30 (VPMULDQ, even lanes; the odd
// lanes after shifting them down). MO holds the odd lanes' multipliers in
// the even positions (M itself for a broadcast one), RND 2^30 in every
// qword, CMIN 0x80000000 in every lane: a result of -2^31 can only be
// the saturating case (X = M = MinInt32) and becomes 2^31-1.
#define SQRDMULH(X, M, MO, RND, CMIN, T1, T2) \
	VPMULDQ  M, X, T1;        \
	VPSRLQ   $32, X, T2;      \
	VPMULDQ  MO, T2, T2;      \
	VPADDQ   RND, T1, T1;     \
	VPADDQ   RND, T2, T2;     \
	VPSRLQ   $31, T1, T1;     \
	VPSLLQ   $1, T2, T2;      \
	VPBLENDD $0xaa, T2, T1, X; \
	VPCMPEQD CMIN, X, T1;     \
	VPXOR    T1, X, X

// RSHR: X = (X + 2^(R-1)) >> R per lane without overflow (step 3), as
// (X >> R) + bit R-1 of X, R = max(shift, 0); R1 = R-1, which is -1 (a
// count that VPSRLVD turns into 0) where R = 0. ONE holds 1 in every lane.
#define RSHR(X, R, R1, ONE, T1) \
	VPSRLVD R1, X, T1; \
	VPAND   ONE, T1, T1; \
	VPSRAVD R, X, X;   \
	VPADDD  T1, X, X

// SATADD: X = sat32(X + B) per lane (SQADD); B (a register or memory)
// must not be X.
#define SATADD(X, B, CMIN, T1, T2) \
	VPADDD    B, X, T1;    \
	VPXOR     T1, X, X;    \
	VPXOR     B, T1, T2;   \
	VPAND     T2, X, X;    \
	VPSRAD    $31, T1, T2; \
	VPXOR     CMIN, T2, T2; \
	VBLENDVPS X, T2, T1, X

// PACK8: the 8 int32 lanes of YX saturated to int8 in the low 8 bytes of
// XX (the same register); XT is clobbered.
#define PACK8(YX, XX, XT) \
	VEXTRACTI128 $1, YX, XT; \
	VPACKSSDW    XT, XX, XX; \
	VPACKSSWB    XX, XX, XX

// SHIFTS: from per-lane shifts S, L = max(-S, 0), R = max(S, 0), R1 = R-1;
// Z must hold zero, M1 -1 in every lane.
#define SHIFTS(S, Z, M1, L, R, R1) \
	VPSUBD  S, Z, L;  \
	VPMAXSD Z, L, L;  \
	VPMAXSD Z, S, R;  \
	VPADDD  M1, R, R1

// CONSTS sets the registers the macros above take: C7F, CMIN, RND and
// ONE; AX is clobbered.
#define CONSTS(C7F, XC7F, CMIN, XCMIN, RND, XRND, ONE, XONE) \
	MOVL         $0x7fffffff, AX; \
	MOVD         AX, XC7F;        \
	VPBROADCASTD XC7F, C7F;       \
	MOVL         $0x80000000, AX; \
	MOVD         AX, XCMIN;       \
	VPBROADCASTD XCMIN, CMIN;     \
	MOVQ         $0x40000000, AX; \
	MOVQ         AX, XRND;        \
	VPBROADCASTQ XRND, RND;       \
	MOVL         $1, AX;          \
	MOVD         AX, XONE;        \
	VPBROADCASTD XONE, ONE

// NOSHL stands for SATSHL in a kernel body without negative shifts.
#define NOSHL(X, L, C7F, T1, T2)

// The same steps on 16 int32 lanes in ZMM registers (AVX-512F), blends by
// mask registers; the constants are registers (CONSTS16). K1 is
// clobbered.

// SATSHL16: X = sat32(X << L), L in [0, 31]; C7F holds 0x7fffffff.
#define SATSHL16(X, L, C7F, T1, T2) \
	VPSLLVD   L, X, T1;      \
	VPSRAVD   L, T1, T2;     \
	VPCMPEQD  T2, X, K1;     \
	VPSRAD    $31, X, X;     \
	VPXORD    C7F, X, X;     \
	VMOVDQA32 T1, K1, X

// SQRDMULH16: X = sat32((2*X*M + 2^31) >> 32); MO as for SQRDMULH, RND
// 2^30 per qword, KODD the odd lanes (0xaaaa), C7F and CMIN as above.
#define SQRDMULH16(X, M, MO, RND, KODD, C7F, CMIN, T1, T2) \
	VPMULDQ   M, X, T1;          \
	VPSRLQ    $32, X, T2;        \
	VPMULDQ   MO, T2, T2;        \
	VPADDQ    RND, T1, T1;       \
	VPADDQ    RND, T2, T2;       \
	VPSRLQ    $31, T1, T1;       \
	VPSLLQ    $1, T2, T2;        \
	VPBLENDMD T2, T1, KODD, X;   \
	VPCMPEQD  CMIN, X, K1;       \
	VMOVDQA32 C7F, K1, X

// RSHR16: X = (X + 2^(R-1)) >> R without overflow; R1 = R-1.
#define RSHR16(X, R, R1, ONE, T1) \
	VPSRLVD R1, X, T1;  \
	VPANDD  ONE, T1, T1; \
	VPSRAVD R, X, X;    \
	VPADDD  T1, X, X

// SATADD16: X = sat32(X + B); B must not be X.
#define SATADD16(X, B, CMIN, T1, T2) \
	VPADDD    B, X, T1;      \
	VPXORD    T1, X, X;      \
	VPXORD    B, T1, T2;     \
	VPANDD    T2, X, X;      \
	VPTESTMD  CMIN, X, K1;   \
	VPSRAD    $31, T1, X;    \
	VPXORD    CMIN, X, X;    \
	VMOVDQA32 X, K1, T1;     \
	VMOVDQA32 T1, X

// CONSTS16 sets the ZMM registers the 16-lane macros take: C7F, CMIN,
// RND and ONE; AX is clobbered.
#define CONSTS16(C7F, CMIN, RND, ONE) \
	MOVL         $0x7fffffff, AX; \
	VPBROADCASTD AX, C7F;         \
	MOVL         $0x80000000, AX; \
	VPBROADCASTD AX, CMIN;        \
	MOVQ         $0x40000000, AX; \
	VPBROADCASTQ AX, RND;         \
	MOVL         $1, AX;          \
	VPBROADCASTD AX, ONE

#define NOSHL16(X, L, C7F, T1, T2)

// The merged form of steps 2 and 3 (SQRDMULH, then the rounding right
// shift by r = max(shift, 0)): in exact 64-bit arithmetic
//
//	floor((floor((X*M + 2^30) / 2^31) + 2^(r-1)) / 2^r) = floor((X*M + C) / 2^S)
//
// with C = 2^30 + 2^(30+r) (2^30 for r = 0) and S = 31+r, one rounding
// add and one shift per lane where the steps take two. |X*M + C| < 2^63,
// and the result fits int32 except in SQRDMULH's saturating case (X = M
// = -2^31, r = 0), where it is 2^31 and comes out as -2^31, which no
// other case gives: it then becomes 2^31-1. The constants depend on the
// channel only, so a kernel makes them once per block of channels
// (RQPREP16, RQPREP8) and applies them per value (RQ16, RQ8).

// More qword constants for RQPREP8 (AVX2 lacks VPSRAVQ, so it shifts
// X*M + C + 2^63 logically and takes 2^(63-S) off the result's low dword).
DATA rqq31<>+0(SB)/8, $0x80000000
DATA rqq31<>+8(SB)/8, $0x80000000
DATA rqq31<>+16(SB)/8, $0x80000000
DATA rqq31<>+24(SB)/8, $0x80000000
GLOBL rqq31<>(SB), RODATA|NOPTR, $32
DATA rqq63<>+0(SB)/8, $0x8000000000000000
DATA rqq63<>+8(SB)/8, $0x8000000000000000
DATA rqq63<>+16(SB)/8, $0x8000000000000000
DATA rqq63<>+24(SB)/8, $0x8000000000000000
GLOBL rqq63<>(SB), RODATA|NOPTR, $32
DATA rqqone<>+0(SB)/8, $1
DATA rqqone<>+8(SB)/8, $1
DATA rqqone<>+16(SB)/8, $1
DATA rqqone<>+24(SB)/8, $1
GLOBL rqqone<>(SB), RODATA|NOPTR, $32
DATA rqqlow<>+0(SB)/8, $0xffffffff
DATA rqqlow<>+8(SB)/8, $0xffffffff
DATA rqqlow<>+16(SB)/8, $0xffffffff
DATA rqqlow<>+24(SB)/8, $0xffffffff
GLOBL rqqlow<>(SB), RODATA|NOPTR, $32
DATA rqq31n<>+0(SB)/8, $31
DATA rqq31n<>+8(SB)/8, $31
DATA rqq31n<>+16(SB)/8, $31
DATA rqq31n<>+24(SB)/8, $31
GLOBL rqq31n<>(SB), RODATA|NOPTR, $32
DATA rqq63n<>+0(SB)/8, $63
DATA rqq63n<>+8(SB)/8, $63
DATA rqq63n<>+16(SB)/8, $63
DATA rqq63n<>+24(SB)/8, $63
GLOBL rqq63n<>(SB), RODATA|NOPTR, $32

// RQPREP16: from the 16 shifts in SH, L = max(-shift, 0) per lane (for
// SATSHL16), and per qword the even lanes' S and C in SE, CE, the odd
// lanes' in SO, CO. Z holds 0; Q30, Q31 2^30 and 2^31, N31 31 and QONE 1
// per qword; KODD the odd lanes. SH and T1 are clobbered.
#define RQPREP16(SH, Z, Q30, Q31, N31, QONE, KODD, L, SE, SO, CE, CO, T1) \
	VPSUBD    SH, Z, L;         \
	VPMAXSD   Z, L, L;          \
	VPMAXSD   Z, SH, SH;        \
	VPSRLQ    $32, SH, T1;      \
	VPBLENDMD Z, SH, KODD, SH;  \
	VPADDQ    N31, SH, SE;      \
	VPADDQ    N31, T1, SO;      \
	VPSUBQ    QONE, SH, SH;     \
	VPSUBQ    QONE, T1, T1;     \
	VPSLLVQ   SH, Q31, CE;      \
	VPSLLVQ   T1, Q31, CO;      \
	VPADDQ    Q30, CE, CE;      \
	VPADDQ    Q30, CO, CO

// RQMUL16: X = the merged steps 2 and 3 of X with multipliers M (MO: the
// odd lanes' in the even positions) and RQPREP16's constants, but for
// SQRDMULH's saturating case, which RQSAT16 then fixes (a kernel whose
// multipliers are never -2^31 leaves it out); KODD the odd lanes.
#define RQMUL16(X, M, MO, SE, SO, CE, CO, KODD, T1, T2) \
	VPMULDQ   M, X, T1;        \
	VPSRLQ    $32, X, T2;      \
	VPMULDQ   MO, T2, T2;      \
	VPADDQ    CE, T1, T1;      \
	VPADDQ    CO, T2, T2;      \
	VPSRAVQ   SE, T1, T1;      \
	VPSRAVQ   SO, T2, T2;      \
	VPSLLQ    $32, T2, T2;     \
	VPBLENDMD T2, T1, KODD, X

// RQSAT16: the saturating case's -2^31 (which no other case gives)
// becomes 2^31-1; C7F 0x7fffffff and CMIN 0x80000000 per lane. K1 is
// clobbered.
#define RQSAT16(X, C7F, CMIN) \
	VPCMPEQD  CMIN, X, K1; \
	VMOVDQA32 C7F, K1, X

// RQ16: RQMUL16 and RQSAT16.
#define RQ16(X, M, MO, SE, SO, CE, CO, KODD, C7F, CMIN, T1, T2) \
	RQMUL16(X, M, MO, SE, SO, CE, CO, KODD, T1, T2); \
	RQSAT16(X, C7F, CMIN)

// RQPREP8 is RQPREP16 on 8 lanes, the qword constants from memory (the
// rqq* tables, rqround), with C + 2^63 in CE, CO and D the 2^(63-S) to
// take off each lane's low dword after the logical shift. SH, T1 and T2
// are clobbered.
#define RQPREP8(SH, L, SE, SO, CE, CO, D, T1, T2) \
	VPXOR    T1, T1, T1;              \
	VPSUBD   SH, T1, L;               \
	VPMAXSD  T1, L, L;                \
	VPMAXSD  T1, SH, SH;              \
	VPSRLQ   $32, SH, T1;             \
	VPAND    rqqlow<>(SB), SH, SH;    \
	VPADDQ   rqq31n<>(SB), SH, SE;    \
	VPADDQ   rqq31n<>(SB), T1, SO;    \
	VPSUBQ   rqqone<>(SB), SH, SH;    \
	VPSUBQ   rqqone<>(SB), T1, T1;    \
	VMOVDQU  rqq31<>(SB), T2;         \
	VPSLLVQ  SH, T2, CE;              \
	VPSLLVQ  T1, T2, CO;              \
	VPADDQ   rqround<>(SB), CE, CE;   \
	VPADDQ   rqround<>(SB), CO, CO;   \
	VPXOR    rqq63<>(SB), CE, CE;     \
	VPXOR    rqq63<>(SB), CO, CO;     \
	VMOVDQU  rqq63n<>(SB), T2;        \
	VPSUBQ   SE, T2, SH;              \
	VPSUBQ   SO, T2, T1;              \
	VMOVDQU  rqqone<>(SB), T2;        \
	VPSLLVQ  SH, T2, SH;              \
	VPSLLVQ  T1, T2, T1;              \
	VPSLLQ   $32, T1, T1;             \
	VPBLENDD $0xaa, T1, SH, D

// RQ8: RQ16 on 8 lanes with RQPREP8's constants; CMIN 0x80000000 per
// lane (a register or memory).
#define RQ8(X, M, MO, SE, SO, CE, CO, D, CMIN, T1, T2) \
	VPMULDQ  M, X, T1;         \
	VPSRLQ   $32, X, T2;       \
	VPMULDQ  MO, T2, T2;       \
	VPADDQ   CE, T1, T1;       \
	VPADDQ   CO, T2, T2;       \
	VPSRLVQ  SE, T1, T1;       \
	VPSRLVQ  SO, T2, T2;       \
	VPSLLQ   $32, T2, T2;      \
	VPBLENDD $0xaa, T2, T1, X; \
	VPSUBD   D, X, X;          \
	VPCMPEQD CMIN, X, T1;      \
	VPXOR    T1, X, X
