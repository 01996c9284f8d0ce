//go:build !purego

package asm

import "math"

//go:noescape
func geluTanhAVX2(x *float32, n int)

//go:noescape
func geluErfAVX2(x *float32, n int)

//go:noescape
func expSubSumAVX2(x *float32, n int, m float32) float32

// The AVX-512 level uses these AVX2 kernels too: they are DRAM- or divide-bound long
// before the vector width matters, and this machine cannot execute AVX-512 to test a
// wider version.
func vec8(l Level) bool { return l == AVX2 || l == AVX512 }

func geluTanhArch(l Level, x []float32) bool {
	if !vec8(l) {
		return false
	}
	geluTanhAVX2(&x[0], len(x))
	return true
}

func geluErfArch(l Level, x []float32) bool {
	if !vec8(l) {
		return false
	}
	geluErfAVX2(&x[0], len(x))
	return true
}

func expSubSumArch(l Level, x []float32, m float32) (float32, bool) {
	if !vec8(l) {
		return 0, false
	}
	return expSubSumAVX2(&x[0], len(x), m), true
}

//go:noescape
func maxNaNAVX2(x *float32, n int, out *[16]float32)

//go:noescape
func scaleAVX2(x *float32, n int, s float32)

//go:noescape
func sumsF64AVX2(x *float32, n int, mean float64, out *[2]float64)

//go:noescape
func normAffineAVX2(dst, x, gamma, beta *float32, n int, m, inv float32)

func maxArch(l Level, x []float32) (float32, bool) {
	if !vec8(l) {
		return 0, false
	}
	var out [16]float32
	maxNaNAVX2(&x[0], len(x), &out)
	m := out[0]
	for i, v := range out[:8] {
		if out[8+i] != 0 { // a NaN lane (all bits set)
			return float32(math.NaN()), true
		}
		m = max(m, v)
	}
	return m, true
}

func scaleArch(l Level, x []float32, s float32) bool {
	if !vec8(l) {
		return false
	}
	scaleAVX2(&x[0], len(x), s)
	return true
}

func sumsF64Arch(l Level, x []float32, mean float64, out *[2]float64) bool {
	if !vec8(l) {
		return false
	}
	sumsF64AVX2(&x[0], len(x), mean, out)
	return true
}

func normAffineArch(l Level, dst, x, gamma, beta []float32, m, inv float32) bool {
	if !vec8(l) {
		return false
	}
	normAffineAVX2(&dst[0], &x[0], &gamma[0], &beta[0], len(x), m, inv)
	return true
}
