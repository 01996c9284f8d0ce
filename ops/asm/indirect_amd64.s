//go:build !purego

#include "textflag.h"
#include "zero_amd64.h"

// Indirect 6x16 micro-kernel for convolutions without im2col: B row p is
// base[offs[p] : +8] followed by base[offs[p]+gap : +8]. Accumulators Y0-Y11,
// B row in Y12/Y13, A broadcast in Y14. C is overwritten (alpha 1, beta 0).

#define ROWI(off, acc0, acc1) \
	VBROADCASTSS off(AX), Y14 \
	VFMADD231PS Y14, Y12, acc0 \
	VFMADD231PS Y14, Y13, acc1

// func sgemmIndirect6x16AVX2(k int, a *float32, base *float32, offs *int32, gap int, c *float32, ldc int)
TEXT ·sgemmIndirect6x16AVX2(SB), NOSPLIT, $0-56
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ base+16(FP), SI
	MOVQ offs+24(FP), R8
	MOVQ gap+32(FP), R9
	SHLQ $2, R9
	MOVQ c+40(FP), DI
	MOVQ ldc+48(FP), DX
	SHLQ $2, DX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	TESTQ CX, CX
	JEQ storei
loopi:
	MOVLQSX (R8), R10
	LEAQ (SI)(R10*4), R11
	VMOVUPS (R11), Y12
	VMOVUPS (R11)(R9*1), Y13
	ROWI(0, Y0, Y1)
	ROWI(4, Y2, Y3)
	ROWI(8, Y4, Y5)
	ROWI(12, Y6, Y7)
	ROWI(16, Y8, Y9)
	ROWI(20, Y10, Y11)
	ADDQ $24, AX
	ADDQ $4, R8
	DECQ CX
	JNZ loopi
storei:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ DX, DI
	VMOVUPS Y2, (DI)
	VMOVUPS Y3, 32(DI)
	ADDQ DX, DI
	VMOVUPS Y4, (DI)
	VMOVUPS Y5, 32(DI)
	ADDQ DX, DI
	VMOVUPS Y6, (DI)
	VMOVUPS Y7, 32(DI)
	ADDQ DX, DI
	VMOVUPS Y8, (DI)
	VMOVUPS Y9, 32(DI)
	ADDQ DX, DI
	VMOVUPS Y10, (DI)
	VMOVUPS Y11, 32(DI)
	ADDQ DX, DI
	VZEROUPPER
	RET

// The AVX-512 indirect 6x16 kernel: a B row is one ZMM (the two 8-wide halves
// joined with VINSERTF32X8), six accumulators Z0-Z5, each element summed as the AVX2
// kernel sums it (one fused chain, p ascending), so the two agree bit for bit.
// func sgemmIndirect6x16AVX512(k int, a *float32, base *float32, offs *int32, gap int, c *float32, ldc int)
TEXT ·sgemmIndirect6x16AVX512(SB), NOSPLIT, $0-56
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ base+16(FP), SI
	MOVQ offs+24(FP), R8
	MOVQ gap+32(FP), R9
	SHLQ $2, R9
	MOVQ c+40(FP), DI
	MOVQ ldc+48(FP), DX
	SHLQ $2, DX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	TESTQ CX, CX
	JEQ storei512
loopi512:
	MOVLQSX (R8), R10
	LEAQ (SI)(R10*4), R11
	VMOVUPS (R11), Y12
	VINSERTF32X8 $1, (R11)(R9*1), Z12, Z12
	VFMADD231PS.BCST 0(AX), Z12, Z0
	VFMADD231PS.BCST 4(AX), Z12, Z1
	VFMADD231PS.BCST 8(AX), Z12, Z2
	VFMADD231PS.BCST 12(AX), Z12, Z3
	VFMADD231PS.BCST 16(AX), Z12, Z4
	VFMADD231PS.BCST 20(AX), Z12, Z5
	ADDQ $24, AX
	ADDQ $4, R8
	DECQ CX
	JNZ loopi512
