//go:build !purego

package asm

import "unsafe"

//go:noescape
func sgemm8x8NEON(k int, a, b, c *float32, ldc int, alpha, beta float32)

// sgemmKernelArch runs the assembly kernel of level l, if there is one; it reports
// whether it did. Callers have checked the slice lengths and that k > 0.
func sgemmKernelArch(l Level, k int, a, b, c []float32, ldc int, alpha, beta float32, _ unsafe.Pointer) bool {
	if l == NEON {
		sgemm8x8NEON(k, &a[0], &b[0], &c[0], ldc, alpha, beta)
		return true
	}
	return false
}

func sgemmShortArch(l Level, k int, a, b, c []float32, ldc int, alpha, beta float32, pf unsafe.Pointer) bool {
	return false
}

func packAArch(Level, int, []float32, int, []float32) int { return 0 }

func packBArch(Level, int, int, []float32, int, []float32) bool { return false }
