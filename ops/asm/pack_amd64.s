//go:build !purego

#include "textflag.h"

// A-panel packing for the 12x32 micro-kernel: dst[p*12 + i] = a[i*lda + p] for 12
// rows and the first k&^15 of k columns (the caller packs the rest). Four rows at a
// time are loaded 16 columns wide and transposed as four 4x4 blocks (one per 128-bit
// lane); lane L of result j holds column 4L+j of the four rows and is stored straight
// to its place in dst.

// T4 transposes, within each 128-bit lane, the rows in Z0-Z3 into columns Z8-Z11
// (uses Z4-Z7).
#define T4 \
	VUNPCKLPS Z1, Z0, Z4 \
	VUNPCKHPS Z1, Z0, Z5 \
	VUNPCKLPS Z3, Z2, Z6 \
	VUNPCKHPS Z3, Z2, Z7 \
	VSHUFPS $0x44, Z6, Z4, Z8 \
	VSHUFPS $0xee, Z6, Z4, Z9 \
	VSHUFPS $0x44, Z7, Z5, Z10 \
	VSHUFPS $0xee, Z7, Z5, Z11

// STORE4(g) stores the transposed group of rows 4g..4g+3: column 4L+j of Z(8+j)'s
// lane L goes to dst + (4L+j)*48 + 16g.
#define STORE4(g) \
	VEXTRACTF32X4 $0, Z8, (0*48+16*g)(DI) \
	VEXTRACTF32X4 $0, Z9, (1*48+16*g)(DI) \
	VEXTRACTF32X4 $0, Z10, (2*48+16*g)(DI) \
	VEXTRACTF32X4 $0, Z11, (3*48+16*g)(DI) \
	VEXTRACTF32X4 $1, Z8, (4*48+16*g)(DI) \
	VEXTRACTF32X4 $1, Z9, (5*48+16*g)(DI) \
	VEXTRACTF32X4 $1, Z10, (6*48+16*g)(DI) \
	VEXTRACTF32X4 $1, Z11, (7*48+16*g)(DI) \
	VEXTRACTF32X4 $2, Z8, (8*48+16*g)(DI) \
	VEXTRACTF32X4 $2, Z9, (9*48+16*g)(DI) \
	VEXTRACTF32X4 $2, Z10, (10*48+16*g)(DI) \
	VEXTRACTF32X4 $2, Z11, (11*48+16*g)(DI) \
	VEXTRACTF32X4 $3, Z8, (12*48+16*g)(DI) \
	VEXTRACTF32X4 $3, Z9, (13*48+16*g)(DI) \
	VEXTRACTF32X4 $3, Z10, (14*48+16*g)(DI) \
	VEXTRACTF32X4 $3, Z11, (15*48+16*g)(DI)

// func packA12AVX512(k int, a *float32, lda int, dst *float32)
TEXT ·packA12AVX512(SB), NOSPLIT, $0-32
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), DX
	SHLQ $2, DX
	MOVQ dst+24(FP), DI
	LEAQ (DX)(DX*2), R8  // 3 rows
	LEAQ (SI)(DX*4), R9  // row 4
	LEAQ (R9)(DX*4), R10 // row 8
	SHRQ $4, CX
	JEQ done
loop:
	VMOVUPS (SI), Z0
	VMOVUPS (SI)(DX*1), Z1
	VMOVUPS (SI)(DX*2), Z2
	VMOVUPS (SI)(R8*1), Z3
	T4
	STORE4(0)
	VMOVUPS (R9), Z0
	VMOVUPS (R9)(DX*1), Z1
	VMOVUPS (R9)(DX*2), Z2
	VMOVUPS (R9)(R8*1), Z3
	T4
	STORE4(1)
	VMOVUPS (R10), Z0
	VMOVUPS (R10)(DX*1), Z1
	VMOVUPS (R10)(DX*2), Z2
	VMOVUPS (R10)(R8*1), Z3
	T4
	STORE4(2)
	ADDQ $64, SI
	ADDQ $64, R9
	ADDQ $64, R10
	ADDQ $768, DI
	DECQ CX
	JNZ loop
done:
	VZEROUPPER
	RET

// B-panel packing: for each of k > 0 rows p and panels q < n > 0,
// dst[q*k*nr + p*nr + j] = b[p*ldb + q*nr + j] for j < nr. Row by row, so B is read
// in runs of n·nr floats (panel by panel, every 64- or 128-byte read would be on
// another page); the row copies are inline (memmove's call per row cost 10 % of an
// unpacked 128x768x3072 GEMM).

// func packB32AVX512(k int, b *float32, ldb int, dst *float32, n int)
TEXT ·packB32AVX512(SB), NOSPLIT, $0-40
	MOVQ k+0(FP), CX
	MOVQ b+8(FP), SI
	MOVQ ldb+16(FP), DX
	SHLQ $2, DX
	MOVQ dst+24(FP), DI
	MOVQ n+32(FP), R8
	MOVQ CX, R9
	SHLQ $7, R9 // a panel: k rows of 128 bytes
