//go:build !purego

package asm

import "unsafe"

//go:noescape
func sgemm12x32AVX512(k int, a, b, c *float32, ldc int, alpha, beta float32, pf unsafe.Pointer)

//go:noescape
func sgemm8x32AVX512(k int, a, b, c *float32, ldc int, alpha, beta float32, pf unsafe.Pointer)

//go:noescape
func sgemm6x16AVX2(k int, a, b, c *float32, ldc int, alpha, beta float32, pf unsafe.Pointer)

//go:noescape
func sgemm4x16AVX2(k int, a, b, c *float32, ldc int, alpha, beta float32, pf unsafe.Pointer)

// sgemmShortArch runs level l's short kernel, if it has one.
func sgemmShortArch(l Level, k int, a, b, c []float32, ldc int, alpha, beta float32, pf unsafe.Pointer) bool {
	if pf == nil {
		pf = unsafe.Pointer(&b[0])
	}
	switch l {
	case AVX512:
		sgemm8x32AVX512(k, &a[0], &b[0], &c[0], ldc, alpha, beta, pf)
	case AVX2:
		sgemm4x16AVX2(k, &a[0], &b[0], &c[0], ldc, alpha, beta, pf)
	default:
		return false
	}
	return true
}

// sgemmKernelArch runs the assembly kernel of level l, if there is one; it reports
// whether it did. Callers have checked the slice lengths and that k > 0.
// pf, when not nil, is memory to prefetch while the kernel runs, a line per step.
func sgemmKernelArch(l Level, k int, a, b, c []float32, ldc int, alpha, beta float32, pf unsafe.Pointer) bool {
	if pf == nil {
		pf = unsafe.Pointer(&b[0])
	}
	switch l {
	case AVX512:
		sgemm12x32AVX512(k, &a[0], &b[0], &c[0], ldc, alpha, beta, pf)
	case AVX2:
		sgemm6x16AVX2(k, &a[0], &b[0], &c[0], ldc, alpha, beta, pf)
	default:
		return false
	}
	return true
}

//go:noescape
func packA12AVX512(k int, a *float32, lda int, dst *float32)

//go:noescape
func packA6AVX2(k int, a *float32, lda int, dst *float32)

// packAArch packs the leading columns of a whole MR-row panel (a multiple of 16 on
// AVX-512, of 8 on AVX2) and returns how many it packed.
func packAArch(l Level, k int, a []float32, lda int, dst []float32) int {
	switch {
	case l == AVX512 && k >= 16:
		packA12AVX512(k, &a[0], lda, &dst[0])
		return k &^ 15
	case l == AVX2 && k >= 8:
		packA6AVX2(k, &a[0], lda, &dst[0])
		return k &^ 7
	}
	return 0
}

//go:noescape
func packB32AVX512(k int, b *float32, ldb int, dst *float32, n int)

//go:noescape
func packB16AVX2(k int, b *float32, ldb int, dst *float32, n int)

func packBArch(l Level, k, n int, b []float32, ldb int, dst []float32) bool {
	switch l {
	case AVX512:
		packB32AVX512(k, &b[0], ldb, &dst[0], n)
	case AVX2:
		packB16AVX2(k, &b[0], ldb, &dst[0], n)
	default:
		return false
	}
	return true
}
