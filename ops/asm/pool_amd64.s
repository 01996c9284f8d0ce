//go:build !purego

#include "textflag.h"

// Lane indices picking the even (odd) lanes of a 32-lane pair of registers.
DATA poolEven<>+0(SB)/8, $0x0000000200000000
DATA poolEven<>+8(SB)/8, $0x0000000600000004
DATA poolEven<>+16(SB)/8, $0x0000000a00000008
DATA poolEven<>+24(SB)/8, $0x0000000e0000000c
DATA poolEven<>+32(SB)/8, $0x0000001200000010
DATA poolEven<>+40(SB)/8, $0x0000001600000014
DATA poolEven<>+48(SB)/8, $0x0000001a00000018
DATA poolEven<>+56(SB)/8, $0x0000001e0000001c
GLOBL poolEven<>(SB), RODATA|NOPTR, $64
DATA poolOdd<>+0(SB)/8, $0x0000000300000001
DATA poolOdd<>+8(SB)/8, $0x0000000700000005
DATA poolOdd<>+16(SB)/8, $0x0000000b00000009
DATA poolOdd<>+24(SB)/8, $0x0000000f0000000d
DATA poolOdd<>+32(SB)/8, $0x0000001300000011
DATA poolOdd<>+40(SB)/8, $0x0000001700000015
DATA poolOdd<>+48(SB)/8, $0x0000001b00000019
DATA poolOdd<>+56(SB)/8, $0x0000001f0000001d
GLOBL poolOdd<>(SB), RODATA|NOPTR, $64

// func maxPool2x2ReLUAVX512(y, x *float32, rows, w int, nan uint32)
// rows output rows of w/2 values (w even): output row r is the ReLU'd maximum of the
// 2×2 windows of input rows 2r and 2r+1 (x holds 2·rows rows of w), taken on the
// values' bits as int32 (maxPool2x2ReLU's trick); a window holding a NaN gives nan.
// 16 outputs a step, the last step of a row under a mask (masked loads do not fault).
TEXT ·maxPool2x2ReLUAVX512(SB), NOSPLIT, $0-36
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ rows+16(FP), R8
	MOVQ w+24(FP), R9
	MOVL nan+32(FP), AX
	VPBROADCASTD AX, Z31
	VPXORD Z30, Z30, Z30
	VMOVDQU32 poolEven<>(SB), Z28
	VMOVDQU32 poolOdd<>(SB), Z29
	MOVQ R9, R10
	SHRQ $1, R10               // outputs a row

row:
	MOVQ SI, R12               // input row 2r
	LEAQ (SI)(R9*4), R13       // input row 2r+1
	MOVQ DI, R14
	MOVQ R10, R11

chunk:
	MOVQ R11, CX
	MOVQ $16, BX
	CMPQ CX, BX
	CMOVQGT BX, CX             // outputs this step
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	SHLQ $1, CX                // inputs this step
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K2
	SHRQ $16, AX
	KMOVW AX, K3
	VMOVDQU32.Z (R12), K2, Z0
	VMOVDQU32.Z 64(R12), K3, Z1
	VMOVDQU32.Z (R13), K2, Z2
	VMOVDQU32.Z 64(R13), K3, Z3
	VCMPPS $3, Z0, Z0, K4
	VCMPPS $3, Z2, Z2, K5
	KORW K5, K4, K4
	VCMPPS $3, Z1, Z1, K5
	VCMPPS $3, Z3, Z3, K6
	KORW K6, K5, K5
	VPMAXSD Z2, Z0, Z0
	VPMAXSD Z3, Z1, Z1
	VMOVDQA32 Z0, Z4
	VPERMT2D Z1, Z28, Z4
	VMOVDQA32 Z0, Z5
	VPERMT2D Z1, Z29, Z5
	VPMAXSD Z5, Z4, Z4
	VPMAXSD Z30, Z4, Z4
	VPMOVM2D K4, Z6
	VPMOVM2D K5, Z7
	VMOVDQA32 Z6, Z8
	VPERMT2D Z7, Z28, Z8
	VPERMT2D Z7, Z29, Z6
	VPORD Z8, Z6, Z6
	VPMOVD2M Z6, K6
	VMOVDQA32 Z31, K6, Z4
	VMOVDQU32 Z4, K1, (R14)
	ADDQ $128, R12
	ADDQ $128, R13
	ADDQ $64, R14
	SUBQ $16, R11
	JG   chunk

	LEAQ (SI)(R9*8), SI
	LEAQ (DI)(R10*4), DI
	DECQ R8
	JNZ  row
	VZEROUPPER
	RET

