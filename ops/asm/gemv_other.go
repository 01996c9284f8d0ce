//go:build purego || !amd64

package asm

func gemv16Arch(l Level, dt WeightType, k int, x []float32, b32 []float32, b16 []uint16, ldb int, y []float32) bool {
	return false
}

func gemv64Arch(l Level, dt WeightType, k int, x []float32, b32 []float32, b16 []uint16, off [4]int, ldb int, y []float32, add bool) bool {
	return false
}

func gemvT8Arch(l Level, k int, x, b []float32, ldb int, y []float32) bool { return false }
