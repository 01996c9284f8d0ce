//go:build purego || !amd64

package asm

func bf16TilesArch(a []uint16, lda int, b []uint16, kb, panels int, c []float32, ldc int) bool {
	return false
}

func f32ToBF16Arch(l Level, dst []uint16, src []float32) int { return 0 }

func amxPermit() bool { return false }
