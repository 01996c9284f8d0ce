//go:build !purego

#include "textflag.h"
#include "zero_amd64.h"

// ggml block products (AVX2 + F16C). See qdot.go for the block layouts. Each
// block: the weights as 32 bytes (nibbles split into the low and high halves),
// VPMADDUBSW of unsigned weights (or |w| with the activations' signs flipped where w
// is negative) by the signed activations into int16 pairs (at most 2·15·127 or
// 2·127·127: no saturation), VPMADDWD by ones into eight int32 sums, converted and
// accumulated with the block's scale d_w·d_a in eight float32 lanes.
//
// Registers: CX blocks per row, SI the current weight row, DX the row stride, R8
// rows left, DI the activation blocks, R9 y; R10/R11 walk a row's blocks, R12
// counts them. Y14 int16 ones, Y15 bytes 0x0F, Y13 bytes 0x08.

// Y14 int16 ones, Y15 bytes 0x0F (AX is scratch).
#define QCONSTS \
	MOVL $0x00010001, AX \
	VMOVD AX, X14 \
	VPBROADCASTD X14, Y14 \
	MOVL $0x0F0F0F0F, AX \
	VMOVD AX, X15 \
	VPBROADCASTD X15, Y15

#define QSETUP \
	MOVQ nb+0(FP), CX \
	MOVQ w+8(FP), SI \
	MOVQ rowBytes+16(FP), DX \
	MOVQ rows+24(FP), R8 \
	MOVQ a+32(FP), DI \
	MOVQ y+40(FP), R9 \
	QCONSTS \
	MOVL $0x08080808, AX \
	VMOVD AX, X13 \
	VPBROADCASTD X13, Y13

#define QROWSTART \
	MOVQ SI, R10 \
	MOVQ DI, R11 \
	MOVQ CX, R12 \
	VXORPS Y0, Y0, Y0 \
	VXORPS X6, X6, X6

// The eight int32 sums in Y4 times the scale d_w (float16 at 0(R10)) · d_a.
#define QSCALE \
	VPMADDWD Y14, Y4, Y4 \
	VCVTDQ2PS Y4, Y4 \
	VMOVD (R10), X7 \
	VCVTPH2PS X7, X7 \
	VMULSS (R11), X7, X9 \
	VBROADCASTSS X9, Y9 \
	VFMADD231PS Y9, Y4, Y0

// *out = the lanes of acc (accx its low half) plus the scalar sacc.
#define QSUM(acc, accx, sacc, out) \
	VEXTRACTF128 $1, acc, X1 \
	VADDPS X1, accx, accx \
	VHADDPS accx, accx, accx \
	VHADDPS accx, accx, accx \
	VADDSS sacc, accx, accx \
	VMOVSS accx, (out)

// y[r] = the lanes of Y0 plus the scalar X6; on to the next row.
#define QROWEND \
	QSUM(Y0, X0, X6, R9) \
	ADDQ $4, R9 \
	ADDQ DX, SI \
	DECQ R8

// A Q4_1 block at R10: its 32 nibbles as bytes in Y1 (the low halves first), d and
// m widened in X7, m alone in X10.
#define Q41UNPACK \
	VMOVDQU 4(R10), X1 \
	VPSRLW $4, X1, X2 \
	VINSERTI128 $1, X2, Y1, Y1 \
	VPAND Y15, Y1, Y1 \
	VMOVD (R10), X7 \
	VCVTPH2PS X7, X7 \
	VMOVSHDUP X7, X10

// One activation row's share of the Q4_1 block: the int32 sums with the Q8 block at
// act, scaled by d·d_a into acc, and m·S into sacc.
#define Q41ACT(act, acc, sacc) \
	VMOVDQU 8(act), Y3 \
	VPMADDUBSW Y3, Y1, Y4 \
	VPMADDWD Y14, Y4, Y4 \
	VCVTDQ2PS Y4, Y4 \
	VMULSS (act), X7, X9 \
	VBROADCASTSS X9, Y9 \
	VFMADD231PS Y9, Y4, acc \
	VFMADD231SS 4(act), X10, sacc

// func qgemvQ4_1AVX2(nb int, w *byte, rowBytes int, rows int, a *Q8Block, y *float32)
TEXT ·qgemvQ4_1AVX2(SB), NOSPLIT, $0-48
	QSETUP
q41row:
	QROWSTART
q41blk:
	Q41UNPACK
	Q41ACT(R11, Y0, X6)
	ADDQ $20, R10
	ADDQ $40, R11
	DECQ R12
	JNZ q41blk
	QROWEND
	JNZ q41row
	VZEROUPPER
	RET

