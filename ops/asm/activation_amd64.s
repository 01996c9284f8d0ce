//go:build !purego

#include "textflag.h"

// Vector exp and the activations built on it (AVX2 + FMA, 8 lanes). Same reduction,
// polynomial and clamps as the scalar twins in activation.go. Constants are 8-wide
// vectors so that they can be FMA memory operands.

DATA actc<>+0(SB)/4, $0x42b1999a
DATA actc<>+4(SB)/4, $0x42b1999a
DATA actc<>+8(SB)/4, $0x42b1999a
DATA actc<>+12(SB)/4, $0x42b1999a
DATA actc<>+16(SB)/4, $0x42b1999a
DATA actc<>+20(SB)/4, $0x42b1999a
DATA actc<>+24(SB)/4, $0x42b1999a
DATA actc<>+28(SB)/4, $0x42b1999a
DATA actc<>+32(SB)/4, $0xc2b1999a
DATA actc<>+36(SB)/4, $0xc2b1999a
DATA actc<>+40(SB)/4, $0xc2b1999a
DATA actc<>+44(SB)/4, $0xc2b1999a
DATA actc<>+48(SB)/4, $0xc2b1999a
DATA actc<>+52(SB)/4, $0xc2b1999a
DATA actc<>+56(SB)/4, $0xc2b1999a
DATA actc<>+60(SB)/4, $0xc2b1999a
DATA actc<>+64(SB)/4, $0x3fb8aa3b
DATA actc<>+68(SB)/4, $0x3fb8aa3b
DATA actc<>+72(SB)/4, $0x3fb8aa3b
DATA actc<>+76(SB)/4, $0x3fb8aa3b
DATA actc<>+80(SB)/4, $0x3fb8aa3b
DATA actc<>+84(SB)/4, $0x3fb8aa3b
DATA actc<>+88(SB)/4, $0x3fb8aa3b
DATA actc<>+92(SB)/4, $0x3fb8aa3b
DATA actc<>+96(SB)/4, $0x3f318000
DATA actc<>+100(SB)/4, $0x3f318000
DATA actc<>+104(SB)/4, $0x3f318000
DATA actc<>+108(SB)/4, $0x3f318000
DATA actc<>+112(SB)/4, $0x3f318000
DATA actc<>+116(SB)/4, $0x3f318000
DATA actc<>+120(SB)/4, $0x3f318000
DATA actc<>+124(SB)/4, $0x3f318000
DATA actc<>+128(SB)/4, $0xb95e8083
DATA actc<>+132(SB)/4, $0xb95e8083
DATA actc<>+136(SB)/4, $0xb95e8083
DATA actc<>+140(SB)/4, $0xb95e8083
DATA actc<>+144(SB)/4, $0xb95e8083
DATA actc<>+148(SB)/4, $0xb95e8083
DATA actc<>+152(SB)/4, $0xb95e8083
DATA actc<>+156(SB)/4, $0xb95e8083
DATA actc<>+160(SB)/4, $0x39506967
DATA actc<>+164(SB)/4, $0x39506967
DATA actc<>+168(SB)/4, $0x39506967
DATA actc<>+172(SB)/4, $0x39506967
DATA actc<>+176(SB)/4, $0x39506967
DATA actc<>+180(SB)/4, $0x39506967
DATA actc<>+184(SB)/4, $0x39506967
DATA actc<>+188(SB)/4, $0x39506967
DATA actc<>+192(SB)/4, $0x3ab743ce
DATA actc<>+196(SB)/4, $0x3ab743ce
DATA actc<>+200(SB)/4, $0x3ab743ce
DATA actc<>+204(SB)/4, $0x3ab743ce
DATA actc<>+208(SB)/4, $0x3ab743ce
DATA actc<>+212(SB)/4, $0x3ab743ce
DATA actc<>+216(SB)/4, $0x3ab743ce
DATA actc<>+220(SB)/4, $0x3ab743ce
DATA actc<>+224(SB)/4, $0x3c088908
DATA actc<>+228(SB)/4, $0x3c088908
DATA actc<>+232(SB)/4, $0x3c088908
DATA actc<>+236(SB)/4, $0x3c088908
DATA actc<>+240(SB)/4, $0x3c088908
DATA actc<>+244(SB)/4, $0x3c088908
DATA actc<>+248(SB)/4, $0x3c088908
DATA actc<>+252(SB)/4, $0x3c088908
DATA actc<>+256(SB)/4, $0x3d2aa9c1
DATA actc<>+260(SB)/4, $0x3d2aa9c1
DATA actc<>+264(SB)/4, $0x3d2aa9c1
DATA actc<>+268(SB)/4, $0x3d2aa9c1
DATA actc<>+272(SB)/4, $0x3d2aa9c1
DATA actc<>+276(SB)/4, $0x3d2aa9c1
DATA actc<>+280(SB)/4, $0x3d2aa9c1
DATA actc<>+284(SB)/4, $0x3d2aa9c1
DATA actc<>+288(SB)/4, $0x3e2aaaaa
DATA actc<>+292(SB)/4, $0x3e2aaaaa
DATA actc<>+296(SB)/4, $0x3e2aaaaa
DATA actc<>+300(SB)/4, $0x3e2aaaaa
DATA actc<>+304(SB)/4, $0x3e2aaaaa
DATA actc<>+308(SB)/4, $0x3e2aaaaa
DATA actc<>+312(SB)/4, $0x3e2aaaaa
DATA actc<>+316(SB)/4, $0x3e2aaaaa
DATA actc<>+320(SB)/4, $0x3f000000
DATA actc<>+324(SB)/4, $0x3f000000
DATA actc<>+328(SB)/4, $0x3f000000
DATA actc<>+332(SB)/4, $0x3f000000
DATA actc<>+336(SB)/4, $0x3f000000
DATA actc<>+340(SB)/4, $0x3f000000
DATA actc<>+344(SB)/4, $0x3f000000
DATA actc<>+348(SB)/4, $0x3f000000
DATA actc<>+352(SB)/4, $0x3f800000
DATA actc<>+356(SB)/4, $0x3f800000
DATA actc<>+360(SB)/4, $0x3f800000
DATA actc<>+364(SB)/4, $0x3f800000
DATA actc<>+368(SB)/4, $0x3f800000
DATA actc<>+372(SB)/4, $0x3f800000
DATA actc<>+376(SB)/4, $0x3f800000
DATA actc<>+380(SB)/4, $0x3f800000
DATA actc<>+384(SB)/4, $0x0000007e
DATA actc<>+388(SB)/4, $0x0000007e
DATA actc<>+392(SB)/4, $0x0000007e
DATA actc<>+396(SB)/4, $0x0000007e
DATA actc<>+400(SB)/4, $0x0000007e
DATA actc<>+404(SB)/4, $0x0000007e
DATA actc<>+408(SB)/4, $0x0000007e
DATA actc<>+412(SB)/4, $0x0000007e
DATA actc<>+416(SB)/4, $0x00000000
DATA actc<>+420(SB)/4, $0x00000000
DATA actc<>+424(SB)/4, $0x00000000
DATA actc<>+428(SB)/4, $0x00000000
DATA actc<>+432(SB)/4, $0x00000000
DATA actc<>+436(SB)/4, $0x00000000
DATA actc<>+440(SB)/4, $0x00000000
DATA actc<>+444(SB)/4, $0x00000000
DATA actc<>+448(SB)/4, $0x000000fe
DATA actc<>+452(SB)/4, $0x000000fe
DATA actc<>+456(SB)/4, $0x000000fe
DATA actc<>+460(SB)/4, $0x000000fe
DATA actc<>+464(SB)/4, $0x000000fe
DATA actc<>+468(SB)/4, $0x000000fe
DATA actc<>+472(SB)/4, $0x000000fe
DATA actc<>+476(SB)/4, $0x000000fe
DATA actc<>+480(SB)/4, $0x3d372713
DATA actc<>+484(SB)/4, $0x3d372713
DATA actc<>+488(SB)/4, $0x3d372713
DATA actc<>+492(SB)/4, $0x3d372713
DATA actc<>+496(SB)/4, $0x3d372713
DATA actc<>+500(SB)/4, $0x3d372713
DATA actc<>+504(SB)/4, $0x3d372713
DATA actc<>+508(SB)/4, $0x3d372713
DATA actc<>+512(SB)/4, $0xbfcc422a
DATA actc<>+516(SB)/4, $0xbfcc422a
DATA actc<>+520(SB)/4, $0xbfcc422a
DATA actc<>+524(SB)/4, $0xbfcc422a
DATA actc<>+528(SB)/4, $0xbfcc422a
DATA actc<>+532(SB)/4, $0xbfcc422a
DATA actc<>+536(SB)/4, $0xbfcc422a
DATA actc<>+540(SB)/4, $0xbfcc422a
DATA actc<>+544(SB)/4, $0x3f3504f3
DATA actc<>+548(SB)/4, $0x3f3504f3
DATA actc<>+552(SB)/4, $0x3f3504f3
DATA actc<>+556(SB)/4, $0x3f3504f3
DATA actc<>+560(SB)/4, $0x3f3504f3
DATA actc<>+564(SB)/4, $0x3f3504f3
DATA actc<>+568(SB)/4, $0x3f3504f3
DATA actc<>+572(SB)/4, $0x3f3504f3
DATA actc<>+576(SB)/4, $0x7fffffff
DATA actc<>+580(SB)/4, $0x7fffffff
DATA actc<>+584(SB)/4, $0x7fffffff
DATA actc<>+588(SB)/4, $0x7fffffff
DATA actc<>+592(SB)/4, $0x7fffffff
DATA actc<>+596(SB)/4, $0x7fffffff
DATA actc<>+600(SB)/4, $0x7fffffff
DATA actc<>+604(SB)/4, $0x7fffffff
DATA actc<>+608(SB)/4, $0x80000000
DATA actc<>+612(SB)/4, $0x80000000
DATA actc<>+616(SB)/4, $0x80000000
DATA actc<>+620(SB)/4, $0x80000000
DATA actc<>+624(SB)/4, $0x80000000
DATA actc<>+628(SB)/4, $0x80000000
DATA actc<>+632(SB)/4, $0x80000000
DATA actc<>+636(SB)/4, $0x80000000
DATA actc<>+640(SB)/4, $0x3ea7ba05
DATA actc<>+644(SB)/4, $0x3ea7ba05
DATA actc<>+648(SB)/4, $0x3ea7ba05
DATA actc<>+652(SB)/4, $0x3ea7ba05
DATA actc<>+656(SB)/4, $0x3ea7ba05
DATA actc<>+660(SB)/4, $0x3ea7ba05
DATA actc<>+664(SB)/4, $0x3ea7ba05
DATA actc<>+668(SB)/4, $0x3ea7ba05
DATA actc<>+672(SB)/4, $0x3e827906
DATA actc<>+676(SB)/4, $0x3e827906
DATA actc<>+680(SB)/4, $0x3e827906
DATA actc<>+684(SB)/4, $0x3e827906
DATA actc<>+688(SB)/4, $0x3e827906
DATA actc<>+692(SB)/4, $0x3e827906
DATA actc<>+696(SB)/4, $0x3e827906
DATA actc<>+700(SB)/4, $0x3e827906
DATA actc<>+704(SB)/4, $0xbe91a98e
DATA actc<>+708(SB)/4, $0xbe91a98e
DATA actc<>+712(SB)/4, $0xbe91a98e
DATA actc<>+716(SB)/4, $0xbe91a98e
DATA actc<>+720(SB)/4, $0xbe91a98e
DATA actc<>+724(SB)/4, $0xbe91a98e
DATA actc<>+728(SB)/4, $0xbe91a98e
DATA actc<>+732(SB)/4, $0xbe91a98e
DATA actc<>+736(SB)/4, $0x3fb5f0e3
DATA actc<>+740(SB)/4, $0x3fb5f0e3
DATA actc<>+744(SB)/4, $0x3fb5f0e3
DATA actc<>+748(SB)/4, $0x3fb5f0e3
DATA actc<>+752(SB)/4, $0x3fb5f0e3
DATA actc<>+756(SB)/4, $0x3fb5f0e3
DATA actc<>+760(SB)/4, $0x3fb5f0e3
DATA actc<>+764(SB)/4, $0x3fb5f0e3
DATA actc<>+768(SB)/4, $0xbfba00e3
DATA actc<>+772(SB)/4, $0xbfba00e3
DATA actc<>+776(SB)/4, $0xbfba00e3
DATA actc<>+780(SB)/4, $0xbfba00e3
DATA actc<>+784(SB)/4, $0xbfba00e3
DATA actc<>+788(SB)/4, $0xbfba00e3
DATA actc<>+792(SB)/4, $0xbfba00e3
DATA actc<>+796(SB)/4, $0xbfba00e3
DATA actc<>+800(SB)/4, $0x3f87dc22
DATA actc<>+804(SB)/4, $0x3f87dc22
DATA actc<>+808(SB)/4, $0x3f87dc22
DATA actc<>+812(SB)/4, $0x3f87dc22
DATA actc<>+816(SB)/4, $0x3f87dc22
DATA actc<>+820(SB)/4, $0x3f87dc22
DATA actc<>+824(SB)/4, $0x3f87dc22
DATA actc<>+828(SB)/4, $0x3f87dc22
DATA actc<>+832(SB)/4, $0x3f000000
DATA actc<>+836(SB)/4, $0x3f000000
DATA actc<>+840(SB)/4, $0x3f000000
DATA actc<>+844(SB)/4, $0x3f000000
DATA actc<>+848(SB)/4, $0x3f000000
DATA actc<>+852(SB)/4, $0x3f000000
DATA actc<>+856(SB)/4, $0x3f000000
DATA actc<>+860(SB)/4, $0x3f000000
GLOBL actc<>(SB), RODATA|NOPTR, $864

