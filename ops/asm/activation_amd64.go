//go:build !purego

package asm

import "math"

//go:noescape
func geluTanhAVX2(x *float32, n int)

//go:noescape
func geluErfAVX2(x *float32, n int)

//go:noescape
func expSubSumAVX2(x *float32, n int, m float32) float32

//go:noescape
func geluTanhAVX512(x *float32, n int)

//go:noescape
func geluErfAVX512(x *float32, n int)

//go:noescape
func expSubSumAVX512(x *float32, n int, m float32) float32

//go:noescape
func maxNaNAVX512(x *float32, n int, out *[16]float32) int

//go:noescape
func scaleAVX512(x *float32, n int, s float32)

//go:noescape
func addAVX512(dst, a, b *float32, n int)

//go:noescape
func addAVX2(dst, a, b *float32, n int)

//go:noescape
func addRowsAVX512(c *float32, ldc, rows int, v *float32, n int)

//go:noescape
func sumsF64AVX512(x *float32, n int, mean float64, out *[2]float64)

//go:noescape
func normAffineAVX512(dst, x, gamma, beta *float32, n int, m, inv float32)

// vecLen is how many of n values level l's element-wise kernels take: all of them
// on AVX-512 (its loops mask the last lanes), the multiple of 8 below n on AVX2, none
// elsewhere. The Go twins do the rest.
func vecLen(l Level, n int) int {
	switch l {
	case AVX512:
		return n
	case AVX2:
		return n &^ 7
	}
	return 0
}

//go:noescape
func siluMulAVX2(gate, up *float32, n int)

//go:noescape
func siluMulAVX512(gate, up *float32, n int)

func siluMulArch(l Level, g, u []float32) bool {
	switch l {
	case AVX512:
		siluMulAVX512(&g[0], &u[0], len(g))
	case AVX2:
		siluMulAVX2(&g[0], &u[0], len(g))
	default:
		return false
	}
	return true
}

func geluTanhArch(l Level, x []float32) bool {
	switch l {
	case AVX512:
		geluTanhAVX512(&x[0], len(x))
	case AVX2:
		geluTanhAVX2(&x[0], len(x))
	default:
		return false
	}
	return true
}

func geluErfArch(l Level, x []float32) bool {
	switch l {
	case AVX512:
		geluErfAVX512(&x[0], len(x))
	case AVX2:
		geluErfAVX2(&x[0], len(x))
	default:
		return false
	}
	return true
}

func expSubSumArch(l Level, x []float32, m float32) (float32, bool) {
	switch l {
	case AVX512:
		return expSubSumAVX512(&x[0], len(x), m), true
	case AVX2:
		return expSubSumAVX2(&x[0], len(x), m), true
	}
	return 0, false
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
	var out [16]float32
	switch l {
	case AVX512:
		if maxNaNAVX512(&x[0], len(x), &out) != 0 {
			return float32(math.NaN()), true
		}
		// The lanes hold no NaN (checked above): a plain compare, not the builtin
		// max and its NaN and signed-zero cases, which cost more than the kernel on
		// a softmax row of 128.
		m := out[0]
		for _, v := range out[1:] {
			if v > m {
				m = v
			}
		}
		return m, true
	case AVX2:
	default:
		return 0, false
	}
	maxNaNAVX2(&x[0], len(x), &out)
	m := out[0]
	for i, v := range out[:8] {
		if out[8+i] != 0 { // a NaN lane (all bits set)
			return float32(math.NaN()), true
		}
		if v > m {
			m = v
		}
	}
	return m, true
}

func addArch(l Level, dst, a, b []float32) bool {
	switch l {
	case AVX512:
		addAVX512(&dst[0], &a[0], &b[0], len(dst))
	case AVX2:
		addAVX2(&dst[0], &a[0], &b[0], len(dst))
	default:
		return false
	}
	return true
}

func addRowsArch(l Level, c []float32, ldc, rows int, v []float32) bool {
	if l != AVX512 {
		return false
	}
	addRowsAVX512(&c[0], ldc, rows, &v[0], len(v))
	return true
}

func scaleArch(l Level, x []float32, s float32) bool {
	switch l {
	case AVX512:
		scaleAVX512(&x[0], len(x), s)
	case AVX2:
		scaleAVX2(&x[0], len(x), s)
	default:
		return false
	}
	return true
}

func sumsF64Arch(l Level, x []float32, mean float64, out *[2]float64) bool {
	switch l {
	case AVX512:
		sumsF64AVX512(&x[0], len(x), mean, out)
	case AVX2:
		sumsF64AVX2(&x[0], len(x), mean, out)
	default:
		return false
	}
	return true
}

func normAffineArch(l Level, dst, x, gamma, beta []float32, m, inv float32) bool {
	switch l {
	case AVX512:
		normAffineAVX512(&dst[0], &x[0], &gamma[0], &beta[0], len(x), m, inv)
	case AVX2:
		normAffineAVX2(&dst[0], &x[0], &gamma[0], &beta[0], len(x), m, inv)
	default:
		return false
	}
	return true
}
