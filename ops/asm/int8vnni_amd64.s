//go:build !purego

#include "textflag.h"

// Int8 kernels with AVX512-VNNI, same layouts and contract as the AVX2 ones
// (int8.go): a 4-row group of a 16-column panel is 64 bytes, one ZMM register, and
// VPDPBUSD adds each column's four unsigned-by-signed byte products into its int32
// lane in one instruction (the AVX2 kernels need six for the same 16 columns). The
// sums are exact, as there, so every kernel agrees with the Go twin bit for bit.

// The epilogue of one row, 16 columns (see I8Epilogue): R10 row scales, R11 row
// zero terms, R12 column scales, R13 column sums, R9 bias; roff is the row's byte
// offset in the row arrays, coff the columns' in the column arrays and in c.
#define V8EPI(roff, coff, acc) \
	VBROADCASTSS roff(R10), Z30 \
	VBROADCASTSS roff(R11), Z29 \
	VCVTDQ2PS acc, acc \
	VMULPS coff(R12), acc, acc \
	VMULPS Z30, acc, acc \
	VADDPS coff(R9), acc, acc \
	VMULPS coff(R13), Z29, Z28 \
	VSUBPS Z28, acc, acc \
	VMOVUPS acc, coff(DI)

#define V8LOADEPI \
	MOVQ 0(AX), R10 \
	MOVQ 8(AX), R11 \
	MOVQ 16(AX), R12 \
	MOVQ 24(AX), R13 \
	MOVQ 32(AX), R9

// The six-row kernels' shared steps: zero Z0–Z5; broadcast the next four bytes of
// rows 0–5 (SI row 0, R8 row 3, DX the row stride) into Z20–Z25.
#define V6ZERO VPXORD Z0, Z0, Z0; VPXORD Z1, Z1, Z1; VPXORD Z2, Z2, Z2; VPXORD Z3, Z3, Z3; VPXORD Z4, Z4, Z4; VPXORD Z5, Z5, Z5
#define V6BCAST VPBROADCASTD (SI), Z20; VPBROADCASTD (SI)(DX*1), Z21; VPBROADCASTD (SI)(DX*2), Z22; VPBROADCASTD (R8), Z23; VPBROADCASTD (SI)(DX*4), Z24; VPBROADCASTD (R8)(DX*2), Z25

// func i8Kernel6x16VNNI(k4 int, a *uint8, lda int, b *int8, c *float32, ldc int, args *i8Args)
TEXT ·i8Kernel6x16VNNI(SB), NOSPLIT, $0-56
	MOVQ k4+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), DX
	MOVQ b+24(FP), BX
	LEAQ (SI)(DX*2), R8
	ADDQ DX, R8 // R8 = row 3
	V6ZERO

loopv6:
	VMOVDQU32 (BX), Z16
	V6BCAST
	VPDPBUSD Z16, Z20, Z0
	VPDPBUSD Z16, Z21, Z1
	VPDPBUSD Z16, Z22, Z2
	VPDPBUSD Z16, Z23, Z3
	VPDPBUSD Z16, Z24, Z4
	VPDPBUSD Z16, Z25, Z5
	ADDQ $4, SI
	ADDQ $4, R8
	ADDQ $64, BX
	DECQ CX
	JNZ loopv6

	MOVQ c+32(FP), DI
	MOVQ ldc+40(FP), DX
	SHLQ $2, DX
	MOVQ args+48(FP), AX
	MOVQ 40(AX), R9
	TESTQ R9, R9
	JNE rawv6
	V8LOADEPI
	V8EPI(0, 0, Z0)
	ADDQ DX, DI
	V8EPI(4, 0, Z1)
	ADDQ DX, DI
	V8EPI(8, 0, Z2)
	ADDQ DX, DI
	V8EPI(12, 0, Z3)
	ADDQ DX, DI
	V8EPI(16, 0, Z4)
	ADDQ DX, DI
	V8EPI(20, 0, Z5)
	VZEROUPPER
	RET

rawv6:
	VMOVDQU32 Z0, (DI)
	ADDQ DX, DI
	VMOVDQU32 Z1, (DI)
	ADDQ DX, DI
	VMOVDQU32 Z2, (DI)
	ADDQ DX, DI
	VMOVDQU32 Z3, (DI)
	ADDQ DX, DI
	VMOVDQU32 Z4, (DI)
	ADDQ DX, DI
	VMOVDQU32 Z5, (DI)
	VZEROUPPER
	RET

// One row (decode): two groups per iteration into two accumulators.
// func i8Kernel1x16VNNI(k4 int, a *uint8, b *int8, c *float32, args *i8Args)
TEXT ·i8Kernel1x16VNNI(SB), NOSPLIT, $0-40
	MOVQ k4+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), BX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	CMPQ CX, $2
	JLT tailv1