// EXP replaces Y0 by e^Y0, using Y1-Y3. NaN stays NaN: the clamps take x as the
// second source, which VMINPS/VMAXPS return when an operand is NaN.
#define EXP \
	VMINPS Y0, Y8, Y0 \
	VMAXPS Y0, Y9, Y0 \
	VMULPS actc<>+64(SB), Y0, Y1 \
	VROUNDPS $0, Y1, Y1 \
	VFNMADD231PS actc<>+96(SB), Y1, Y0 \
	VFNMADD231PS actc<>+128(SB), Y1, Y0 \
	VMOVUPS actc<>+160(SB), Y2 \
	VFMADD213PS actc<>+192(SB), Y0, Y2 \
	VFMADD213PS actc<>+224(SB), Y0, Y2 \
	VFMADD213PS actc<>+256(SB), Y0, Y2 \
	VFMADD213PS actc<>+288(SB), Y0, Y2 \
	VFMADD213PS actc<>+320(SB), Y0, Y2 \
	VMULPS Y0, Y0, Y3 \
	VFMADD213PS Y0, Y3, Y2 \
	VADDPS actc<>+352(SB), Y2, Y2 \
	VCVTPS2DQ Y1, Y1 \
	VPADDD actc<>+384(SB), Y1, Y1 \
	VPMAXSD actc<>+416(SB), Y1, Y1 \
	VPMINSD actc<>+448(SB), Y1, Y1 \
	VPSLLD $23, Y1, Y1 \
	VMULPS Y1, Y2, Y0 \
	VADDPS Y0, Y0, Y0

