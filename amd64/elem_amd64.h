// Requantization steps on 8 int32 lanes (AVX2), shared by the
// element-wise kernels. Every macro leaves its temporaries clobbered.

// SATSHL: X = sat32(X << L) per lane (the SQSHL of step 1), L in [0, 31].
// C7F holds 0x7fffffff in every lane.
#define SATSHL(X, L, C7F, T1, T2) \
	VPSLLVD   L, X, T1;     \
	VPSRAVD   L, T1, T2;    \
	VPCMPEQD  T2, X, T2;    \
	VPSRAD    $31, X, X;    \
	VPXOR     C7F, X, X;    \
	VBLENDVPS T2, T1, X, X

// SQRDMULH: X = sat32((2*X*M + 2^31) >> 32) per lane (step 2). MO holds
// the odd lanes' multipliers in the even positions (M itself for a
// broadcast one), RND 2^30 in every qword, CMIN 0x80000000 in every lane:
// a result of -2^31 can only be the saturating case and becomes 2^31-1.
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
// (X >> R) + bit R-1 of X; R1 = R-1, which is -1 (a count that shifts
// everything out) where R = 0.
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
