//go:build !purego

package asm

//go:noescape
func sgemmIndirect6x16AVX2(k int, a *float32, base *float32, offs *int32, gap int, c *float32, ldc int)

func indirectArch(l Level, k int, a, base []float32, offs []int32, gap int, c []float32, ldc int) bool {
	if l != AVX2 && l != AVX512 {
		return false
	}
	sgemmIndirect6x16AVX2(k, &a[0], &base[0], &offs[0], gap, &c[0], ldc)
	return true
}
