//go:build !purego

#include "textflag.h"

// Int8 kernels (AVX2). See int8.go for the layouts and the contract. Seven-bit
// unsigned activations times signed weights: VPMADDUBSW adds two products into an
// int16 that cannot saturate (2·127·127 < 32768), VPMADDWD by ones widens the pairs
// to int32 sums of four, VPADDD accumulates.

// One A row against the 16 columns of one 4-row group of B: Y14 broadcasts the row's
// four bytes, Y15 holds int16 ones, Y12/Y13 are scratch.
#define I8ROW(addr, accL, accR) \
	VPBROADCASTD addr, Y14 \
	VPMADDUBSW (BX), Y14, Y12 \
	VPMADDUBSW 32(BX), Y14, Y13 \
	VPMADDWD Y15, Y12, Y12 \
	VPMADDWD Y15, Y13, Y13 \
	VPADDD Y12, accL, accL \
	VPADDD Y13, accR, accR

// The epilogue of one row (see I8Epilogue): R10 row scales, R11 row zero terms,
// R12 column scales, R13 column sums, R9 bias; off is the row's byte offset in the
// row arrays. Each operation rounds, as the Go twin does.
#define I8EPI(off, accL, accR) \
	VBROADCASTSS off(R10), Y14 \
	VBROADCASTSS off(R11), Y13 \
	VCVTDQ2PS accL, accL \
	VCVTDQ2PS accR, accR \
	VMULPS (R12), accL, accL \
	VMULPS 32(R12), accR, accR \
	VMULPS Y14, accL, accL \
	VMULPS Y14, accR, accR \
	VADDPS (R9), accL, accL \
	VADDPS 32(R9), accR, accR \
	VMULPS (R13), Y13, Y12 \
	VSUBPS Y12, accL, accL \
	VMULPS 32(R13), Y13, Y12 \
	VSUBPS Y12, accR, accR \
	VMOVUPS accL, (DI) \
	VMOVUPS accR, 32(DI) \
	ADDQ DX, DI

#define I8RAW(accL, accR) \
	VMOVDQU accL, (DI) \
	VMOVDQU accR, 32(DI) \
	ADDQ DX, DI

#define I8LOADEPI \
	MOVQ 0(AX), R10 \
	MOVQ 8(AX), R11 \
	MOVQ 16(AX), R12 \
	MOVQ 24(AX), R13 \
	MOVQ 32(AX), R9

// func i8Kernel6x16AVX2(k4 int, a *uint8, lda int, b *int8, c *float32, ldc int, args *i8Args)
TEXT ·i8Kernel6x16AVX2(SB), NOSPLIT, $0-56
	MOVQ k4+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), DX
	MOVQ b+24(FP), BX
	LEAQ (SI)(DX*2), R8
	ADDQ DX, R8 // R8 = row 3
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11
	VPCMPEQW Y15, Y15, Y15
	VPSRLW $15, Y15, Y15

loop6:
	I8ROW((SI), Y0, Y1)
	I8ROW((SI)(DX*1), Y2, Y3)
	I8ROW((SI)(DX*2), Y4, Y5)
	I8ROW((R8), Y6, Y7)
	I8ROW((SI)(DX*4), Y8, Y9)
	I8ROW((R8)(DX*2), Y10, Y11)
	ADDQ $4, SI
	ADDQ $4, R8
	ADDQ $64, BX
	DECQ CX
	JNZ loop6

	MOVQ c+32(FP), DI
	MOVQ ldc+40(FP), DX
	SHLQ $2, DX
	MOVQ args+48(FP), AX
	MOVQ 40(AX), R9
	TESTQ R9, R9
	JNE raw6
	I8LOADEPI
	I8EPI(0, Y0, Y1)
	I8EPI(4, Y2, Y3)
	I8EPI(8, Y4, Y5)
	I8EPI(12, Y6, Y7)
	I8EPI(16, Y8, Y9)
	I8EPI(20, Y10, Y11)
	VZEROUPPER
	RET

raw6:
	I8RAW(Y0, Y1)
	I8RAW(Y2, Y3)
	I8RAW(Y4, Y5)
	I8RAW(Y6, Y7)
	I8RAW(Y8, Y9)
	I8RAW(Y10, Y11)
	VZEROUPPER
	RET

#define PFDIST 1024
#define PFDIST64 256