// Lane indices interleaving two registers: lanes 0-15 (16-31) of the pair a0 b0 a1 b1 ….
DATA poolLo<>+0(SB)/8, $0x0000001000000000
DATA poolLo<>+8(SB)/8, $0x0000001100000001
DATA poolLo<>+16(SB)/8, $0x0000001200000002
DATA poolLo<>+24(SB)/8, $0x0000001300000003
DATA poolLo<>+32(SB)/8, $0x0000001400000004
DATA poolLo<>+40(SB)/8, $0x0000001500000005
DATA poolLo<>+48(SB)/8, $0x0000001600000006
DATA poolLo<>+56(SB)/8, $0x0000001700000007
GLOBL poolLo<>(SB), RODATA|NOPTR, $64
DATA poolHi<>+0(SB)/8, $0x0000001800000008
DATA poolHi<>+8(SB)/8, $0x0000001900000009
DATA poolHi<>+16(SB)/8, $0x0000001a0000000a
DATA poolHi<>+24(SB)/8, $0x0000001b0000000b
DATA poolHi<>+32(SB)/8, $0x0000001c0000000c
DATA poolHi<>+40(SB)/8, $0x0000001d0000000d
DATA poolHi<>+48(SB)/8, $0x0000001e0000000e
DATA poolHi<>+56(SB)/8, $0x0000001f0000000f
GLOBL poolHi<>(SB), RODATA|NOPTR, $64

// func maxPool2x2ReLUBackwardAVX512(dx, x, y, dy *float32, rows, w int)
// MaxPool2x2ReLUBackwardGo's loop, 16 windows a step: the four positions of the
// windows split into even/odd lanes, compared with the output (ordered: a NaN equals
// nothing), the first match of each window kept with mask and-nots, the gradient
// (zeroed where the output is not > 0) under each mask, interleaved back into the two
// rows. The last step of a row runs under masks; an odd last column is not written.
TEXT ·maxPool2x2ReLUBackwardAVX512(SB), NOSPLIT, $8-48
	MOVQ dx+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), BX
	MOVQ dy+24(FP), DX
	SUBQ BX, DX                // dy − y: dy's row at (y's)(DX*1)
	MOVQ rows+32(FP), R8
	MOVQ w+40(FP), R9
	VPXORD Z30, Z30, Z30
	VMOVDQU32 poolEven<>(SB), Z28
	VMOVDQU32 poolOdd<>(SB), Z29
	VMOVDQU32 poolLo<>(SB), Z26
	VMOVDQU32 poolHi<>(SB), Z27
	MOVQ R9, R10
	SHRQ $1, R10
	MOVQ R10, ow-8(SP)         // outputs a row

brow:
	MOVQ SI, R12               // x row 2r (row 2r+1 at +w)
	MOVQ DI, R13               // dx row 2r
	MOVQ BX, AX                // y row r
	MOVQ ow-8(SP), R11

bchunk:
	MOVQ R11, CX
	CMPQ CX, $16
	JLE  bcount
	MOVQ $16, CX
bcount:
	MOVL $1, R10
	SHLL CX, R10
	DECL R10
	KMOVW R10, K1              // outputs this step
	SHLQ $1, CX
	MOVQ $1, R10
	SHLQ CX, R10
	DECQ R10
	KMOVW R10, K2              // inputs 0-15
	SHRQ $16, R10
	KMOVW R10, K3              // inputs 16-31
	VMOVDQU32.Z (R12), K2, Z0
	VMOVDQU32.Z 64(R12), K3, Z1
	VMOVDQU32.Z (R12)(R9*4), K2, Z2
	VMOVDQU32.Z 64(R12)(R9*4), K3, Z3
	VMOVDQU32.Z (AX), K1, Z4   // y
	VMOVDQU32.Z (AX)(DX*1), K1, Z5 // dy
	VMOVDQA32 Z0, Z6
	VPERMT2D Z1, Z28, Z6       // a: row 2r, even columns
	VPERMT2D Z1, Z29, Z0       // b: row 2r, odd columns
	VMOVDQA32 Z2, Z8
	VPERMT2D Z3, Z28, Z8       // c: row 2r+1, even columns
	VCMPPS $14, Z30, Z4, K4    // y > 0
	VMOVAPS.Z Z5, K4, Z5       // g
	VCMPPS $0, Z4, Z6, K4      // e0
	VCMPPS $0, Z4, Z0, K5
	KANDNW K5, K4, K5          // e1 = b==y &^ e0
	KORW K4, K5, K6
	VCMPPS $0, Z4, Z8, K7
	KANDNW K7, K6, K7          // e2
	KORW K6, K7, K6
	KNOTW K6, K6               // e3
	VMOVAPS.Z Z5, K4, Z10
	VMOVAPS.Z Z5, K5, Z11
	VMOVAPS.Z Z5, K7, Z12
	VMOVAPS.Z Z5, K6, Z13
	VMOVDQA32 Z10, Z14
	VPERMT2D Z11, Z26, Z14
	VPERMT2D Z11, Z27, Z10
	VMOVDQA32 Z12, Z15
	VPERMT2D Z13, Z26, Z15
	VPERMT2D Z13, Z27, Z12
	VMOVDQU32 Z14, K2, (R13)
	VMOVDQU32 Z10, K3, 64(R13)
	VMOVDQU32 Z15, K2, (R13)(R9*4)
	VMOVDQU32 Z12, K3, 64(R13)(R9*4)
	ADDQ $128, R12
	ADDQ $128, R13
	ADDQ $64, AX
	SUBQ $16, R11
	JG   bchunk

	MOVQ ow-8(SP), R10
	LEAQ (SI)(R9*8), SI
	LEAQ (DI)(R9*8), DI
	LEAQ (BX)(R10*4), BX
	DECQ R8
	JNZ  brow
	VZEROUPPER
	RET
