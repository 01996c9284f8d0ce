package asm

import (
	"fmt"
	"math"

	"github.com/lumen-ml/lumen/tensor"
)

// WeightType is the storage type of a packed weight panel.
type WeightType int

// The weight storage types: F32, or bfloat16 / IEEE half widened to F32 in registers,
// or int8 with per-column scales (the I8Kernel layout, read only by the int8 kernels).
const (
	WeightF32 WeightType = iota
	WeightBF16
	WeightF16
	WeightI8
)

func (w WeightType) String() string {
	switch w {
	case WeightF32:
		return "f32"
	case WeightBF16:
		return "bf16"
	case WeightF16:
		return "f16"
	case WeightI8:
		return "i8"
	}
	return fmt.Sprintf("WeightType(%d)", int(w))
}

// Size is the number of bytes per stored weight.
func (w WeightType) Size() int {
	switch w {
	case WeightF32:
		return 4
	case WeightI8:
		return 1
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

// Gemv64 computes 64 columns of a vector-matrix product over one slice of K, in the
// order the SGEMM micro-kernels of the same level sum a column:
//
//	acc[16g+j] = Σ_{p<k} x[p] · B[off[g] + p*ldb + j]   for g < 4, j < 16
//	y[16g+j]   = acc[16g+j]            (add false)
//	y[16g+j]   = acc[16g+j] + y[16g+j] (add true)
//
// Each column is one multiply-add chain from zero with p ascending (fused on the
// assembly levels, as the micro-kernels are), so a caller that walks K in the GEMM's
// KC slices, adding slice after slice, gets for each row of A exactly what the blocked
// GEMM computes for it: GEMV and GEMM agree bit for bit, and a row's result does not
// depend on how many rows share the call. B is b32 (WeightF32) or the bit patterns in
// b16; the four 16-column groups start at off[0..3] (they may repeat). It returns an
// error if a slice is too short or l does not run on this CPU.
func Gemv64(l Level, dt WeightType, k int, x []float32, b32 []float32, b16 []uint16, off [4]int, ldb int, y []float32, add bool) error {
	blen := len(b32)
	if dt != WeightF32 {
		blen = len(b16)
	}
	short := k < 0 || ldb < 16 || len(x) < k || len(y) < 64
	for _, o := range off {
		short = short || o < 0 || (k > 0 && blen < o+(k-1)*ldb+16)
	}
	if short {
		return fmt.Errorf("asm: Gemv64(%v, %v) k=%d ldb=%d off=%v: slices too short (x %d, b %d, y %d)", l, dt, k, ldb, off, len(x), blen, len(y))
	}
	if !Available(l) {
		return fmt.Errorf("asm: level %v is not supported by this CPU", l)
	}
	gemv64(l, dt, k, x, b32, b16, off, ldb, y, add)
	return nil
}

// gemv64 is Gemv64 without the checks.
func gemv64(l Level, dt WeightType, k int, x []float32, b32 []float32, b16 []uint16, off [4]int, ldb int, y []float32, add bool) {
	if k > 0 && gemv64Arch(l, dt, k, x, b32, b16, off, ldb, y, add) {
		return
	}
	Gemv64Go(dt, k, x, b32, b16, off, ldb, y, add)
}

// Gemv64Go is the pure-Go twin of the Gemv64 kernels; it sums as SgemmKernelGo does.
func Gemv64Go(dt WeightType, k int, x []float32, b32 []float32, b16 []uint16, off [4]int, ldb int, y []float32, add bool) {
	var acc [64]float32
	for g, o := range off {
		a := acc[16*g : 16*g+16]
		for p := 0; p < k; p++ {
			xv := x[p]
			base := o + p*ldb
			switch dt {
			case WeightF32:
				for j, v := range b32[base : base+16] {
					a[j] += xv * v
				}
			case WeightBF16:
				for j, v := range b16[base : base+16] {
					a[j] += xv * math.Float32frombits(uint32(v)<<16)
				}
			case WeightF16:
				for j, v := range b16[base : base+16] {
					a[j] += xv * tensor.F16ToF32(v)
				}
			}
		}
	}
	for j := range acc {
		if add {
			y[j] = acc[j] + y[j]
		} else {
			y[j] = acc[j]
		}
	}
}

// GemvT8 computes eight dot products with rows of B (a transposed B, as attention's
// q·kᵀ has it):
//
//	y[j] = Σ_{p<k} x[p] · B[j*ldb + p]   for j < 8
//
// each as one multiply-add chain from zero with p ascending (fused on the assembly
// levels): what the level's micro-kernel computes for a column of op(B), so GEMV over
// a transposed B agrees bit for bit with the GEMM. It returns an error if a slice is
// too short or l does not run on this CPU.
func GemvT8(l Level, k int, x, b []float32, ldb int, y []float32) error {
	if k < 1 || ldb < k || len(x) < k || len(y) < 8 || len(b) < 7*ldb+k {
		return fmt.Errorf("asm: GemvT8(%v) k=%d ldb=%d: slices too short (x %d, b %d, y %d)", l, k, ldb, len(x), len(b), len(y))
	}
	if !Available(l) {
		return fmt.Errorf("asm: level %v is not supported by this CPU", l)
	}
	if !gemvT8Arch(l, k, x, b, ldb, y) {
		GemvT8Go(k, x, b, ldb, y)
	}
	return nil
}

// GemvT8Go is the pure-Go twin of the GemvT8 kernels.
func GemvT8Go(k int, x, b []float32, ldb int, y []float32) {
	for j := range 8 {
		var acc float32
		for p, v := range b[j*ldb : j*ldb+k] {
			acc += x[p] * v
		}
		y[j] = acc
	}
}

// HasGemvT8 reports whether l has a GemvT8 kernel (the other levels gather the
// columns and use Gemv64, which sums as their micro-kernels do).
func HasGemvT8(l Level) bool { return l == AVX2 || l == AVX512 }