#define LOADCLAMPS \
	VMOVUPS actc<>+0(SB), Y8 \
	VMOVUPS actc<>+32(SB), Y9

// func geluTanhAVX2(x *float32, n int)
TEXT ·geluTanhAVX2(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	LOADCLAMPS
	SHRQ $3, CX
	JEQ gt_done
gt_loop:
	VMOVUPS (DI), Y4
	VMULPS Y4, Y4, Y0
	VMULPS actc<>+480(SB), Y0, Y0
	VFMADD213PS Y4, Y4, Y0
	VMULPS actc<>+512(SB), Y0, Y0
	EXP
	VADDPS actc<>+352(SB), Y0, Y0
	VDIVPS Y0, Y4, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	DECQ CX
	JNZ gt_loop
gt_done:
	VZEROUPPER
	RET

// func geluErfAVX2(x *float32, n int)
TEXT ·geluErfAVX2(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	LOADCLAMPS
	SHRQ $3, CX
	JEQ ge_done
ge_loop:
	VMOVUPS (DI), Y4
	VMULPS actc<>+544(SB), Y4, Y5
	VANDPS actc<>+576(SB), Y5, Y6
	VMOVUPS actc<>+640(SB), Y7
	VFMADD213PS actc<>+352(SB), Y6, Y7
	VMOVUPS actc<>+352(SB), Y10
	VDIVPS Y7, Y10, Y7
	VMOVUPS actc<>+800(SB), Y11
	VFMADD213PS actc<>+768(SB), Y7, Y11
	VFMADD213PS actc<>+736(SB), Y7, Y11
	VFMADD213PS actc<>+704(SB), Y7, Y11
	VFMADD213PS actc<>+672(SB), Y7, Y11
	VMULPS Y7, Y11, Y11
	VMULPS Y6, Y6, Y0
	VXORPS actc<>+608(SB), Y0, Y0
	EXP
	// 1 + erf(z) = erfc(|z|) = y·e for z < 0 (no cancellation), 2 − y·e otherwise.
	VMULPS Y11, Y0, Y0
	VMOVUPS actc<>+352(SB), Y1
	VADDPS Y1, Y1, Y1
	VSUBPS Y0, Y1, Y1
	VBLENDVPS Y5, Y0, Y1, Y0
	VMULPS actc<>+832(SB), Y4, Y4
	VMULPS Y4, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	DECQ CX
	JNZ ge_loop
ge_done:
	VZEROUPPER
	RET

// func expSubSumAVX2(x *float32, n int, m float32) float32
TEXT ·expSubSumAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS m+16(FP), Y13
	VXORPS Y14, Y14, Y14
	LOADCLAMPS
	SHRQ $3, CX
	JEQ es_done
es_loop:
	VMOVUPS (DI), Y0
	VSUBPS Y13, Y0, Y0
	EXP
	VMOVUPS Y0, (DI)
	VADDPS Y0, Y14, Y14
	ADDQ $32, DI
	DECQ CX
	JNZ es_loop
es_done:
	VEXTRACTF128 $1, Y14, X15
	VADDPS X15, X14, X14
	VHADDPS X14, X14, X14
	VHADDPS X14, X14, X14
	VZEROUPPER
	MOVSS X14, ret+24(FP)
	RET

// Largest value of the first n (a multiple of 8) values, and whether one is NaN:
// out[0:8] lane maxima (from -Inf), out[8:16] non-zero where a NaN was.
// func maxNaNAVX2(x *float32, n int, out *[16]float32)
TEXT ·maxNaNAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ out+16(FP), SI
	MOVL $0xff800000, AX // -Inf
	MOVQ AX, X0
	VBROADCASTSS X0, Y0
	VXORPS Y2, Y2, Y2
	SHRQ $3, CX
	JEQ mx_done
mx_loop:
	VMOVUPS (DI), Y1
	VCMPPS $3, Y1, Y1, Y3
	VORPS Y3, Y2, Y2
	VMAXPS Y1, Y0, Y0
	ADDQ $32, DI
	DECQ CX
	JNZ mx_loop
mx_done:
	VMOVUPS Y0, (SI)
	VMOVUPS Y2, 32(SI)
	VZEROUPPER
	RET

// x[i] *= s for the first n (a multiple of 8) values.
// dst[i] = a[i] + b[i] for the first n (a multiple of 8) values.
// func addAVX2(dst, a, b *float32, n int)
TEXT ·addAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	JEQ add_done
add_loop:
	VMOVUPS (SI), Y0
	VADDPS (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	DECQ CX
	JNZ add_loop
add_done:
	VZEROUPPER
	RET

// func scaleAVX2(x *float32, n int, s float32)
TEXT ·scaleAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS s+16(FP), Y1
	SHRQ $3, CX
	JEQ sc_done
sc_loop:
	VMULPS (DI), Y1, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	DECQ CX
	JNZ sc_loop
sc_done:
	VZEROUPPER
	RET

// Sum in float64 of the first n (a multiple of 8) values, and of their squared
// deviations from mean: out[0] = Σ x, out[1] = Σ (x − mean)² (with mean given).
// func sumsF64AVX2(x *float32, n int, mean float64, out *[2]float64)
TEXT ·sumsF64AVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSD mean+16(FP), Y7
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	SHRQ $3, CX
	JEQ sf_done
sf_loop:
	VCVTPS2PD (DI), Y0
	VCVTPS2PD 16(DI), Y1
	VADDPD Y0, Y4, Y4
	VADDPD Y1, Y4, Y4
	VSUBPD Y7, Y0, Y0
	VSUBPD Y7, Y1, Y1
	VMULPD Y0, Y0, Y0
	VMULPD Y1, Y1, Y1
	VADDPD Y0, Y5, Y5
	VADDPD Y1, Y5, Y5
	ADDQ $32, DI
	DECQ CX
	JNZ sf_loop
sf_done:
	VEXTRACTF128 $1, Y4, X0
	VADDPD X0, X4, X4
	VHADDPD X4, X4, X4
	VEXTRACTF128 $1, Y5, X1
	VADDPD X1, X5, X5
	VHADDPD X5, X5, X5
	MOVQ out+24(FP), SI
	MOVSD X4, (SI)
	MOVSD X5, 8(SI)
	VZEROUPPER
	RET

// dst[i] = (x[i] − m)·inv·gamma[i] + beta[i] for the first n (a multiple of 8), each
// operation rounded to float32 as the Go loop does.
// func normAffineAVX2(dst, x, gamma, beta *float32, n int, m, inv float32)
TEXT ·normAffineAVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ gamma+16(FP), R8
	MOVQ beta+24(FP), R9
	MOVQ n+32(FP), CX
	VBROADCASTSS m+40(FP), Y6
	VBROADCASTSS inv+44(FP), Y7
	SHRQ $3, CX
	JEQ na_done
na_loop:
	VMOVUPS (SI), Y0
	VSUBPS Y6, Y0, Y0
	VMULPS Y7, Y0, Y0
	VMULPS (R8), Y0, Y0
	VADDPS (R9), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, R8
	ADDQ $32, R9
	DECQ CX
	JNZ na_loop
na_done:
	VZEROUPPER
	RET

// AVX-512 versions (16 lanes): the same reduction, polynomial and clamps, constants
// broadcast from the first lane of each actc vector. Every loop runs under the mask
// K1 of the lanes still to do (MASK16), so a length that is not a multiple of 16
// needs no scalar tail; masked-off lanes are neither read nor written.

// MASK16 sets K1 to the low min(BX, 16) lanes; clobbers AX, CX.
#define MASK16 \
	MOVQ $16, CX \
	CMPQ BX, CX \
	CMOVQLT BX, CX \
	MOVL $1, AX \
	SHLL CX, AX \
	DECL AX \
	KMOVW AX, K1

// EXP512 replaces Z0 by e^Z0, using Z1-Z3 (clamps in Z8, Z9), as EXP does.
#define EXP512 \
	VMINPS Z0, Z8, Z0 \
	VMAXPS Z0, Z9, Z0 \
	VMULPS.BCST actc<>+64(SB), Z0, Z1 \
	VRNDSCALEPS $0, Z1, Z1 \
	VFNMADD231PS.BCST actc<>+96(SB), Z1, Z0 \
	VFNMADD231PS.BCST actc<>+128(SB), Z1, Z0 \
	VBROADCASTSS actc<>+160(SB), Z2 \
	VFMADD213PS.BCST actc<>+192(SB), Z0, Z2 \
	VFMADD213PS.BCST actc<>+224(SB), Z0, Z2 \
	VFMADD213PS.BCST actc<>+256(SB), Z0, Z2 \
	VFMADD213PS.BCST actc<>+288(SB), Z0, Z2 \
	VFMADD213PS.BCST actc<>+320(SB), Z0, Z2 \
	VMULPS Z0, Z0, Z3 \
	VFMADD213PS Z0, Z3, Z2 \
	VADDPS.BCST actc<>+352(SB), Z2, Z2 \
	VCVTPS2DQ Z1, Z1 \
	VPADDD.BCST actc<>+384(SB), Z1, Z1 \
	VPMAXSD.BCST actc<>+416(SB), Z1, Z1 \
	VPMINSD.BCST actc<>+448(SB), Z1, Z1 \
	VPSLLD $23, Z1, Z1 \
	VMULPS Z1, Z2, Z0 \
	VADDPS Z0, Z0, Z0

#define LOADCLAMPS512 \
	VBROADCASTSS actc<>+0(SB), Z8 \
	VBROADCASTSS actc<>+32(SB), Z9

// The callers pass n > 0.

// func geluTanhAVX512(x *float32, n int)
TEXT ·geluTanhAVX512(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), BX
	LOADCLAMPS512
gt512_loop:
	MASK16
	VMOVUPS.Z (DI), K1, Z4
	VMULPS Z4, Z4, Z0
	VMULPS.BCST actc<>+480(SB), Z0, Z0
	VFMADD213PS Z4, Z4, Z0
	VMULPS.BCST actc<>+512(SB), Z0, Z0
	EXP512
	VADDPS.BCST actc<>+352(SB), Z0, Z0
	VDIVPS Z0, Z4, Z0
	VMOVUPS Z0, K1, (DI)
	ADDQ $64, DI
	SUBQ $16, BX
	JGT gt512_loop
	VZEROUPPER
	RET

// func geluErfAVX512(x *float32, n int)
TEXT ·geluErfAVX512(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), BX
	LOADCLAMPS512
	VBROADCASTSS actc<>+352(SB), Z10 // 1
ge512_loop:
	MASK16
	VMOVUPS.Z (DI), K1, Z4
	VMULPS.BCST actc<>+544(SB), Z4, Z5
	VANDPS.BCST actc<>+576(SB), Z5, Z6
	VBROADCASTSS actc<>+640(SB), Z7
	VFMADD213PS Z10, Z6, Z7
	VDIVPS Z7, Z10, Z7
	VBROADCASTSS actc<>+800(SB), Z11
	VFMADD213PS.BCST actc<>+768(SB), Z7, Z11
	VFMADD213PS.BCST actc<>+736(SB), Z7, Z11
	VFMADD213PS.BCST actc<>+704(SB), Z7, Z11
	VFMADD213PS.BCST actc<>+672(SB), Z7, Z11
	VMULPS Z7, Z11, Z11
	VMULPS Z6, Z6, Z0
	VXORPS.BCST actc<>+608(SB), Z0, Z0
	EXP512
	// 1 + erf(z) = erfc(|z|) = y·e for z < 0 (no cancellation), 2 − y·e otherwise.
	VMULPS Z11, Z0, Z0
	VADDPS Z10, Z10, Z1
	VSUBPS Z0, Z1, Z1
	VPMOVD2M Z5, K2
	VMOVAPS Z0, K2, Z1
	VMULPS.BCST actc<>+832(SB), Z4, Z4
	VMULPS Z4, Z1, Z0
	VMOVUPS Z0, K1, (DI)
	ADDQ $64, DI
	SUBQ $16, BX
	JGT ge512_loop
	VZEROUPPER
	RET

// func expSubSumAVX512(x *float32, n int, m float32) float32
TEXT ·expSubSumAVX512(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), BX
	VBROADCASTSS m+16(FP), Z13
	VPXORD Z14, Z14, Z14
	LOADCLAMPS512
es512_loop:
	MASK16
	VMOVUPS.Z (DI), K1, Z0
	VSUBPS Z13, Z0, Z0
	EXP512
	VMOVUPS Z0, K1, (DI)
	VADDPS Z0, Z14, K1, Z14
	ADDQ $64, DI
	SUBQ $16, BX
	JGT es512_loop
	VEXTRACTF32X8 $1, Z14, Y15
	VADDPS Y15, Y14, Y14
	VEXTRACTF128 $1, Y14, X15
	VADDPS X15, X14, X14
	VHADDPS X14, X14, X14
	VHADDPS X14, X14, X14
	VZEROUPPER
	MOVSS X14, ret+24(FP)
	RET

// Largest of the n values in out[0:16] (lane maxima from -Inf); returns non-zero
// when one of them is NaN.
// func maxNaNAVX512(x *float32, n int, out *[16]float32) int
TEXT ·maxNaNAVX512(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), BX
	MOVQ out+16(FP), SI
	MOVL $0xff800000, AX // -Inf
	VPBROADCASTD AX, Z0
	KXORW K3, K3, K3
mx512_loop:
	MASK16
	VMOVUPS.Z (DI), K1, Z1
	VCMPPS $3, Z1, Z1, K1, K2
	KORW K2, K3, K3
	VMAXPS Z1, Z0, K1, Z0
	ADDQ $64, DI
	SUBQ $16, BX
	JGT mx512_loop
	VMOVUPS Z0, (SI)
	KMOVW K3, AX
	MOVQ AX, ret+24(FP)
	VZEROUPPER
	RET

// x[i] *= s for the n values.
// dst[i] = a[i] + b[i] for the n > 0 values (the last 16 masked).
// func addAVX512(dst, a, b *float32, n int)
TEXT ·addAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), BX
add512_loop:
	MASK16
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z (DX), K1, Z1
	VADDPS Z1, Z0, Z0
	VMOVUPS Z0, K1, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	ADDQ $64, DX
	SUBQ $16, BX
	JGT add512_loop
	VZEROUPPER
	RET

// c[r·ldc + j] += v[j] for r < rows, j < n (rows, n > 0; the last lanes of a row masked).
// func addRowsAVX512(c *float32, ldc, rows int, v *float32, n int)
TEXT ·addRowsAVX512(SB), NOSPLIT, $0-40
	MOVQ c+0(FP), DI
	MOVQ ldc+8(FP), R8
	SHLQ $2, R8
	MOVQ rows+16(FP), R9
	MOVQ v+24(FP), R10
	MOVQ n+32(FP), R11
addrows_row:
	MOVQ DI, R12
	MOVQ R10, SI
	MOVQ R11, BX
addrows_loop:
	MASK16
	VMOVUPS.Z (R12), K1, Z0
	VMOVUPS.Z (SI), K1, Z1
	VADDPS Z1, Z0, Z0
	VMOVUPS Z0, K1, (R12)
	ADDQ $64, R12
	ADDQ $64, SI
	SUBQ $16, BX
	JGT addrows_loop
	ADDQ R8, DI
	DECQ R9
	JNZ addrows_row
	VZEROUPPER
	RET

// func scaleAVX512(x *float32, n int, s float32)
TEXT ·scaleAVX512(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), BX
	VBROADCASTSS s+16(FP), Z1
sc512_loop:
	MASK16
	VMOVUPS.Z (DI), K1, Z0
	VMULPS Z1, Z0, Z0
	VMOVUPS Z0, K1, (DI)
	ADDQ $64, DI
	SUBQ $16, BX
	JGT sc512_loop
	VZEROUPPER
	RET

// As sumsF64AVX2, for the n values: out[0] = Σ x, out[1] = Σ (x − mean)².
// func sumsF64AVX512(x *float32, n int, mean float64, out *[2]float64)
TEXT ·sumsF64AVX512(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), BX
	VBROADCASTSD mean+16(FP), Z7
	VPXORQ Z4, Z4, Z4
	VPXORQ Z5, Z5, Z5
sf512_loop:
	MASK16
	KSHIFTRW $8, K1, K3
	VCVTPS2PD.Z (DI), K1, Z0
	VCVTPS2PD.Z 32(DI), K3, Z1
	VADDPD Z0, Z4, Z4
	VADDPD Z1, Z4, Z4
	VSUBPD.Z Z7, Z0, K1, Z0
	VSUBPD.Z Z7, Z1, K3, Z1
	VMULPD Z0, Z0, Z0
	VMULPD Z1, Z1, Z1
	VADDPD Z0, Z5, Z5
	VADDPD Z1, Z5, Z5
	ADDQ $64, DI
	SUBQ $16, BX
	JGT sf512_loop
	VEXTRACTF64X4 $1, Z4, Y0
	VADDPD Y0, Y4, Y4
	VEXTRACTF128 $1, Y4, X0
	VADDPD X0, X4, X4
	VHADDPD X4, X4, X4
	VEXTRACTF64X4 $1, Z5, Y1
	VADDPD Y1, Y5, Y5
	VEXTRACTF128 $1, Y5, X1
	VADDPD X1, X5, X5
	VHADDPD X5, X5, X5
	MOVQ out+24(FP), SI
	MOVSD X4, (SI)
	MOVSD X5, 8(SI)
	VZEROUPPER
	RET

// As normAffineAVX2, for the n values.
// func normAffineAVX512(dst, x, gamma, beta *float32, n int, m, inv float32)
TEXT ·normAffineAVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ gamma+16(FP), R8
	MOVQ beta+24(FP), R9
	MOVQ n+32(FP), BX
	VBROADCASTSS m+40(FP), Z6
	VBROADCASTSS inv+44(FP), Z7
na512_loop:
	MASK16
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z (R8), K1, Z2
	VMOVUPS.Z (R9), K1, Z3
	VSUBPS Z6, Z0, Z0
	VMULPS Z7, Z0, Z0
	VMULPS Z2, Z0, Z0
	VADDPS Z3, Z0, Z0
	VMOVUPS Z0, K1, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $64, R8
	ADDQ $64, R9
	SUBQ $16, BX
	JGT na512_loop
	VZEROUPPER
	RET

// func siluMulAVX2(gate, up *float32, n int)
// g[i] = g[i] / (1 + e^(−g[i])) · u[i] (SwiGLU), 8 at a time (the caller passes a
// multiple of 8).
TEXT ·siluMulAVX2(SB), NOSPLIT, $0-24
	MOVQ gate+0(FP), DI
	MOVQ up+8(FP), SI
	MOVQ n+16(FP), CX
	LOADCLAMPS
	MOVL $0x80000000, AX
	VMOVD AX, X10
	VPBROADCASTD X10, Y10
	SHRQ $3, CX
	JEQ sm_done
sm_loop:
	VMOVUPS (DI), Y4
	VXORPS Y10, Y4, Y0
	EXP
	VADDPS actc<>+352(SB), Y0, Y0
	VDIVPS Y0, Y4, Y0
	VMULPS (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	DECQ CX
	JNZ sm_loop
sm_done:
	VZEROUPPER
	RET

// func siluMulAVX512(gate, up *float32, n int)
TEXT ·siluMulAVX512(SB), NOSPLIT, $0-24
	MOVQ gate+0(FP), DI
	MOVQ up+8(FP), SI
	MOVQ n+16(FP), BX
	LOADCLAMPS512
	MOVL $0x80000000, AX
	VPBROADCASTD AX, Z10
sm512_loop:
	MASK16
	VMOVUPS.Z (DI), K1, Z4
	VMOVUPS.Z (SI), K1, Z5
	VXORPS Z10, Z4, Z0
	EXP512
	VADDPS.BCST actc<>+352(SB), Z0, Z0
	VDIVPS Z0, Z4, Z0
	VMULPS Z5, Z0, Z0
	VMOVUPS Z0, K1, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	SUBQ $16, BX
	JGT sm512_loop
	VZEROUPPER
	RET
