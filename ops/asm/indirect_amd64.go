//go:build !purego

package asm

//go:noescape
func sgemmIndirect6x16AVX2(k int, a *float32, base *float32, offs *int32, gap int, c *float32, ldc int)

//go:noescape
func sgemmIndirect6x16AVX512(k int, a *float32, base *float32, offs *int32, gap int, c *float32, ldc int)

//go:noescape
func sgemmIndirect6x32AVX512(k int, a *float32, base *float32, offs *int32, grp *[4]int, bias *float32, c *float32, ldc int)

func indirectWideArch(l Level, k int, a, base []float32, offs []int32, g *[4]int, bias, c []float32, ldc int) bool {
	if l != AVX512 {
		return false
	}
	var b *float32
	if bias != nil {
		b = &bias[0]
	}
	sgemmIndirect6x32AVX512(k, &a[0], &base[0], &offs[0], g, b, &c[0], ldc)
	return true
}

//go:noescape
func sgemmIndirectOuterAVX512(k int, a *float32, base *float32, offs *int32, rows *[4]int, c *float32)

func indirectOuterArch(l Level, k int, a, base []float32, offs []int32, rows *[4]int, c []float32) bool {
	if l != AVX512 {
		return false
	}
	sgemmIndirectOuterAVX512(k, &a[0], &base[0], &offs[0], rows, &c[0])
	return true
}

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