storei512:
	VMOVUPS Z0, (DI)
	ADDQ DX, DI
	VMOVUPS Z1, (DI)
	ADDQ DX, DI
	VMOVUPS Z2, (DI)
	ADDQ DX, DI
	VMOVUPS Z3, (DI)
	ADDQ DX, DI
	VMOVUPS Z4, (DI)
	ADDQ DX, DI
	VMOVUPS Z5, (DI)
	VZEROUPPER
	RET

// OFFSETS4 loads four element offsets from src[0..3] into BX, R9, R12, R13 as byte
// offsets (the wide and outer kernels' groups or rows).
#define OFFSETS4(src) \
	MOVQ 0(src), BX \
	SHLQ $2, BX \
	MOVQ 8(src), R9 \
	SHLQ $2, R9 \
	MOVQ 16(src), R12 \
	SHLQ $2, R12 \
	MOVQ 24(src), R13 \
	SHLQ $2, R13

// The AVX-512 indirect 6x32 kernel: the 32 pixels are four groups of 8 whose B rows
// start at base[offs[p]+g[q]] (byte offsets of the groups in BX, R9, R12, R13), two
// ZMMs a row (Z12: groups 0-1, Z13: groups 2-3), twelve accumulators Z0-Z11 started
// at the bias (or zero), the six A values of a row broadcast into Z14-Z19.
#define ROWW(off, areg, acc0, acc1) \
	VBROADCASTSS off(AX), areg \
	VFMADD231PS areg, Z12, acc0 \
	VFMADD231PS areg, Z13, acc1

#define BIASW(off, acc0, acc1) \
	VBROADCASTSS off(DX), acc0 \
	VMOVAPS acc0, acc1

// func sgemmIndirect6x32AVX512(k int, a *float32, base *float32, offs *int32, grp *[4]int, bias *float32, c *float32, ldc int)
TEXT ·sgemmIndirect6x32AVX512(SB), NOSPLIT, $0-64
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ base+16(FP), SI
	MOVQ offs+24(FP), R8
	MOVQ grp+32(FP), R10
	OFFSETS4(R10)
	MOVQ bias+40(FP), DX
	TESTQ DX, DX
	JEQ zerow
	BIASW(0, Z0, Z6)
	BIASW(4, Z1, Z7)
	BIASW(8, Z2, Z8)
	BIASW(12, Z3, Z9)
	BIASW(16, Z4, Z10)
	BIASW(20, Z5, Z11)
	JMP startw
zerow:
	ZERO_Z0_Z11
startw:
	MOVQ c+48(FP), DI
	MOVQ ldc+56(FP), DX
	SHLQ $2, DX
	TESTQ CX, CX
	JEQ storew
loopw:
	MOVLQSX (R8), R10
	LEAQ (SI)(R10*4), R11
	VMOVUPS (R11)(BX*1), Y12
	VINSERTF32X8 $1, (R11)(R9*1), Z12, Z12
	VMOVUPS (R11)(R12*1), Y13
	VINSERTF32X8 $1, (R11)(R13*1), Z13, Z13
	ROWW(0, Z14, Z0, Z6)
	ROWW(4, Z15, Z1, Z7)
	ROWW(8, Z16, Z2, Z8)
	ROWW(12, Z17, Z3, Z9)
	ROWW(16, Z18, Z4, Z10)
	ROWW(20, Z19, Z5, Z11)
	ADDQ $24, AX
	ADDQ $4, R8
	DECQ CX
	JNZ loopw
storew:
	VMOVUPS Z0, (DI)
	VMOVUPS Z6, 64(DI)
	ADDQ DX, DI
	VMOVUPS Z1, (DI)
	VMOVUPS Z7, 64(DI)
	ADDQ DX, DI
	VMOVUPS Z2, (DI)
	VMOVUPS Z8, 64(DI)
	ADDQ DX, DI
	VMOVUPS Z3, (DI)
	VMOVUPS Z9, 64(DI)
	ADDQ DX, DI
	VMOVUPS Z4, (DI)
	VMOVUPS Z10, 64(DI)
	ADDQ DX, DI
	VMOVUPS Z5, (DI)
	VMOVUPS Z11, 64(DI)
	VZEROUPPER
	RET