// func qgemvQ4_0AVX2(nb int, w *byte, rowBytes int, rows int, a *Q8Block, y *float32)
TEXT ·qgemvQ4_0AVX2(SB), NOSPLIT, $0-48
	QSETUP
q40row:
	QROWSTART
q40blk:
	VMOVDQU 2(R10), X1
	VPSRLW $4, X1, X2
	VINSERTI128 $1, X2, Y1, Y1
	VPAND Y15, Y1, Y1
	VPSUBB Y13, Y1, Y1             // nibble − 8, signed
	VMOVDQU 8(R11), Y3
	VPSIGNB Y1, Y3, Y3
	VPABSB Y1, Y1
	VPMADDUBSW Y3, Y1, Y4
	QSCALE
	ADDQ $18, R10
	ADDQ $40, R11
	DECQ R12
	JNZ q40blk
	QROWEND
	JNZ q40row
	VZEROUPPER
	RET

// func qgemvQ8_0AVX2(nb int, w *byte, rowBytes int, rows int, a *Q8Block, y *float32)
TEXT ·qgemvQ8_0AVX2(SB), NOSPLIT, $0-48
	QSETUP
q80row:
	QROWSTART
q80blk:
	VMOVDQU 2(R10), Y1
	VMOVDQU 8(R11), Y3
	VPSIGNB Y1, Y3, Y3
	VPABSB Y1, Y1
	VPMADDUBSW Y3, Y1, Y4
	QSCALE
	ADDQ $34, R10
	ADDQ $40, R11
	DECQ R12
	JNZ q80blk
	QROWEND
	JNZ q80row
	VZEROUPPER
	RET

// func qgemv2Q4_1AVX2(nb int, w *byte, rowBytes int, rows int, a0, a1 *Q8Block, y0, y1 *float32)
//
// qgemvQ4_1AVX2 for two activation rows at once: each block of weights is unpacked
// (and its d, m widened) once for both. Each row's sums run in the one-row kernel's
// order, so the results are the same bits. BX walks a1 (AX a row's blocks of it),
// R13 y1; Y5 and X8 are the second row's accumulators.
TEXT ·qgemv2Q4_1AVX2(SB), NOSPLIT, $0-64
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ rowBytes+16(FP), DX
	MOVQ rows+24(FP), R8
	MOVQ a0+32(FP), DI
	MOVQ a1+40(FP), BX
	MOVQ y0+48(FP), R9
	MOVQ y1+56(FP), R13
	QCONSTS
q412row:
	MOVQ SI, R10
	MOVQ DI, R11
	MOVQ BX, AX
	MOVQ CX, R12
	VXORPS Y0, Y0, Y0
	VXORPS Y5, Y5, Y5
	VXORPS X6, X6, X6
	VXORPS X8, X8, X8
q412blk:
	Q41UNPACK
	Q41ACT(R11, Y0, X6)            // row 0
	Q41ACT(AX, Y5, X8)             // row 1
	ADDQ $20, R10
	ADDQ $40, R11
	ADDQ $40, AX
	DECQ R12
	JNZ q412blk
	QSUM(Y0, X0, X6, R9)
	QSUM(Y5, X5, X8, R13)
	ADDQ $4, R9
	ADDQ $4, R13
	ADDQ DX, SI
	DECQ R8
	JNZ q412row
	VZEROUPPER
	RET

DATA qq8perm<>+0(SB)/4, $0
DATA qq8perm<>+4(SB)/4, $4
DATA qq8perm<>+8(SB)/4, $1
DATA qq8perm<>+12(SB)/4, $5
DATA qq8perm<>+16(SB)/4, $2
DATA qq8perm<>+20(SB)/4, $6
DATA qq8perm<>+24(SB)/4, $3
DATA qq8perm<>+28(SB)/4, $7
GLOBL qq8perm<>(SB), RODATA|NOPTR, $32

// One register of 8 activations times id (Y8), rounded half away from zero:
// t = trunc(v), and ±1 added where |v − t| ≥ ½ (exact: v − t is), then int32.
#define QQ8ROUND(v, t, f) \
	VMULPS Y8, v, v \
	VROUNDPS $3, v, t \
	VSUBPS t, v, f \
	VANDPS Y9, f, f \
	VCMPPS $13, Y12, f, f \
	VANDPS Y10, v, v \
	VORPS Y11, v, v \
	VANDPS f, v, v \
	VADDPS v, t, t \
	VCVTTPS2DQ t, v

