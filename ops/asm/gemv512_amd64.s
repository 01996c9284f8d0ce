//go:build !purego

#include "textflag.h"

// AVX-512 GEMV over 16-bit weights: four 16-wide column groups over one K slice,
// summed as the 12x32 micro-kernel sums a column (one fused multiply-add chain from
// zero, p ascending), then y = acc (add == 0) or acc + y. One ZMM accumulator per
// group (Z0-Z3). Each step prefetches the four groups PFROWS rows ahead into L2
// (into L1 was slower), so a panel far larger than the caches streams from DRAM with
// enough lines in flight; the prefetch runs on into the next K slice, which
// continues the same panel.
#define PFROWS 48

// The kernels share three pieces; LOADW loads (widening, for 16-bit weights) the 16
// weights of a group into a ZMM register, SH is log2 of the weight size.
#define GEMV64_512_ENTER(SH) \
	MOVQ k+0(FP), CX \
	MOVQ x+8(FP), SI \
	MOVQ b0+16(FP), R8 \
	MOVQ b1+24(FP), R9 \
	MOVQ b2+32(FP), R10 \
	MOVQ b3+40(FP), R11 \
	MOVQ ldb+48(FP), DX \
	SHLQ $SH, DX \
	MOVQ y+56(FP), DI \
	IMUL3Q $PFROWS, DX, R13 \
	XORQ R12, R12 \
	VPXORD Z0, Z0, Z0 \
	VPXORD Z1, Z1, Z1 \
	VPXORD Z2, Z2, Z2 \
	VPXORD Z3, Z3, Z3

#define GEMV64_512_STEP(LOADW) \
	LEAQ (R12)(R13*1), R14 \
	PREFETCHT1 (R8)(R14*1) \
	PREFETCHT1 (R9)(R14*1) \
	PREFETCHT1 (R10)(R14*1) \
	PREFETCHT1 (R11)(R14*1) \
	VBROADCASTSS (SI), Z8 \
	LOADW((R8)(R12*1), Z4) \
	LOADW((R9)(R12*1), Z5) \
	LOADW((R10)(R12*1), Z6) \
	LOADW((R11)(R12*1), Z7) \
	VFMADD231PS Z4, Z8, Z0 \
	VFMADD231PS Z5, Z8, Z1 \
	VFMADD231PS Z6, Z8, Z2 \
	VFMADD231PS Z7, Z8, Z3 \
	ADDQ DX, R12 \
	ADDQ $4, SI

#define GEMV64_512_ADD \
	VADDPS 0(DI), Z0, Z0 \
	VADDPS 64(DI), Z1, Z1 \
	VADDPS 128(DI), Z2, Z2 \
	VADDPS 192(DI), Z3, Z3

#define GEMV64_512_STORE \
	VMOVUPS Z0, 0(DI) \
	VMOVUPS Z1, 64(DI) \
	VMOVUPS Z2, 128(DI) \
	VMOVUPS Z3, 192(DI) \
	VZEROUPPER \
	RET

// bfloat16 is the high half of a float32: zero-extend to dwords, shift up.
#define LOADBF16(src, dst) VPMOVZXWD src, dst; VPSLLD $16, dst, dst
#define LOADF16(src, dst) VCVTPH2PS src, dst

// The callers pass k > 0.

// func gemv64BF16AVX512(k int, x *float32, b0, b1, b2, b3 *uint16, ldb int, y *float32, add int)
TEXT ·gemv64BF16AVX512(SB), NOSPLIT, $0-72
	GEMV64_512_ENTER(1)
loop_gemv64BF16AVX512:
	GEMV64_512_STEP(LOADBF16)
	DECQ CX
	JNZ loop_gemv64BF16AVX512
	MOVQ add+64(FP), AX
	TESTQ AX, AX
	JEQ store_gemv64BF16AVX512
	GEMV64_512_ADD
store_gemv64BF16AVX512:
	GEMV64_512_STORE

// func gemv64F16AVX512(k int, x *float32, b0, b1, b2, b3 *uint16, ldb int, y *float32, add int)
TEXT ·gemv64F16AVX512(SB), NOSPLIT, $0-72
	GEMV64_512_ENTER(1)
loop_gemv64F16AVX512:
	GEMV64_512_STEP(LOADF16)
	DECQ CX
	JNZ loop_gemv64F16AVX512
	MOVQ add+64(FP), AX
	TESTQ AX, AX
	JEQ store_gemv64F16AVX512
	GEMV64_512_ADD
store_gemv64F16AVX512:
	GEMV64_512_STORE
