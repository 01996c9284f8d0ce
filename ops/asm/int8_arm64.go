//go:build !purego

package asm

import (
	"unsafe"

	"github.com/klauspost/cpuid/v2"
)

//go:noescape
func i8Kernel6x16SDOT(k16 int, a *uint8, lda int, b *int8, acc *int32)

//go:noescape
func i8Kernel1x16SDOT(k16 int, a *uint8, b *int8, acc *int32)

// hasDotProd is whether this CPU has SDOT (FEAT_DotProd), fixed at start-up.
var hasDotProd = cpuid.CPU.Supports(cpuid.ASIMDDP)

// i8KernelArch runs the tile with SDOT on whole blocks of four groups; the last
// groups and the epilogue are the twin's code, so the result is the twin's bits. The
// quantisation has no NEON assembly.
func i8KernelArch(l Level, mr, k4 int, a []uint8, lda int, b []int8, c []float32, ldc int, args *i8Args) bool {
	if l != NEON || !hasDotProd || k4 < 4 {
		return false
	}
	var acc [I8MR * 16]int32
	k16 := k4 / 4
	if mr == 1 {
		i8Kernel1x16SDOT(k16, &a[0], &b[0], &acc[0])
	} else {
		i8Kernel6x16SDOT(k16, &a[0], lda, &b[0], &acc[0])
	}
	i8Accumulate(&acc, mr, 4*k16, k4, a, lda, b)
	i8Epilogue(&acc, mr, c, ldc, args)
	return true
}

// i8Gemv64Arch runs the four panels as four one-row tiles.
func i8Gemv64Arch(l Level, k4 int, a []uint8, b []int8, pstride int, c []float32, args *i8Args) bool {
	if l != NEON || !hasDotProd || k4 < 4 {
		return false
	}
	for q := range 4 {
		sub := *args
		if sub.raw == 0 {
			sub.colScale = (*float32)(unsafe.Add(unsafe.Pointer(args.colScale), 64*q))
			sub.colSum = (*float32)(unsafe.Add(unsafe.Pointer(args.colSum), 64*q))
			sub.bias = (*float32)(unsafe.Add(unsafe.Pointer(args.bias), 64*q))
		}
		i8KernelArch(l, 1, k4, a, 4*k4, b[q*pstride:], c[16*q:], 16, &sub)
	}
	return true
}

func i8MinMaxArch(l Level, x []float32) (done int, lo, hi float32) { return 0, 0, 0 }

func i8QuantizeArch(l Level, dst []uint8, x []float32, inv float32, zero int32) int { return 0 }

const vnni = false
