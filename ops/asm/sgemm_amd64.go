//go:build !purego

package asm

//go:noescape
func sgemm12x32AVX512(k int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func sgemm6x16AVX2(k int, a, b, c *float32, ldc int, alpha, beta float32)

// sgemmKernelArch runs the assembly kernel of level l, if there is one; it reports
// whether it did. Callers have checked the slice lengths and that k > 0.
func sgemmKernelArch(l Level, k int, a, b, c []float32, ldc int, alpha, beta float32) bool {
	switch l {
	case AVX512:
		sgemm12x32AVX512(k, &a[0], &b[0], &c[0], ldc, alpha, beta)
		return true
	case AVX2:
		sgemm6x16AVX2(k, &a[0], &b[0], &c[0], ldc, alpha, beta)
		return true
	}
	return false
}
