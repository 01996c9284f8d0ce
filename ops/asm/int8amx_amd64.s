//go:build !purego

#include "textflag.h"

#include "amx_amd64.h"

// TILELOADD tmm6, (R10)(DX*1) and tmm7, (DI)(DX*1): the K block of the two panels.
#define TILELOADD_T6_R10_DX BYTE $0xC4; BYTE $0xC2; BYTE $0x7B; BYTE $0x4B; BYTE $0x34; BYTE $0x12
#define TILELOADD_T7_DI_DX  BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x4B; BYTE $0x3C; BYTE $0x17
// TDPBUSD tmmC, tmmA, tmmB: C += A·B, A's bytes unsigned, B's signed, sums in int32.
#define TDP_T0_T4_T6 BYTE $0xC4; BYTE $0xE2; BYTE $0x49; BYTE $0x5E; BYTE $0xC4
#define TDP_T1_T4_T7 BYTE $0xC4; BYTE $0xE2; BYTE $0x41; BYTE $0x5E; BYTE $0xCC
#define TDP_T2_T5_T6 BYTE $0xC4; BYTE $0xE2; BYTE $0x49; BYTE $0x5E; BYTE $0xD5
#define TDP_T3_T5_T7 BYTE $0xC4; BYTE $0xE2; BYTE $0x41; BYTE $0x5E; BYTE $0xDD
// func amxI8Tiles(a *uint8, lda int, b *int8, k4, pairs int, c *float32, ldc int)
// The int32 sums of C[32 × 32·pairs] = A[32 × 4·k4] · B, B being 2·pairs consecutive
// 16-column panels of k4 groups of 64 bytes (k4 a multiple of 16), written as their
// bits; lda in bytes, ldc in elements. One tile configuration per call, released at
// the end, so no tile state outlives the call.
TEXT ·amxI8Tiles(SB), NOSPLIT, $0-56
	MOVQ a+0(FP), R8
	MOVQ lda+8(FP), BX
	MOVQ BX, R9
	SHLQ $4, R9
	ADDQ R8, R9
	MOVQ b+16(FP), R10
	MOVQ k4+24(FP), R11
	SHLQ $6, R11               // a panel's bytes
	MOVQ pairs+32(FP), R14
	MOVQ c+40(FP), R12
	MOVQ ldc+48(FP), R13
	SHLQ $2, R13
	AMX_CONFIGURE

pair:
	TILEZERO_C
	MOVQ R8, SI
	MOVQ R9, CX
	LEAQ (R10)(R11*1), DI
	MOVQ R11, AX
	SHRQ $10, AX               // K blocks of 64

kloop:
	TILELOADD_T4_SI_BX
	TILELOADD_T5_CX_BX
	TILELOADD_T6_R10_DX
	TILELOADD_T7_DI_DX
	TDP_T0_T4_T6
	TDP_T1_T4_T7
	TDP_T2_T5_T6
	TDP_T3_T5_T7
	ADDQ $64, SI
	ADDQ $64, CX
	ADDQ $1024, R10
	ADDQ $1024, DI
	DECQ AX
	JNZ  kloop

	MOVQ DI, R10               // the next pair's first panel
	TILESTORED_C
	ADDQ $128, R12
	DECQ R14
	JNZ  pair

	TILERELEASE
	RET

// func i8EpilogueAVX512(rows, groups int, c *float32, ldc int, args *i8Args)
// In place over rows × 16·groups values of c (int32 bits in, float32 out):
// c = float32(acc)·colScale·rowScale + bias − rowZero·colSum, each operation rounded
// (I8Epilogue's order); a nil bias adds zero.
TEXT ·i8EpilogueAVX512(SB), NOSPLIT, $0-40
	MOVQ rows+0(FP), R8
	MOVQ groups+8(FP), R9
	MOVQ c+16(FP), DI
	MOVQ ldc+24(FP), R10
	SHLQ $2, R10
	MOVQ args+32(FP), AX
	MOVQ 0(AX), R11            // rowScale
	MOVQ 8(AX), R12            // rowZero
	MOVQ 16(AX), R13           // colScale
	MOVQ 24(AX), R14           // colSum
	MOVQ 32(AX), SI            // bias, or nil
	VXORPS Z29, Z29, Z29

row:
	VBROADCASTSS (R11), Z30
	VBROADCASTSS (R12), Z31
	XORQ DX, DX
	MOVQ R9, BX

col:
	VCVTDQ2PS (DI)(DX*1), Z0
	VMULPS    (R13)(DX*1), Z0, Z0
	VMULPS    Z30, Z0, Z0
	TESTQ     SI, SI
	JZ        nobias
	VADDPS    (SI)(DX*1), Z0, Z0
	JMP       zero

nobias:
	VADDPS Z29, Z0, Z0

zero:
	VMULPS  (R14)(DX*1), Z31, Z1
	VSUBPS  Z1, Z0, Z0
	VMOVUPS Z0, (DI)(DX*1)
	ADDQ    $64, DX
	DECQ    BX
	JNZ     col

	ADDQ $4, R11
	ADDQ $4, R12
	ADDQ R10, DI
	DECQ R8
	JNZ  row

	VZEROUPPER
	RET