// func quantizeQ8AVX2(x *float32, nb int, dst *Q8Block)
//
// QuantizeQ8's blocks before the float16 roundings: Qs, D = max|x|/127 unrounded,
// and the int32 ΣQs in S's bits (quantizeQ8Arch finishes D and S in Go).
TEXT ·quantizeQ8AVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ dst+16(FP), DI
	MOVL $0x7FFFFFFF, AX
	VMOVD AX, X9
	VPBROADCASTD X9, Y9            // |·| mask
	MOVL $0x80000000, AX
	VMOVD AX, X10
	VPBROADCASTD X10, Y10          // sign mask
	MOVL $0x3F800000, AX
	VMOVD AX, X11
	VPBROADCASTD X11, Y11          // 1.0
	MOVL $0x3F000000, AX
	VMOVD AX, X12
	VPBROADCASTD X12, Y12          // 0.5
	VMOVDQU qq8perm<>(SB), Y13
qq8blk:
	VMOVUPS 0(SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VANDPS Y9, Y0, Y4
	VANDPS Y9, Y1, Y5
	VANDPS Y9, Y2, Y6
	VANDPS Y9, Y3, Y7
	VMAXPS Y5, Y4, Y4
	VMAXPS Y7, Y6, Y6
	VMAXPS Y6, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VMAXPS X5, X4, X4
	VPERMILPS $0x4E, X4, X5
	VMAXPS X5, X4, X4
	VPERMILPS $0xB1, X4, X5
	VMAXPS X5, X4, X4              // amax in lane 0
	MOVL $0x42FE0000, AX           // 127.0
	VMOVD AX, X5
	VDIVSS X5, X4, X4              // d = amax/127
	VMOVSS X4, 0(DI)
	VDIVSS X4, X11, X5             // 1/d
	VXORPS X6, X6, X6
	VCMPSS $0, X6, X4, X6          // d == 0
	VANDNPS X5, X6, X5             // id, 0 where d is 0
	VBROADCASTSS X5, Y8
	QQ8ROUND(Y0, Y4, Y5)
	QQ8ROUND(Y1, Y4, Y5)
	QQ8ROUND(Y2, Y4, Y5)
	QQ8ROUND(Y3, Y4, Y5)
	VPADDD Y1, Y0, Y4
	VPADDD Y3, Y2, Y5
	VPADDD Y5, Y4, Y4
	VEXTRACTI128 $1, Y4, X5
	VPADDD X5, X4, X4
	VPSHUFD $0x4E, X4, X5
	VPADDD X5, X4, X4
	VPSHUFD $0xB1, X4, X5
	VPADDD X5, X4, X4
	VMOVD X4, 4(DI)                // ΣQs
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD Y0, Y13, Y0
	VMOVDQU Y0, 8(DI)
	ADDQ $128, SI
	ADDQ $40, DI
	DECQ CX
	JNZ qq8blk
	VZEROUPPER
	RET

// QGemm16's kernels (AVX-512 VNNI): 16 activation rows in the lanes (a Q8Pack16),
// one weight row at a time. Per block the weights are unpacked once to bytes on the
// stack; each group l of 4 columns is one VPDPBUSD of the broadcast weight quad (u8)
// by the 16 rows' quads (s8) — the int32 sum QGemv's lane l holds — converted and
// added with the scale d·D into accumulator Zl, as QGemv adds its lane l; Z8 sums
// m·S. Row end: QGemv's horizontal sum order. Q8_0 weights go in as w+128 (unsigned)
// with the sum started at −128·Σ(quad) (the pack's corr), which leaves Σ w·q exactly.

// Q16ROWSTART: the row's blocks from R10, the pack from R11, R12 blocks; the eight
// group accumulators Z0-Z7 and the m·S sum Z8 zeroed (with Z9-Z11).
#define Q16ROWSTART \
	MOVQ SI, R10 \
	MOVQ DI, R11 \
	MOVQ CX, R12 \
	ZERO_Z0_Z11

// Q41GROUP: group l's int32 sums for the 16 rows — the weight quad at wq broadcast
// (u8) times the rows' quads at aq (s8) — converted and added with the scale Z19
// into acc.
#define Q41GROUP(wq, aq, acc) \
	VPBROADCASTD wq, Z22 \
	VPXORD Z21, Z21, Z21 \
	VPDPBUSD aq, Z22, Z21 \
	VCVTDQ2PS Z21, Z21 \
	VFMADD231PS Z19, Z21, acc

// Q80GROUP: Q41GROUP for Q8_0, the sum started at the pack's −128·Σ(quad) at corr.
#define Q80GROUP(wq, corr, aq, acc) \
	VPBROADCASTD wq, Z22 \
	VMOVDQU32 corr, Z21 \
	VPDPBUSD aq, Z22, Z21 \
	VCVTDQ2PS Z21, Z21 \
	VFMADD231PS Z19, Z21, acc

// Q16ROWEND: QGemv's horizontal sum, ((a0+a4)+(a1+a5)) + ((a2+a6)+(a3+a7)), then + the
// m·S sum, stored as the row's 16 results; on to the next row.
#define Q16ROWEND \
	VADDPS Z4, Z0, Z0 \
	VADDPS Z5, Z1, Z1 \
	VADDPS Z6, Z2, Z2 \
	VADDPS Z7, Z3, Z3 \
	VADDPS Z1, Z0, Z0 \
	VADDPS Z3, Z2, Z2 \
	VADDPS Z2, Z0, Z0 \
	VADDPS Z8, Z0, Z0 \
	VMOVUPS Z0, (R9) \
	ADDQ $64, R9 \
	ADDQ DX, SI \
	DECQ R8

// func qgemm16Q4_1AVX512(nb int, w *byte, rowBytes int, rows int, p *byte, y *float32)
TEXT ·qgemm16Q4_1AVX512(SB), NOSPLIT, $32-48
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ rowBytes+16(FP), DX
	MOVQ rows+24(FP), R8
	MOVQ p+32(FP), DI
	MOVQ y+40(FP), R9
	MOVL $0x0F0F0F0F, AX
	VPBROADCASTD AX, Z31
q41r:
	Q16ROWSTART
q41b:
	// the block's 32 nibbles as bytes on the stack: groups 0-3 the low nibbles, 4-7 the high
	VMOVDQU32 4(R10), X16
	VPSRLW $4, X16, X17
	VPANDD X31, X16, X16
	VPANDD X31, X17, X17
	VMOVDQU32 X16, w-32(SP)
	VMOVDQU32 X17, w-16(SP)
	VMOVD (R10), X18
	VCVTPH2PS X18, X18           // d, m
	VBROADCASTSS X18, Z19
	VMULPS 1024(R11), Z19, Z19   // d·D of each row
	VMOVSHDUP X18, X20
	VBROADCASTSS X20, Z20
	VFMADD231PS 1088(R11), Z20, Z8 // + m·S
	Q41GROUP(w-32(SP), 0(R11), Z0)
	Q41GROUP(w-28(SP), 64(R11), Z1)
	Q41GROUP(w-24(SP), 128(R11), Z2)
	Q41GROUP(w-20(SP), 192(R11), Z3)
	Q41GROUP(w-16(SP), 256(R11), Z4)
	Q41GROUP(w-12(SP), 320(R11), Z5)
	Q41GROUP(w-8(SP), 384(R11), Z6)
	Q41GROUP(w-4(SP), 448(R11), Z7)
	ADDQ $20, R10
	ADDQ $1152, R11
	DECQ R12
	JNZ q41b
	Q16ROWEND
	JNZ q41r
	VZEROUPPER
	RET

// func qgemm16Q8_0AVX512(nb int, w *byte, rowBytes int, rows int, p *byte, y *float32)
TEXT ·qgemm16Q8_0AVX512(SB), NOSPLIT, $32-48
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ rowBytes+16(FP), DX
	MOVQ rows+24(FP), R8
	MOVQ p+32(FP), DI
	MOVQ y+40(FP), R9
	MOVL $0x80808080, AX
	VPBROADCASTD AX, Z31
q80r:
	Q16ROWSTART
q80b:
	// the block's 32 weights + 128 as unsigned bytes on the stack
	VMOVDQU32 2(R10), Y16
	VPXORD Y31, Y16, Y16
	VMOVDQU32 Y16, w-32(SP)
	MOVWLZX (R10), AX
	VMOVD AX, X18
	VCVTPH2PS X18, X18           // d
	VBROADCASTSS X18, Z19
	VMULPS 1024(R11), Z19, Z19   // d·D of each row
	Q80GROUP(w-32(SP), 512(R11), 0(R11), Z0)
	Q80GROUP(w-28(SP), 576(R11), 64(R11), Z1)
	Q80GROUP(w-24(SP), 640(R11), 128(R11), Z2)
	Q80GROUP(w-20(SP), 704(R11), 192(R11), Z3)
	Q80GROUP(w-16(SP), 768(R11), 256(R11), Z4)
	Q80GROUP(w-12(SP), 832(R11), 320(R11), Z5)
	Q80GROUP(w-8(SP), 896(R11), 384(R11), Z6)
	Q80GROUP(w-4(SP), 960(R11), 448(R11), Z7)
	ADDQ $34, R10
	ADDQ $1152, R11
	DECQ R12
	JNZ q80b
	Q16ROWEND
	JNZ q80r
	VZEROUPPER
	RET
