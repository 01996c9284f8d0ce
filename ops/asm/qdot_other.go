//go:build purego || !amd64

package asm

func qgemvArch(l Level, wt QWeight, w []byte, rowBytes int, a []Q8Block, y []float32) bool {
	return false
}
