// Requantization steps on 16 int32 lanes (AVX-512), as elem_amd64.h on 8:
// the same operations, blends by mask registers. K1 is clobbered.

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

#define NOSHL16(X, L, C7F, T1, T2)