pb32_row:
	MOVQ SI, R10
	MOVQ DI, R11
	MOVQ R8, R12
pb32_panel:
	VMOVUPS (R10), Z0
	VMOVUPS 64(R10), Z1
	VMOVUPS Z0, (R11)
	VMOVUPS Z1, 64(R11)
	ADDQ $128, R10
	ADDQ R9, R11
	DECQ R12
	JNZ pb32_panel
	ADDQ DX, SI
	ADDQ $128, DI
	DECQ CX
	JNZ pb32_row
	VZEROUPPER
	RET

// func packB16AVX2(k int, b *float32, ldb int, dst *float32, n int)
TEXT ·packB16AVX2(SB), NOSPLIT, $0-40
	MOVQ k+0(FP), CX
	MOVQ b+8(FP), SI
	MOVQ ldb+16(FP), DX
	SHLQ $2, DX
	MOVQ dst+24(FP), DI
	MOVQ n+32(FP), R8
	MOVQ CX, R9
	SHLQ $6, R9 // a panel: k rows of 64 bytes
pb16_row:
	MOVQ SI, R10
	MOVQ DI, R11
	MOVQ R8, R12
pb16_panel:
	VMOVUPS (R10), Y0
	VMOVUPS 32(R10), Y1
	VMOVUPS Y0, (R11)
	VMOVUPS Y1, 32(R11)
	ADDQ $64, R10
	ADDQ R9, R11
	DECQ R12
	JNZ pb16_panel
	ADDQ DX, SI
	ADDQ $64, DI
	DECQ CX
	JNZ pb16_row
	VZEROUPPER
	RET

// A-panel packing for the 6x16 AVX2 micro-kernel: dst[p*6 + i] = a[i*lda + p] for 6
// rows and the first k&^7 of k columns. Rows 0-3 are transposed 4x4 per 128-bit lane
// (column 4L+j of the four in lane L of result j), stored 16 bytes at a time at
// dst + 24p; rows 4-5 are interleaved in pairs, stored 8 bytes at a time at
// dst + 24p + 16.
#define T4Y \
	VUNPCKLPS Y1, Y0, Y4 \
	VUNPCKHPS Y1, Y0, Y5 \
	VUNPCKLPS Y3, Y2, Y6 \
	VUNPCKHPS Y3, Y2, Y7 \
	VSHUFPS $0x44, Y6, Y4, Y8 \
	VSHUFPS $0xee, Y6, Y4, Y9 \
	VSHUFPS $0x44, Y7, Y5, Y10 \
	VSHUFPS $0xee, Y7, Y5, Y11

// func packA6AVX2(k int, a *float32, lda int, dst *float32)
TEXT ·packA6AVX2(SB), NOSPLIT, $0-32
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), DX
	SHLQ $2, DX
	MOVQ dst+24(FP), DI
	LEAQ (DX)(DX*2), R8 // 3 rows
	LEAQ (SI)(DX*4), R9 // row 4
	SHRQ $3, CX
	JEQ done6
loop6:
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(DX*1), Y1
	VMOVUPS (SI)(DX*2), Y2
	VMOVUPS (SI)(R8*1), Y3
	T4Y
	VMOVUPS X8, (0*24)(DI)
	VMOVUPS X9, (1*24)(DI)
	VMOVUPS X10, (2*24)(DI)
	VMOVUPS X11, (3*24)(DI)
	VEXTRACTF128 $1, Y8, (4*24)(DI)
	VEXTRACTF128 $1, Y9, (5*24)(DI)
	VEXTRACTF128 $1, Y10, (6*24)(DI)
	VEXTRACTF128 $1, Y11, (7*24)(DI)
	VMOVUPS (R9), Y0
	VMOVUPS (R9)(DX*1), Y1
	VUNPCKLPS Y1, Y0, Y4 // r4[0] r5[0] r4[1] r5[1] | r4[4] r5[4] r4[5] r5[5]
	VUNPCKHPS Y1, Y0, Y5 // r4[2] r5[2] r4[3] r5[3] | r4[6] r5[6] r4[7] r5[7]
	VMOVLPS X4, (0*24+16)(DI)
	VMOVHPS X4, (1*24+16)(DI)
	VMOVLPS X5, (2*24+16)(DI)
	VMOVHPS X5, (3*24+16)(DI)
	VEXTRACTF128 $1, Y4, X6
	VEXTRACTF128 $1, Y5, X7
	VMOVLPS X6, (4*24+16)(DI)
	VMOVHPS X6, (5*24+16)(DI)
	VMOVLPS X7, (6*24+16)(DI)
	VMOVHPS X7, (7*24+16)(DI)
	ADDQ $32, SI
	ADDQ $32, R9
	ADDQ $192, DI
	DECQ CX
	JNZ loop6
done6:
	VZEROUPPER
	RET
