//go:build purego || !amd64

package asm

func indirectArch(Level, int, []float32, []float32, []int32, int, []float32, int) bool { return false }

func indirectWideArch(Level, int, []float32, []float32, []int32, *[4]int, []float32, []float32, int) bool {
	return false
}

func indirectOuterArch(Level, int, []float32, []float32, []int32, *[4]int, []float32) bool {
	return false
}