loopv1:
	PREFETCHT0 1024(BX)
	PREFETCHT0 1088(BX)
	VPBROADCASTD (SI), Z20
	VPBROADCASTD 4(SI), Z21
	VPDPBUSD (BX), Z20, Z0
	VPDPBUSD 64(BX), Z21, Z1
	ADDQ $8, SI
	ADDQ $128, BX
	SUBQ $2, CX
	CMPQ CX, $2
	JGE loopv1

tailv1:
	TESTQ CX, CX
	JEQ sumv1
	VPBROADCASTD (SI), Z20
	VPDPBUSD (BX), Z20, Z0

sumv1:
	VPADDD Z1, Z0, Z0
	MOVQ c+24(FP), DI
	MOVQ args+32(FP), AX
	MOVQ 40(AX), R9
	TESTQ R9, R9
	JNE rawv1
	V8LOADEPI
	V8EPI(0, 0, Z0)
	VZEROUPPER
	RET

rawv1:
	VMOVDQU32 Z0, (DI)
	VZEROUPPER
	RET

// One row against four consecutive panels (64 columns): four weight streams at once,
// prefetched 256 bytes ahead. The epilogue arrays and c are 64 wide.
// func i8Kernel1x64VNNI(k4 int, a *uint8, b *int8, pstride int, c *float32, args *i8Args)
TEXT ·i8Kernel1x64VNNI(SB), NOSPLIT, $0-48
	MOVQ k4+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), BX
	MOVQ pstride+24(FP), DX
	LEAQ (BX)(DX*1), R8
	LEAQ (BX)(DX*2), R10
	LEAQ (R8)(DX*2), R11
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3

loopv64:
	PREFETCHT0 256(BX)
	PREFETCHT0 256(R8)
	PREFETCHT0 256(R10)
	PREFETCHT0 256(R11)
	VPBROADCASTD (SI), Z20
	VPDPBUSD (BX), Z20, Z0
	VPDPBUSD (R8), Z20, Z1
	VPDPBUSD (R10), Z20, Z2
	VPDPBUSD (R11), Z20, Z3
	ADDQ $4, SI
	ADDQ $64, BX
	ADDQ $64, R8
	ADDQ $64, R10
	ADDQ $64, R11
	DECQ CX
	JNZ loopv64

	MOVQ c+32(FP), DI
	MOVQ args+40(FP), AX
	MOVQ 40(AX), R9
	TESTQ R9, R9
	JNE rawv64
	V8LOADEPI
	V8EPI(0, 0, Z0)
	V8EPI(0, 64, Z1)
	V8EPI(0, 128, Z2)
	V8EPI(0, 192, Z3)
	VZEROUPPER
	RET

rawv64:
	VMOVDQU32 Z0, (DI)
	VMOVDQU32 Z1, 64(DI)
	VMOVDQU32 Z2, 128(DI)
	VMOVDQU32 Z3, 192(DI)
	VZEROUPPER
	RET

// Six rows × two consecutive panels (32 columns): twelve accumulators, two weight
// loads and six broadcasts per twelve VPDPBUSD (the 6×16 kernel needs seven loads
// per six), the register file's share left for the epilogue.
// func i8Kernel6x32VNNI(k4 int, a *uint8, lda int, b *int8, pstride int, c *float32, ldc int, args *i8Args)
TEXT ·i8Kernel6x32VNNI(SB), NOSPLIT, $0-64
	MOVQ k4+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), DX
	MOVQ b+24(FP), BX
	MOVQ pstride+32(FP), R14
	ADDQ BX, R14 // R14 = the second panel
	LEAQ (SI)(DX*2), R8
	ADDQ DX, R8 // R8 = row 3
	V6ZERO
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11

loopv632:
	VMOVDQU32 (BX), Z16
	VMOVDQU32 (R14), Z17
	V6BCAST
	VPDPBUSD Z16, Z20, Z0
	VPDPBUSD Z17, Z20, Z6
	VPDPBUSD Z16, Z21, Z1
	VPDPBUSD Z17, Z21, Z7
	VPDPBUSD Z16, Z22, Z2
	VPDPBUSD Z17, Z22, Z8
	VPDPBUSD Z16, Z23, Z3
	VPDPBUSD Z17, Z23, Z9
	VPDPBUSD Z16, Z24, Z4
	VPDPBUSD Z17, Z24, Z10
	VPDPBUSD Z16, Z25, Z5
	VPDPBUSD Z17, Z25, Z11
	ADDQ $4, SI
	ADDQ $4, R8
	ADDQ $64, BX
	ADDQ $64, R14
	DECQ CX
	JNZ loopv632

	MOVQ c+40(FP), DI
	MOVQ ldc+48(FP), DX
	SHLQ $2, DX
	MOVQ args+56(FP), AX
	V8LOADEPI
	V8EPI(0, 0, Z0)
	V8EPI(0, 64, Z6)
	ADDQ DX, DI
	V8EPI(4, 0, Z1)
	V8EPI(4, 64, Z7)
	ADDQ DX, DI
	V8EPI(8, 0, Z2)
	V8EPI(8, 64, Z8)
	ADDQ DX, DI
	V8EPI(12, 0, Z3)
	V8EPI(12, 64, Z9)
	ADDQ DX, DI
	V8EPI(16, 0, Z4)
	V8EPI(16, 64, Z10)
	ADDQ DX, DI
	V8EPI(20, 0, Z5)
	V8EPI(20, 64, Z11)
	VZEROUPPER
	RET

