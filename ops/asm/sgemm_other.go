//go:build purego || !(amd64 || arm64)

package asm

import "unsafe"

func sgemmKernelArch(l Level, k int, a, b, c []float32, ldc int, alpha, beta float32, _ unsafe.Pointer) bool {
	return false
}

func sgemmShortArch(l Level, k int, a, b, c []float32, ldc int, alpha, beta float32, pf unsafe.Pointer) bool {
	return false
}

func packAArch(Level, int, []float32, int, []float32) int { return 0 }

func packBArch(Level, int, int, []float32, int, []float32) bool { return false }
