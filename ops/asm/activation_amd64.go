//go:build !purego

package asm

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
