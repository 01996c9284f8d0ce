//go:build !purego

package asm

//go:noescape
func sgemmIndirect6x16AVX2(k int, a *float32, base *float32, offs *int32, gap int, c *float32, ldc int)

//go:noescape
func sgemmIndirect6x16AVX512(k int, a *float32, base *float32, offs *int32, gap int, c *float32, ldc int)

func indirectArch(l Level, k int, a, base []float32, offs []int32, gap int, c []float32, ldc int) bool {
	switch l {
	case AVX512:
		sgemmIndirect6x16AVX512(k, &a[0], &base[0], &offs[0], gap, &c[0], ldc)
	case AVX2:
		sgemmIndirect6x16AVX2(k, &a[0], &base[0], &offs[0], gap, &c[0], ldc)
	default:
		return false
	}
	return true
}
