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
