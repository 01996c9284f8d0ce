//go:build purego || (!amd64 && !arm64)

package asm

func i8KernelArch(l Level, mr, k4 int, a []uint8, lda int, b []int8, c []float32, ldc int, args *i8Args) bool {
	return false
}

func i8MinMaxArch(l Level, x []float32) (done int, lo, hi float32) { return 0, 0, 0 }

func i8QuantizeArch(l Level, dst []uint8, x []float32, inv float32, zero int32) int { return 0 }

func i8Gemv64Arch(l Level, k4 int, a []uint8, b []int8, pstride int, c []float32, args *i8Args) bool {
	return false
}

const vnni = false
