//go:build purego || !amd64

package asm

// Never called: HasAMXInt8 is false where this file builds.
func i8AMXArch(k4, pairs int, a []uint8, lda int, b []int8, c []float32, ldc int, ep *I8Epilogue) {
	I8AMXTilesGo(k4, pairs, a, lda, b, c, ldc, ep)
}

// Never called: HasVNNI is false where this file builds.
func i8Kernel6x32Arch(k4 int, a []uint8, lda int, b []int8, c []float32, ldc int, args *i8Args) {
	panic("asm: no VNNI kernel on this platform")
}
