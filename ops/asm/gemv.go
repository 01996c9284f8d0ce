package asm

import (
	"fmt"
	"math"

	"github.com/lumen-ml/lumen/tensor"
)

// WeightType is the storage type of a packed weight panel.
type WeightType int

// The weight storage types: F32, or bfloat16 / IEEE half widened to F32 in registers.
const (
	WeightF32 WeightType = iota
	WeightBF16
	WeightF16
)

func (w WeightType) String() string {
	switch w {
	case WeightF32:
		return "f32"
	case WeightBF16:
		return "bf16"
	case WeightF16:
		return "f16"
	}
	return fmt.Sprintf("WeightType(%d)", int(w))
}

// Size is the number of bytes per stored weight.
func (w WeightType) Size() int {
	if w == WeightF32 {
		return 4
	}
	return 2
}

// Gemv16 computes a 16-wide slice of a vector-matrix product over a weight panel:
//
//	y[j] = Σ_{p<k} x[p] · B[p*ldb + j]   for j < 16
//
// B is b32 (WeightF32) or the bit patterns in b16 (WeightBF16, WeightF16), row stride
// ldb elements. y is overwritten; accumulation is in float32. It returns an error if a
// slice is too short or l does not run on this CPU.
func Gemv16(l Level, dt WeightType, k int, x []float32, b32 []float32, b16 []uint16, ldb int, y []float32) error {
	blen := len(b32)
	if dt != WeightF32 {
		blen = len(b16)
	}
	if k < 0 || ldb < 16 || len(x) < k || len(y) < 16 || (k > 0 && blen < (k-1)*ldb+16) {
		return fmt.Errorf("asm: Gemv16(%v, %v) k=%d ldb=%d: slices too short (x %d, b %d, y %d)", l, dt, k, ldb, len(x), blen, len(y))
	}
	if !Available(l) {
		return fmt.Errorf("asm: level %v is not supported by this CPU", l)
	}
	gemv16(l, dt, k, x, b32, b16, ldb, y)
	return nil
}

// gemv16 is Gemv16 without the checks.
func gemv16(l Level, dt WeightType, k int, x []float32, b32 []float32, b16 []uint16, ldb int, y []float32) {
	if k > 0 && gemv16Arch(l, dt, k, x, b32, b16, ldb, y) {
		return
	}
	Gemv16Go(dt, k, x, b32, b16, ldb, y)
}

// Gemv16Go is the pure-Go twin of the Gemv16 kernels.
func Gemv16Go(dt WeightType, k int, x []float32, b32 []float32, b16 []uint16, ldb int, y []float32) {
	var acc [16]float32
	for p := 0; p < k; p++ {
		xv := x[p]
		switch dt {
		case WeightF32:
			row := b32[p*ldb : p*ldb+16]
			for j, v := range row {
				acc[j] += xv * v
			}
		case WeightBF16:
			row := b16[p*ldb : p*ldb+16]
			for j, v := range row {
				acc[j] += xv * math.Float32frombits(uint32(v)<<16)
			}
		case WeightF16:
			row := b16[p*ldb : p*ldb+16]
			for j, v := range row {
				acc[j] += xv * tensor.F16ToF32(v)
			}
		}
	}
	copy(y[:16], acc[:])
}