// The AVX-512 range of the first n values (n a multiple of 64): out[0] the minimum
// and out[1] the maximum, both including 0; out[2] is 1 if a NaN was met (the other
// two are then meaningless). Eight independent chains, reduced across lanes here.
// func i8MinMaxAVX512(n int, x *float32, out *[3]float32)
TEXT ·i8MinMaxAVX512(SB), NOSPLIT, $0-24
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ out+16(FP), DI
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	VXORPS Z8, Z8, Z8
	VXORPS Z9, Z9, Z9
	VXORPS Z10, Z10, Z10
	VXORPS Z11, Z11, Z11
	KXORW K3, K3, K3

loopmm512:
	VMOVUPS (SI), Z4
	VMOVUPS 64(SI), Z5
	VMOVUPS 128(SI), Z6
	VMOVUPS 192(SI), Z7
	VCMPPS $3, Z5, Z4, K1
	VCMPPS $3, Z7, Z6, K2
	KORW K1, K3, K3
	KORW K2, K3, K3
	VMINPS Z4, Z0, Z0
	VMAXPS Z4, Z8, Z8
	VMINPS Z5, Z1, Z1
	VMAXPS Z5, Z9, Z9
	VMINPS Z6, Z2, Z2
	VMAXPS Z6, Z10, Z10
	VMINPS Z7, Z3, Z3
	VMAXPS Z7, Z11, Z11
	ADDQ $256, SI
	SUBQ $64, CX
	JNE loopmm512

	VMINPS Z1, Z0, Z0
	VMINPS Z3, Z2, Z2
	VMINPS Z2, Z0, Z0
	VMAXPS Z9, Z8, Z8
	VMAXPS Z11, Z10, Z10
	VMAXPS Z10, Z8, Z8
	VEXTRACTF32X8 $1, Z0, Y1
	VMINPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMINPS X1, X0, X0
	VPERMILPS $0x4E, X0, X1
	VMINPS X1, X0, X0
	VPERMILPS $0xB1, X0, X1
	VMINPS X1, X0, X0
	VEXTRACTF32X8 $1, Z8, Y9
	VMAXPS Y9, Y8, Y8
	VEXTRACTF128 $1, Y8, X9
	VMAXPS X9, X8, X8
	VPERMILPS $0x4E, X8, X9
	VMAXPS X9, X8, X8
	VPERMILPS $0xB1, X8, X9
	VMAXPS X9, X8, X8
	VMOVSS X0, (DI)
	VMOVSS X8, 4(DI)
	MOVL $0, AX
	MOVL $0x3f800000, BX
	KORTESTW K3, K3
	CMOVLNE BX, AX
	MOVL AX, 8(DI)
	VZEROUPPER
	RET

// dst[p] = clamp(round(x[p]·inv) + zero, 0, 127) for the first n values (n a
// multiple of 64), rounding half to even: the bits of i8QuantizeAVX2.
// func i8QuantizeAVX512(n int, x *float32, dst *uint8, inv float32, zero int32)
TEXT ·i8QuantizeAVX512(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ dst+16(FP), DI
	VBROADCASTSS inv+24(FP), Z15
	MOVL zero+28(FP), AX
	VPBROADCASTD AX, Z14
	MOVL $127, AX
	VPBROADCASTD AX, Z13
	VPXORD Z12, Z12, Z12

loopq512:
	VMULPS (SI), Z15, Z0
	VMULPS 64(SI), Z15, Z1
	VMULPS 128(SI), Z15, Z2
	VMULPS 192(SI), Z15, Z3
	VCVTPS2DQ Z0, Z0
	VCVTPS2DQ Z1, Z1
	VCVTPS2DQ Z2, Z2
	VCVTPS2DQ Z3, Z3
	VPADDD Z14, Z0, Z0
	VPADDD Z14, Z1, Z1
	VPADDD Z14, Z2, Z2
	VPADDD Z14, Z3, Z3
	VPMAXSD Z12, Z0, Z0
	VPMAXSD Z12, Z1, Z1
	VPMAXSD Z12, Z2, Z2
	VPMAXSD Z12, Z3, Z3
	VPMINSD Z13, Z0, Z0
	VPMINSD Z13, Z1, Z1
	VPMINSD Z13, Z2, Z2
	VPMINSD Z13, Z3, Z3
	VPMOVDB Z0, (DI)
	VPMOVDB Z1, 16(DI)
	VPMOVDB Z2, 32(DI)
	VPMOVDB Z3, 48(DI)
	ADDQ $256, SI
	ADDQ $64, DI
	SUBQ $64, CX
	JNE loopq512
	VZEROUPPER
	RET