// One row (decode): two groups per iteration into two accumulator pairs.
// func i8Kernel1x16AVX2(k4 int, a *uint8, b *int8, c *float32, args *i8Args)
TEXT ·i8Kernel1x16AVX2(SB), NOSPLIT, $0-40
	MOVQ k4+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), BX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPCMPEQW Y15, Y15, Y15
	VPSRLW $15, Y15, Y15
	CMPQ CX, $2
	JLT tail1

loop1:
	PREFETCHT0 PFDIST(BX)
	PREFETCHT0 PFDIST+64(BX)
	VPBROADCASTD (SI), Y14
	VPBROADCASTD 4(SI), Y11
	VPMADDUBSW (BX), Y14, Y12
	VPMADDUBSW 32(BX), Y14, Y13
	VPMADDUBSW 64(BX), Y11, Y9
	VPMADDUBSW 96(BX), Y11, Y10
	VPMADDWD Y15, Y12, Y12
	VPMADDWD Y15, Y13, Y13
	VPMADDWD Y15, Y9, Y9
	VPMADDWD Y15, Y10, Y10
	VPADDD Y12, Y0, Y0
	VPADDD Y13, Y1, Y1
	VPADDD Y9, Y2, Y2
	VPADDD Y10, Y3, Y3
	ADDQ $8, SI
	ADDQ $128, BX
	SUBQ $2, CX
	CMPQ CX, $2
	JGE loop1

tail1:
	TESTQ CX, CX
	JEQ sum1
	I8ROW((SI), Y0, Y1)

sum1:
	VPADDD Y2, Y0, Y0
	VPADDD Y3, Y1, Y1
	MOVQ c+24(FP), DI
	XORQ DX, DX
	MOVQ args+32(FP), AX
	MOVQ 40(AX), R9
	TESTQ R9, R9
	JNE raw1
	I8LOADEPI
	I8EPI(0, Y0, Y1)
	VZEROUPPER
	RET

raw1:
	I8RAW(Y0, Y1)
	VZEROUPPER
	RET

// The epilogue of one row for 16 columns at byte offset col of the column arrays
// and of c (the 1x64 kernel's four panels).
#define I8EPICOL(col, accL, accR) \
	VCVTDQ2PS accL, accL \
	VCVTDQ2PS accR, accR \
	VMULPS col(R12), accL, accL \
	VMULPS col+32(R12), accR, accR \
	VMULPS Y14, accL, accL \
	VMULPS Y14, accR, accR \
	VADDPS col(R9), accL, accL \
	VADDPS col+32(R9), accR, accR \
	VMULPS col(R13), Y13, Y12 \
	VSUBPS Y12, accL, accL \
	VMULPS col+32(R13), Y13, Y12 \
	VSUBPS Y12, accR, accR \
	VMOVUPS accL, col(DI) \
	VMOVUPS accR, col+32(DI)

#define I8PANEL(ptr, accL, accR) \
	VPMADDUBSW (ptr), Y14, Y12 \
	VPMADDUBSW 32(ptr), Y14, Y13 \
	VPMADDWD Y15, Y12, Y12 \
	VPMADDWD Y15, Y13, Y13 \
	VPADDD Y12, accL, accL \
	VPADDD Y13, accR, accR

// One row against four consecutive panels (64 columns): four weight streams at once.
// The epilogue arrays and c are 64 wide.
// func i8Kernel1x64AVX2(k4 int, a *uint8, b *int8, pstride int, c *float32, args *i8Args)
TEXT ·i8Kernel1x64AVX2(SB), NOSPLIT, $0-48
	MOVQ k4+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), BX
	MOVQ pstride+24(FP), DX
	LEAQ (BX)(DX*1), R8
	LEAQ (BX)(DX*2), R10
	LEAQ (R8)(DX*2), R11
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	VPCMPEQW Y15, Y15, Y15
	VPSRLW $15, Y15, Y15

