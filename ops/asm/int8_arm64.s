//go:build !purego

#include "textflag.h"

// NEON int8 kernel with the dot-product extension (FEAT_DotProd: SDOT, which Go's
// assembler does not spell, so it is encoded with WORD). See int8.go for the
// layouts. One 6x16 tile in two passes of eight columns: accumulators V0-V11 (two per
// row), the six A rows' next 16 bytes (four groups) in V12-V17, the pass's half of
// four B groups in V18-V25. SDOT by element multiplies the four bytes of a column
// group by the four bytes of one A group and adds them into an int32 lane: exact,
// as the activations are at most 127. The raw int32 sums are stored to acc
// (row-major 6x16); the Go wrapper applies the epilogue.
// func i8Kernel6x16SDOT(k16 int, a *uint8, lda int, b *int8, acc *int32)
TEXT ·i8Kernel6x16SDOT(SB), NOSPLIT, $0-40
	MOVD acc+32(FP), R9
	MOVD $0, R10 // the pass: byte offset 0, then 32, in each 64-byte B group
pass:
	MOVD k16+0(FP), R8
	MOVD a+8(FP), R0
	MOVD lda+16(FP), R7
	ADD R7, R0, R1
	ADD R7, R1, R2
	ADD R7, R2, R3
	ADD R7, R3, R4
	ADD R7, R4, R5
	MOVD b+24(FP), R6
	ADD R10, R6, R6
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	VEOR V4.B16, V4.B16, V4.B16
	VEOR V5.B16, V5.B16, V5.B16
	VEOR V6.B16, V6.B16, V6.B16
	VEOR V7.B16, V7.B16, V7.B16
	VEOR V8.B16, V8.B16, V8.B16
	VEOR V9.B16, V9.B16, V9.B16
	VEOR V10.B16, V10.B16, V10.B16
	VEOR V11.B16, V11.B16, V11.B16
loop:
	VLD1.P 16(R0), [V12.B16]
	VLD1.P 16(R1), [V13.B16]
	VLD1.P 16(R2), [V14.B16]
	VLD1.P 16(R3), [V15.B16]
	VLD1.P 16(R4), [V16.B16]
	VLD1.P 16(R5), [V17.B16]
	VLD1 (R6), [V18.B16, V19.B16]
	ADD $64, R6, R6
	VLD1 (R6), [V20.B16, V21.B16]
	ADD $64, R6, R6
	VLD1 (R6), [V22.B16, V23.B16]
	ADD $64, R6, R6
	VLD1 (R6), [V24.B16, V25.B16]
	ADD $64, R6, R6
	WORD $0x4f8ce240 // SDOT V0.4S, V18.16B, V12.4B[0]
	WORD $0x4f8ce261 // SDOT V1.4S, V19.16B, V12.4B[0]
	WORD $0x4f8de242 // SDOT V2.4S, V18.16B, V13.4B[0]
	WORD $0x4f8de263 // SDOT V3.4S, V19.16B, V13.4B[0]
	WORD $0x4f8ee244 // SDOT V4.4S, V18.16B, V14.4B[0]
	WORD $0x4f8ee265 // SDOT V5.4S, V19.16B, V14.4B[0]
	WORD $0x4f8fe246 // SDOT V6.4S, V18.16B, V15.4B[0]
	WORD $0x4f8fe267 // SDOT V7.4S, V19.16B, V15.4B[0]
	WORD $0x4f90e248 // SDOT V8.4S, V18.16B, V16.4B[0]
	WORD $0x4f90e269 // SDOT V9.4S, V19.16B, V16.4B[0]
	WORD $0x4f91e24a // SDOT V10.4S, V18.16B, V17.4B[0]
	WORD $0x4f91e26b // SDOT V11.4S, V19.16B, V17.4B[0]
	WORD $0x4face280 // SDOT V0.4S, V20.16B, V12.4B[1]
	WORD $0x4face2a1 // SDOT V1.4S, V21.16B, V12.4B[1]
	WORD $0x4fade282 // SDOT V2.4S, V20.16B, V13.4B[1]
	WORD $0x4fade2a3 // SDOT V3.4S, V21.16B, V13.4B[1]
	WORD $0x4faee284 // SDOT V4.4S, V20.16B, V14.4B[1]
	WORD $0x4faee2a5 // SDOT V5.4S, V21.16B, V14.4B[1]
	WORD $0x4fafe286 // SDOT V6.4S, V20.16B, V15.4B[1]
	WORD $0x4fafe2a7 // SDOT V7.4S, V21.16B, V15.4B[1]
	WORD $0x4fb0e288 // SDOT V8.4S, V20.16B, V16.4B[1]
	WORD $0x4fb0e2a9 // SDOT V9.4S, V21.16B, V16.4B[1]
	WORD $0x4fb1e28a // SDOT V10.4S, V20.16B, V17.4B[1]
	WORD $0x4fb1e2ab // SDOT V11.4S, V21.16B, V17.4B[1]
	WORD $0x4f8ceac0 // SDOT V0.4S, V22.16B, V12.4B[2]
	WORD $0x4f8ceae1 // SDOT V1.4S, V23.16B, V12.4B[2]
	WORD $0x4f8deac2 // SDOT V2.4S, V22.16B, V13.4B[2]
	WORD $0x4f8deae3 // SDOT V3.4S, V23.16B, V13.4B[2]
	WORD $0x4f8eeac4 // SDOT V4.4S, V22.16B, V14.4B[2]
	WORD $0x4f8eeae5 // SDOT V5.4S, V23.16B, V14.4B[2]
	WORD $0x4f8feac6 // SDOT V6.4S, V22.16B, V15.4B[2]
	WORD $0x4f8feae7 // SDOT V7.4S, V23.16B, V15.4B[2]
	WORD $0x4f90eac8 // SDOT V8.4S, V22.16B, V16.4B[2]
	WORD $0x4f90eae9 // SDOT V9.4S, V23.16B, V16.4B[2]
	WORD $0x4f91eaca // SDOT V10.4S, V22.16B, V17.4B[2]
	WORD $0x4f91eaeb // SDOT V11.4S, V23.16B, V17.4B[2]
	WORD $0x4faceb00 // SDOT V0.4S, V24.16B, V12.4B[3]
	WORD $0x4faceb21 // SDOT V1.4S, V25.16B, V12.4B[3]
	WORD $0x4fadeb02 // SDOT V2.4S, V24.16B, V13.4B[3]
	WORD $0x4fadeb23 // SDOT V3.4S, V25.16B, V13.4B[3]
	WORD $0x4faeeb04 // SDOT V4.4S, V24.16B, V14.4B[3]
	WORD $0x4faeeb25 // SDOT V5.4S, V25.16B, V14.4B[3]
	WORD $0x4fafeb06 // SDOT V6.4S, V24.16B, V15.4B[3]
	WORD $0x4fafeb27 // SDOT V7.4S, V25.16B, V15.4B[3]
	WORD $0x4fb0eb08 // SDOT V8.4S, V24.16B, V16.4B[3]
	WORD $0x4fb0eb29 // SDOT V9.4S, V25.16B, V16.4B[3]
	WORD $0x4fb1eb0a // SDOT V10.4S, V24.16B, V17.4B[3]
	WORD $0x4fb1eb2b // SDOT V11.4S, V25.16B, V17.4B[3]
	SUB $1, R8, R8
	CBNZ R8, loop
	ADD R10, R9, R11
	VST1 [V0.S4, V1.S4], (R11)
	ADD $64, R11, R11
	VST1 [V2.S4, V3.S4], (R11)
	ADD $64, R11, R11
	VST1 [V4.S4, V5.S4], (R11)
	ADD $64, R11, R11
	VST1 [V6.S4, V7.S4], (R11)
	ADD $64, R11, R11
	VST1 [V8.S4, V9.S4], (R11)
	ADD $64, R11, R11
	VST1 [V10.S4, V11.S4], (R11)
	ADD $32, R10, R10
	CMP $64, R10
	BLT pass
	RET

