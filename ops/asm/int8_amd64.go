//go:build !purego

package asm

import (
	"math"

	"github.com/klauspost/cpuid/v2"
)

//go:noescape
func i8Kernel6x16VNNI(k4 int, a *uint8, lda int, b *int8, c *float32, ldc int, args *i8Args)

//go:noescape
func i8Kernel1x16VNNI(k4 int, a *uint8, b *int8, c *float32, args *i8Args)

//go:noescape
func i8Kernel6x32VNNI(k4 int, a *uint8, lda int, b *int8, pstride int, c *float32, ldc int, args *i8Args)

// i8Kernel6x32Arch runs the six-row, two-panel VNNI kernel (HasVNNI only).
func i8Kernel6x32Arch(k4 int, a []uint8, lda int, b []int8, c []float32, ldc int, args *i8Args) {
	i8Kernel6x32VNNI(k4, &a[0], lda, &b[0], 64*k4, &c[0], ldc, args)
}

//go:noescape
func i8Kernel1x64VNNI(k4 int, a *uint8, b *int8, pstride int, c *float32, args *i8Args)

// vnni: the AVX-512 level runs the AVX512-VNNI int8 kernels where the CPU has the
// extension (fixed at start-up, like the level), the AVX2 ones elsewhere.
var vnni = cpuid.CPU.Supports(cpuid.AVX512VNNI)

//go:noescape
func i8Kernel6x16AVX2(k4 int, a *uint8, lda int, b *int8, c *float32, ldc int, args *i8Args)

//go:noescape
func i8Kernel1x16AVX2(k4 int, a *uint8, b *int8, c *float32, args *i8Args)

//go:noescape
func i8Kernel1x64AVX2(k4 int, a *uint8, b *int8, pstride int, c *float32, args *i8Args)

func i8Gemv64Arch(l Level, k4 int, a []uint8, b []int8, pstride int, c []float32, args *i8Args) bool {
	if !i8Level(l) {
		return false
	}
	if HasVNNI(l) {
		i8Kernel1x64VNNI(k4, &a[0], &b[0], pstride, &c[0], args)
		return true
	}
	i8Kernel1x64AVX2(k4, &a[0], &b[0], pstride, &c[0], args)
	return true
}

//go:noescape
func i8MinMaxAVX2(n int, x *float32, out *[24]float32)

//go:noescape
func i8MinMaxAVX512(n int, x *float32, out *[3]float32)

//go:noescape
func i8QuantizeAVX512(n int, x *float32, dst *uint8, inv float32, zero int32)

//go:noescape
func i8QuantizeAVX2(n int, x *float32, dst *uint8, inv float32, zero int32)

// The AVX-512 level without VNNI runs the AVX2 int8 kernels.
func i8Level(l Level) bool { return l == AVX2 || l == AVX512 }

func i8KernelArch(l Level, mr, k4 int, a []uint8, lda int, b []int8, c []float32, ldc int, args *i8Args) bool {
	if !i8Level(l) {
		return false
	}
	if HasVNNI(l) {
		if mr == 1 {
			i8Kernel1x16VNNI(k4, &a[0], &b[0], &c[0], args)
		} else {
			i8Kernel6x16VNNI(k4, &a[0], lda, &b[0], &c[0], ldc, args)
		}
		return true
	}
	if mr == 1 {
		i8Kernel1x16AVX2(k4, &a[0], &b[0], &c[0], args)
	} else {
		i8Kernel6x16AVX2(k4, &a[0], lda, &b[0], &c[0], ldc, args)
	}
	return true
}

func i8MinMaxArch(l Level, x []float32) (done int, lo, hi float32) {
	if !i8Level(l) {
		return 0, 0, 0
	}
	if l == AVX512 && len(x) >= 64 {
		var out [3]float32
		done = len(x) &^ 63
		i8MinMaxAVX512(done, &x[0], &out)
		if out[2] != 0 {
			return done, out[0], float32(math.NaN())
		}
		return done, out[0], out[1]
	}
	var out [24]float32
	done = len(x) &^ 31
	i8MinMaxAVX2(done, &x[0], &out)
	lo, hi = i8Range(out[:16], out[16:])
	return done, lo, hi
}

// i8Range is the range of the kernels' lane minima and maxima, NaN where a NaN flag
// lane is set (all bits). Plain comparisons, not the builtin min and max: the lanes
// hold no NaN that matters, and the builtins' NaN and signed-zero handling cost more
// than the vector loop (a zero's sign cannot change the scale or the zero point).
func i8Range(lanes, nan []float32) (lo, hi float32) {
	for _, v := range lanes {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	for _, v := range nan {
		if v != 0 {
			return lo, float32(math.NaN())
		}
	}
	return lo, hi
}

func i8QuantizeArch(l Level, dst []uint8, x []float32, inv float32, zero int32) int {
	if !i8Level(l) {
		return 0
	}
	if l == AVX512 && len(x) >= 64 {
		done := len(x) &^ 63
		i8QuantizeAVX512(done, &x[0], &dst[0], inv, zero)
		return done
	}
	done := len(x) &^ 31
	i8QuantizeAVX2(done, &x[0], &dst[0], inv, zero)
	return done
}
