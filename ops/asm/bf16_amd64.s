//go:build !purego

#include "textflag.h"

// The AMX tile configuration of amxBF16Tiles: palette 1, tiles 0–7 each 16 rows of
// 64 bytes (tmm0–3: C as 16×16 float32; tmm4–5: A as 16×32 BF16; tmm6–7: B as 16
// pairs × 16 columns × 2 BF16).
DATA amxcfg<>+0(SB)/8, $1
DATA amxcfg<>+8(SB)/8, $0
DATA amxcfg<>+16(SB)/8, $0x0040004000400040
DATA amxcfg<>+24(SB)/8, $0x0040004000400040
DATA amxcfg<>+32(SB)/8, $0
DATA amxcfg<>+40(SB)/8, $0
DATA amxcfg<>+48(SB)/8, $0x1010101010101010
DATA amxcfg<>+56(SB)/8, $0
GLOBL amxcfg<>(SB), RODATA|NOPTR, $64

// The Go assembler has no AMX mnemonics: each instruction is its VEX encoding.
#define LDTILECFG_AX      BYTE $0xC4; BYTE $0xE2; BYTE $0x78; BYTE $0x49; BYTE $0x00
#define TILERELEASE       BYTE $0xC4; BYTE $0xE2; BYTE $0x78; BYTE $0x49; BYTE $0xC0
#define TILEZERO_T0       BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xC0
#define TILEZERO_T1       BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xC8
#define TILEZERO_T2       BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xD0
#define TILEZERO_T3       BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xD8
// TILELOADD tmm4, (SI)(BX*1) and tmm5, (CX)(BX*1): A rows 0–15 and 16–31.
#define TILELOADD_T4_SI_BX BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x4B; BYTE $0x24; BYTE $0x1E
#define TILELOADD_T5_CX_BX BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x4B; BYTE $0x2C; BYTE $0x19
// TILELOADD tmm6, (R10)(DX*1) and tmm7, 1024(R10)(DX*1): the two B tiles of a K block.
#define TILELOADD_T6_R10_DX BYTE $0xC4; BYTE $0xC2; BYTE $0x7B; BYTE $0x4B; BYTE $0x34; BYTE $0x12
#define TILELOADD_T7_R10_DX_1024 BYTE $0xC4; BYTE $0xC2; BYTE $0x7B; BYTE $0x4B; BYTE $0xBC; BYTE $0x12; LONG $1024
// TDPBF16PS tmmC, tmmA, tmmB: C += A·B.
#define TDP_T0_T4_T6 BYTE $0xC4; BYTE $0xE2; BYTE $0x4A; BYTE $0x5C; BYTE $0xC4
#define TDP_T1_T4_T7 BYTE $0xC4; BYTE $0xE2; BYTE $0x42; BYTE $0x5C; BYTE $0xCC
#define TDP_T2_T5_T6 BYTE $0xC4; BYTE $0xE2; BYTE $0x4A; BYTE $0x5C; BYTE $0xD5
#define TDP_T3_T5_T7 BYTE $0xC4; BYTE $0xE2; BYTE $0x42; BYTE $0x5C; BYTE $0xDD
// TILESTORED (SI)(R13*1), 64(SI)(R13*1), (CX)(R13*1), 64(CX)(R13*1) ← tmm0–3.
#define TILESTORED_SI_T0    BYTE $0xC4; BYTE $0xA2; BYTE $0x7A; BYTE $0x4B; BYTE $0x04; BYTE $0x2E
#define TILESTORED_SI64_T1  BYTE $0xC4; BYTE $0xA2; BYTE $0x7A; BYTE $0x4B; BYTE $0x4C; BYTE $0x2E; BYTE $0x40
#define TILESTORED_CX_T2    BYTE $0xC4; BYTE $0xA2; BYTE $0x7A; BYTE $0x4B; BYTE $0x14; BYTE $0x29
#define TILESTORED_CX64_T3  BYTE $0xC4; BYTE $0xA2; BYTE $0x7A; BYTE $0x4B; BYTE $0x5C; BYTE $0x29; BYTE $0x40

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
	MOVQ $64, DX
	LEAQ amxcfg<>(SB), AX
	LDTILECFG_AX

panel:
	TILEZERO_T0
	TILEZERO_T1
	TILEZERO_T2
	TILEZERO_T3
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

	MOVQ R12, SI
	MOVQ R13, CX
	SHLQ $4, CX
	ADDQ R12, CX
	TILESTORED_SI_T0
	TILESTORED_SI64_T1
	TILESTORED_CX_T2
	TILESTORED_CX64_T3
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