// One row against one 16-column panel (decode): accumulators V0-V3 (four columns
// each), the row's next 16 bytes in V4, four B groups in V8-V23 (each 64 bytes: four
// registers of four columns). Raw int32 sums to acc[0:16].
// func i8Kernel1x16SDOT(k16 int, a *uint8, b *int8, acc *int32)
TEXT ·i8Kernel1x16SDOT(SB), NOSPLIT, $0-32
	MOVD k16+0(FP), R8
	MOVD a+8(FP), R0
	MOVD b+16(FP), R6
	MOVD acc+24(FP), R9
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
loop1:
	VLD1.P 16(R0), [V4.B16]
	VLD1.P 64(R6), [V8.B16, V9.B16, V10.B16, V11.B16]
	VLD1.P 64(R6), [V12.B16, V13.B16, V14.B16, V15.B16]
	VLD1.P 64(R6), [V16.B16, V17.B16, V18.B16, V19.B16]
	VLD1.P 64(R6), [V20.B16, V21.B16, V22.B16, V23.B16]
	WORD $0x4f84e100 // SDOT V0.4S, V8.16B, V4.4B[0]
	WORD $0x4f84e121 // SDOT V1.4S, V9.16B, V4.4B[0]
	WORD $0x4f84e142 // SDOT V2.4S, V10.16B, V4.4B[0]
	WORD $0x4f84e163 // SDOT V3.4S, V11.16B, V4.4B[0]
	WORD $0x4fa4e180 // SDOT V0.4S, V12.16B, V4.4B[1]
	WORD $0x4fa4e1a1 // SDOT V1.4S, V13.16B, V4.4B[1]
	WORD $0x4fa4e1c2 // SDOT V2.4S, V14.16B, V4.4B[1]
	WORD $0x4fa4e1e3 // SDOT V3.4S, V15.16B, V4.4B[1]
	WORD $0x4f84ea00 // SDOT V0.4S, V16.16B, V4.4B[2]
	WORD $0x4f84ea21 // SDOT V1.4S, V17.16B, V4.4B[2]
	WORD $0x4f84ea42 // SDOT V2.4S, V18.16B, V4.4B[2]
	WORD $0x4f84ea63 // SDOT V3.4S, V19.16B, V4.4B[2]
	WORD $0x4fa4ea80 // SDOT V0.4S, V20.16B, V4.4B[3]
	WORD $0x4fa4eaa1 // SDOT V1.4S, V21.16B, V4.4B[3]
	WORD $0x4fa4eac2 // SDOT V2.4S, V22.16B, V4.4B[3]
	WORD $0x4fa4eae3 // SDOT V3.4S, V23.16B, V4.4B[3]
	SUB $1, R8, R8
	CBNZ R8, loop1
	VST1 [V0.S4, V1.S4, V2.S4, V3.S4], (R9)
	RET
