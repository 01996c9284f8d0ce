//go:build !purego

#include "textflag.h"

#include "amx_amd64.h"

// TILELOADD tmm6, (R10)(DX*1) and tmm7, 1024(R10)(DX*1): the two B tiles of a K block.
#define TILELOADD_T6_R10_DX BYTE $0xC4; BYTE $0xC2; BYTE $0x7B; BYTE $0x4B; BYTE $0x34; BYTE $0x12
#define TILELOADD_T7_R10_DX_1024 BYTE $0xC4; BYTE $0xC2; BYTE $0x7B; BYTE $0x4B; BYTE $0xBC; BYTE $0x12; LONG $1024
// TDPBF16PS tmmC, tmmA, tmmB: C += A·B.
#define TDP_T0_T4_T6 BYTE $0xC4; BYTE $0xE2; BYTE $0x4A; BYTE $0x5C; BYTE $0xC4
#define TDP_T1_T4_T7 BYTE $0xC4; BYTE $0xE2; BYTE $0x42; BYTE $0x5C; BYTE $0xCC
#define TDP_T2_T5_T6 BYTE $0xC4; BYTE $0xE2; BYTE $0x4A; BYTE $0x5C; BYTE $0xD5
#define TDP_T3_T5_T7 BYTE $0xC4; BYTE $0xE2; BYTE $0x42; BYTE $0x5C; BYTE $0xDD
// func amxBF16Tiles(a *uint16, lda int, b *uint16, kb, panels int, c *float32, ldc int)
// C[32 × 32·panels] = A[32 × 32·kb] · B, B being panels panels of kb blocks of two
// 16×16-pair tiles (2 KiB a block); lda and ldc in elements. One tile configuration
// per call, released at the end, so no tile state outlives the call.
TEXT ·amxBF16Tiles(SB), NOSPLIT, $0-56
	MOVQ a+0(FP), R8
	MOVQ lda+8(FP), BX
	SHLQ $1, BX
	MOVQ BX, R9
	SHLQ $4, R9
	ADDQ R8, R9
	MOVQ b+16(FP), R10
	MOVQ kb+24(FP), R11
	MOVQ panels+32(FP), R14
	MOVQ c+40(FP), R12
	MOVQ ldc+48(FP), R13
	SHLQ $2, R13
	AMX_CONFIGURE

panel:
	TILEZERO_C
	MOVQ R8, SI
	MOVQ R9, CX
	MOVQ R11, AX

kloop:
	TILELOADD_T4_SI_BX
	TILELOADD_T5_CX_BX
	TILELOADD_T6_R10_DX
	TILELOADD_T7_R10_DX_1024
	TDP_T0_T4_T6
	TDP_T1_T4_T7
	TDP_T2_T5_T6
	TDP_T3_T5_T7
	ADDQ $64, SI
	ADDQ $64, CX
	ADDQ $2048, R10
	DECQ AX
	JNZ  kloop

	TILESTORED_C
	ADDQ $128, R12
	DECQ R14
	JNZ  panel

	TILERELEASE
	RET

// func f32ToBF16AVX512(dst *uint16, src *float32, n int)
// n (a multiple of 16) values rounded to nearest even, as tensor.F32ToBF16 rounds
// them: a NaN keeps its top bits, made quiet when they would read as infinity.
TEXT ·f32ToBF16AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVL $0x7fff, AX
	VPBROADCASTD AX, Z30
	MOVL $1, AX
	VPBROADCASTD AX, Z29
	MOVL $0x7fffffff, AX
	VPBROADCASTD AX, Z28
	MOVL $0x7f800000, AX
	VPBROADCASTD AX, Z27
	MOVL $0x007f0000, AX
	VPBROADCASTD AX, Z26
	MOVL $0x40, AX
	VPBROADCASTD AX, Z25
	SHRQ $4, CX
	JZ   done

loop:
	VMOVDQU32 (SI), Z0
	VPSRLD    $16, Z0, Z1
	VPANDD    Z29, Z1, Z1
	VPADDD    Z30, Z0, Z2
	VPADDD    Z1, Z2, Z2
	VPSRLD    $16, Z2, Z2
	VPANDD    Z28, Z0, Z3
	VPCMPUD   $6, Z27, Z3, K1
	VPSRLD    $16, Z0, Z4
	VPTESTNMD Z26, Z0, K2
	VPORD     Z25, Z4, K2, Z4
	VMOVDQA32 Z4, K1, Z2
	VPMOVDW   Z2, (DI)
	ADDQ      $64, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       loop

done:
	VZEROUPPER
	RET
