//go:build !purego

package asm

//go:noescape
func sgemv16F32AVX2(k int, x *float32, b *float32, ldb int, y *float32)

//go:noescape
func sgemv16BF16AVX2(k int, x *float32, b *uint16, ldb int, y *float32)

//go:noescape
func sgemv16F16AVX2(k int, x *float32, b *uint16, ldb int, y *float32)

func gemv16Arch(l Level, dt WeightType, k int, x []float32, b32 []float32, b16 []uint16, ldb int, y []float32) bool {
	if l != AVX2 && l != AVX512 {
		return false
	}
	switch dt {
	case WeightF32:
		sgemv16F32AVX2(k, &x[0], &b32[0], ldb, &y[0])
	case WeightBF16:
		sgemv16BF16AVX2(k, &x[0], &b16[0], ldb, &y[0])
	case WeightF16:
		sgemv16F16AVX2(k, &x[0], &b16[0], ldb, &y[0])
	default:
		return false
	}
	return true
}

//go:noescape
func gemv64F32AVX2(k int, x *float32, b0, b1, b2, b3 *float32, ldb int, y *float32, add int)

//go:noescape
func gemv64BF16AVX2(k int, x *float32, b0, b1, b2, b3 *uint16, ldb int, y *float32, add int)

//go:noescape
func gemv64F16AVX2(k int, x *float32, b0, b1, b2, b3 *uint16, ldb int, y *float32, add int)

func gemv64Arch(l Level, dt WeightType, k int, x []float32, b32 []float32, b16 []uint16, off [4]int, ldb int, y []float32, add bool) bool {
	if l != AVX2 && l != AVX512 {
		return false
	}
	a := 0
	if add {
		a = 1
	}
	// The AVX-512 level runs these AVX2 kernels too. On Zen 4 (512-bit loads split
	// in two) no ZMM variant streamed faster: F32 with prefetch into L1 or L2 at 8-96
	// rows, or unrolled, reached 21-24 GB/s on a 154 MB LM head against AVX2's 26 (the
	// core's sequential read limit); BF16/F16 widened in ZMM registers matched AVX2 on
	// the LM head and decoded GPT-2 3-4 % slower.
	switch dt {
	case WeightF32:
		gemv64F32AVX2(k, &x[0], &b32[off[0]], &b32[off[1]], &b32[off[2]], &b32[off[3]], ldb, &y[0], a)
	case WeightBF16:
		gemv64BF16AVX2(k, &x[0], &b16[off[0]], &b16[off[1]], &b16[off[2]], &b16[off[3]], ldb, &y[0], a)
	case WeightF16:
		gemv64F16AVX2(k, &x[0], &b16[off[0]], &b16[off[1]], &b16[off[2]], &b16[off[3]], ldb, &y[0], a)
	default:
		return false
	}
	return true
}

//go:noescape
func gemv8TAVX2(k int, x *float32, b *float32, ldb int, y *float32)

func gemvT8Arch(l Level, k int, x, b []float32, ldb int, y []float32) bool {
	if l != AVX2 && l != AVX512 {
		return false
	}
	gemv8TAVX2(k, &x[0], &b[0], ldb, &y[0])
	return true
}