loop64:
	PREFETCHT0 PFDIST64(BX)
	PREFETCHT0 PFDIST64(R8)
	PREFETCHT0 PFDIST64(R10)
	PREFETCHT0 PFDIST64(R11)
	VPBROADCASTD (SI), Y14
	I8PANEL(BX, Y0, Y1)
	I8PANEL(R8, Y2, Y3)
	I8PANEL(R10, Y4, Y5)
	I8PANEL(R11, Y6, Y7)
	ADDQ $4, SI
	ADDQ $64, BX
	ADDQ $64, R8
	ADDQ $64, R10
	ADDQ $64, R11
	DECQ CX
	JNZ loop64

	MOVQ c+32(FP), DI
	MOVQ args+40(FP), AX
	MOVQ 40(AX), R9
	TESTQ R9, R9
	JNE raw64
	I8LOADEPI
	VBROADCASTSS (R10), Y14
	VBROADCASTSS (R11), Y13
	I8EPICOL(0, Y0, Y1)
	I8EPICOL(64, Y2, Y3)
	I8EPICOL(128, Y4, Y5)
	I8EPICOL(192, Y6, Y7)
	VZEROUPPER
	RET

raw64:
	VMOVDQU Y0, (DI)
	VMOVDQU Y1, 32(DI)
	VMOVDQU Y2, 64(DI)
	VMOVDQU Y3, 96(DI)
	VMOVDQU Y4, 128(DI)
	VMOVDQU Y5, 160(DI)
	VMOVDQU Y6, 192(DI)
	VMOVDQU Y7, 224(DI)
	VZEROUPPER
	RET

// Minimum, maximum and NaN lanes of the first n values (n a multiple of 32):
// out[0:8] the lane minima, out[8:16] the maxima, out[16:24] non-zero where a NaN was.
// func i8MinMaxAVX2(n int, x *float32, out *[24]float32)
TEXT ·i8MinMaxAVX2(SB), NOSPLIT, $0-24
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ out+16(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y8, Y8, Y8

loopmm:
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VCMPPS $3, Y5, Y4, Y9
	VCMPPS $3, Y7, Y6, Y10
	VORPS Y9, Y8, Y8
	VORPS Y10, Y8, Y8
	VMINPS Y4, Y0, Y0
	VMAXPS Y4, Y1, Y1
	VMINPS Y5, Y2, Y2
	VMAXPS Y5, Y3, Y3
	VMINPS Y6, Y0, Y0
	VMAXPS Y6, Y1, Y1
	VMINPS Y7, Y2, Y2
	VMAXPS Y7, Y3, Y3
	ADDQ $128, SI
	SUBQ $32, CX
	JNE loopmm

	VMINPS Y2, Y0, Y0
	VMAXPS Y3, Y1, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y8, 64(DI)
	VZEROUPPER
	RET

DATA i8perm<>+0(SB)/4, $0
DATA i8perm<>+4(SB)/4, $4
DATA i8perm<>+8(SB)/4, $1
DATA i8perm<>+12(SB)/4, $5
DATA i8perm<>+16(SB)/4, $2
DATA i8perm<>+20(SB)/4, $6
DATA i8perm<>+24(SB)/4, $3
DATA i8perm<>+28(SB)/4, $7
GLOBL i8perm<>(SB), RODATA|NOPTR, $32


// dst[p] = clamp(round(x[p]·inv) + zero, 0, 127) for the first n values (n a
// multiple of 32), rounding half to even (the default MXCSR mode).
// func i8QuantizeAVX2(n int, x *float32, dst *uint8, inv float32, zero int32)
TEXT ·i8QuantizeAVX2(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ dst+16(FP), DI
	VBROADCASTSS inv+24(FP), Y15
	MOVL zero+28(FP), AX
	MOVQ AX, X14
	VPBROADCASTD X14, Y14
	MOVL $0x7f7f7f7f, AX
	MOVQ AX, X12
	VPBROADCASTD X12, Y12
	VMOVDQU i8perm<>(SB), Y11

loopq:
	VMULPS (SI), Y15, Y0
	VMULPS 32(SI), Y15, Y1
	VMULPS 64(SI), Y15, Y2
	VMULPS 96(SI), Y15, Y3
	VCVTPS2DQ Y0, Y0
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	VPADDD Y14, Y0, Y0
	VPADDD Y14, Y1, Y1
	VPADDD Y14, Y2, Y2
	VPADDD Y14, Y3, Y3
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKUSWB Y2, Y0, Y0
	VPERMD Y0, Y11, Y0
	VPMINUB Y12, Y0, Y0
	VMOVDQU Y0, (DI)
	ADDQ $128, SI
	ADDQ $32, DI
	SUBQ $32, CX
	JNE loopq
	VZEROUPPER
	RET