// The AVX-512 outer-product indirect kernel: lanes are the 16 rows of A (one ZMM per
// reduction step), each of the 24 accumulators Z0-Z23 is (image row r, column kx) and
// takes one broadcast of B per step: base[offs[p] + rows[r] + kx], the row offsets in
// bytes in BX, R9, R12, R13.
// func sgemmIndirectOuterAVX512(k int, a *float32, base *float32, offs *int32, rows *[4]int, c *float32)
TEXT ·sgemmIndirectOuterAVX512(SB), NOSPLIT, $0-48
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ base+16(FP), SI
	MOVQ offs+24(FP), R8
	MOVQ rows+32(FP), R10
	OFFSETS4(R10)
	MOVQ c+40(FP), DI
	ZERO_Z0_Z11
	ZERO_Z12_Z23
	TESTQ CX, CX
	JEQ storeo
loopo:
	MOVLQSX (R8), R10
	LEAQ (SI)(R10*4), R11
	VMOVUPS (AX), Z24
	VFMADD231PS.BCST 0(R11)(BX*1), Z24, Z0
	VFMADD231PS.BCST 4(R11)(BX*1), Z24, Z1
	VFMADD231PS.BCST 8(R11)(BX*1), Z24, Z2
	VFMADD231PS.BCST 12(R11)(BX*1), Z24, Z3
	VFMADD231PS.BCST 16(R11)(BX*1), Z24, Z4
	VFMADD231PS.BCST 20(R11)(BX*1), Z24, Z5
	VFMADD231PS.BCST 0(R11)(R9*1), Z24, Z6
	VFMADD231PS.BCST 4(R11)(R9*1), Z24, Z7
	VFMADD231PS.BCST 8(R11)(R9*1), Z24, Z8
	VFMADD231PS.BCST 12(R11)(R9*1), Z24, Z9
	VFMADD231PS.BCST 16(R11)(R9*1), Z24, Z10
	VFMADD231PS.BCST 20(R11)(R9*1), Z24, Z11
	VFMADD231PS.BCST 0(R11)(R12*1), Z24, Z12
	VFMADD231PS.BCST 4(R11)(R12*1), Z24, Z13
	VFMADD231PS.BCST 8(R11)(R12*1), Z24, Z14
	VFMADD231PS.BCST 12(R11)(R12*1), Z24, Z15
	VFMADD231PS.BCST 16(R11)(R12*1), Z24, Z16
	VFMADD231PS.BCST 20(R11)(R12*1), Z24, Z17
	VFMADD231PS.BCST 0(R11)(R13*1), Z24, Z18
	VFMADD231PS.BCST 4(R11)(R13*1), Z24, Z19
	VFMADD231PS.BCST 8(R11)(R13*1), Z24, Z20
	VFMADD231PS.BCST 12(R11)(R13*1), Z24, Z21
	VFMADD231PS.BCST 16(R11)(R13*1), Z24, Z22
	VFMADD231PS.BCST 20(R11)(R13*1), Z24, Z23
	ADDQ $64, AX
	ADDQ $4, R8
	DECQ CX
	JNZ loopo
storeo:
	VMOVUPS Z0, 0(DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	VMOVUPS Z4, 256(DI)
	VMOVUPS Z5, 320(DI)
	VMOVUPS Z6, 384(DI)
	VMOVUPS Z7, 448(DI)
	VMOVUPS Z8, 512(DI)
	VMOVUPS Z9, 576(DI)
	VMOVUPS Z10, 640(DI)
	VMOVUPS Z11, 704(DI)
	VMOVUPS Z12, 768(DI)
	VMOVUPS Z13, 832(DI)
	VMOVUPS Z14, 896(DI)
	VMOVUPS Z15, 960(DI)
	VMOVUPS Z16, 1024(DI)
	VMOVUPS Z17, 1088(DI)
	VMOVUPS Z18, 1152(DI)
	VMOVUPS Z19, 1216(DI)
	VMOVUPS Z20, 1280(DI)
	VMOVUPS Z21, 1344(DI)
	VMOVUPS Z22, 1408(DI)
	VMOVUPS Z23, 1472(DI)
	VZEROUPPER
	RET
