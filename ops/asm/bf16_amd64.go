//go:build !purego

package asm

//go:noescape
func amxBF16Tiles(a *uint16, lda int, b *uint16, kb, panels int, c *float32, ldc int)

//go:noescape
func f32ToBF16AVX512(dst *uint16, src *float32, n int)

func bf16TilesArch(a []uint16, lda int, b []uint16, kb, panels int, c []float32, ldc int) bool {
	amxBF16Tiles(&a[0], lda, &b[0], kb, panels, &c[0], ldc)
	return true
}

func f32ToBF16Arch(l Level, dst []uint16, src []float32) int {
	n := len(dst) &^ 15
	if l != AVX512 || n == 0 {
		return 0
	}
	f32ToBF16AVX512(&dst[0], &src[0], n)
	return n
}
