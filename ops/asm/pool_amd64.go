//go:build !purego

package asm

import "math"

//go:noescape
func maxPool2x2ReLUAVX512(y, x *float32, rows, w int, nan uint32)

func maxPoolArch(l Level, y, x []float32, rows, w int) bool {
	if l != AVX512 {
		return false
	}
	maxPool2x2ReLUAVX512(&y[0], &x[0], rows, w, math.Float32bits(float32(math.NaN())))
	return true
}

//go:noescape
func maxPool2x2ReLUBackwardAVX512(dx, x, y, dy *float32, rows, w int)

func maxPoolBackwardArch(l Level, dx, x, y, dy []float32, rows, w int) bool {
	if l != AVX512 {
		return false
	}
	maxPool2x2ReLUBackwardAVX512(&dx[0], &x[0], &y[0], &dy[0], rows, w)
	return true
}
