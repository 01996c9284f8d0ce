package tensor

import (
	"math"
	"sort"
	"unsafe"
)

// F16ToF32 converts an IEEE 754 binary16 bit pattern to float32. Every half value,
// subnormals included, is exactly representable, so the conversion is exact; NaN
// payloads are kept.
func F16ToF32(h uint16) float32 {
	// Placing the half's exponent and mantissa in a float32 and scaling by 2^112 re-biases
	// the exponent; the multiplication is exact for normal and subnormal halves alike.
	// Inf and NaN (exponent 31) land on finite values, whose exponent is then saturated.
	o := uint32(h&0x7fff) << 13
	f := math.Float32bits(math.Float32frombits(o) * 0x1p112)
	if o >= 0x7c00<<13 {
		f |= 0x7f800000
	}
	return math.Float32frombits(f | uint32(h&0x8000)<<16)
}

// F32ToF16 converts a float32 to the nearest binary16 bit pattern, ties to even.
// Values beyond the half range become ±Inf, tiny values become subnormals or ±0, and
// NaN stays NaN with the top bits of its payload (a payload that would vanish becomes
// the quiet bit), so F32ToF16(F16ToF32(h)) == h for every h.
func F32ToF16(f float32) uint16 {
	const (
		f32Inf      = 255 << 23
		f16Overflow = (127 + 16) << 23
		denormMagic = ((127 - 15) + (23 - 10) + 1) << 23
	)
	u := math.Float32bits(f)
	sign := uint16(u>>16) & 0x8000
	u &^= 1 << 31
	switch {
	case u > f32Inf: // NaN
		m := uint16(u>>13) & 0x3ff
		if m == 0 {
			m = 0x200
		}
		return sign | 0x7c00 | m
	case u >= f16Overflow: // Inf, or a value that rounds past 65504
		return sign | 0x7c00
	case u < 113<<23: // result is subnormal or zero: let the FPU round
		r := math.Float32frombits(u) + math.Float32frombits(denormMagic)
		return sign | uint16(math.Float32bits(r)-denormMagic)
	default:
		odd := (u >> 13) & 1
		u += 0xfff + odd
		u -= (127 - 15) << 23
		return sign | uint16(u>>13)
	}
}

// BF16ToF32 converts a bfloat16 bit pattern to float32 (exact: bfloat16 is the top half
// of a float32).
func BF16ToF32(b uint16) float32 { return math.Float32frombits(uint32(b) << 16) }

// F32ToBF16 converts a float32 to the nearest bfloat16, ties to even; overflow rounds
// to ±Inf and NaN stays NaN (payload kept where it survives, else the quiet bit set).
func F32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		h := uint16(u >> 16)
		if h&0x7f == 0 {
			h |= 0x40
		}
		return h
	}
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}

// F16ToF32Slice converts len(dst) half values; src must be at least as long.
func F16ToF32Slice(dst []float32, src []uint16) {
	src = src[:len(dst)]
	for i, h := range src {
		dst[i] = F16ToF32(h)
	}
}

// BF16ToF32Slice converts len(dst) bfloat16 values; src must be at least as long.
func BF16ToF32Slice(dst []float32, src []uint16) {
	src = src[:len(dst)]
	for i, h := range src {
		dst[i] = math.Float32frombits(uint32(h) << 16)
	}
}

// F32ToF16Slice converts len(dst) floats to half, ties to even; src must be at least as long.
func F32ToF16Slice(dst []uint16, src []float32) {
	src = src[:len(dst)]
	for i, f := range src {
		dst[i] = F32ToF16(f)
	}
}

// F32ToBF16Slice converts len(dst) floats to bfloat16, ties to even; src must be at least as long.
func F32ToBF16Slice(dst []uint16, src []float32) {
	src = src[:len(dst)]
	for i, f := range src {
		dst[i] = F32ToBF16(f)
	}
}

// F16BytesToF32 converts little-endian half values in src (2·len(dst) bytes, any
// alignment) to dst.
func F16BytesToF32(dst []float32, src []byte) {
	if u, ok := asUint16s(src, len(dst)); ok {
		F16ToF32Slice(dst, u)
		return
	}
	src = src[:2*len(dst)]
	for i := range dst {
		dst[i] = F16ToF32(le16(src[2*i:]))
	}
}

// BF16BytesToF32 converts little-endian bfloat16 values in src (2·len(dst) bytes, any
// alignment) to dst.
func BF16BytesToF32(dst []float32, src []byte) {
	if u, ok := asUint16s(src, len(dst)); ok {
		BF16ToF32Slice(dst, u)
		return
	}
	src = src[:2*len(dst)]
	for i := range dst {
		dst[i] = BF16ToF32(le16(src[2*i:]))
	}
}

func asUint16s(b []byte, n int) ([]uint16, bool) {
	if n == 0 || len(b) < 2*n || uintptr(unsafe.Pointer(&b[0]))%2 != 0 {
		return nil, n == 0
	}
	return unsafe.Slice((*uint16)(unsafe.Pointer(&b[0])), n), true
}

// F8E5M2ToF32 converts an FP8 E5M2 value (the top byte of a binary16) to float32, exactly.
func F8E5M2ToF32(b uint8) float32 { return F16ToF32(uint16(b) << 8) }

// F8E4M3ToF32 converts an FP8 E4M3FN value (bias 7, no infinities, S.1111.111 is NaN,
// largest finite 448) to float32, exactly.
func F8E4M3ToF32(b uint8) float32 {
	sign := float32(1)
	if b&0x80 != 0 {
		sign = -1
	}
	e, m := int(b>>3)&0xf, int(b&7)
	switch {
	case e == 0xf && m == 7:
		return float32(math.NaN())
	case e == 0:
		return sign * float32(m) * 0x1p-9
	}
	return sign * float32(8+m) * float32(math.Ldexp(1, e-10))
}

// F32ToF8E5M2 rounds a float32 to FP8 E5M2, ties to even; overflow gives ±Inf.
func F32ToF8E5M2(f float32) uint8 { return f32ToF8(f, F8E5M2ToF32, 0x7c, 0x7e) }

// F32ToF8E4M3 rounds a float32 to FP8 E4M3FN, ties to even; values that round past 448
// give NaN (the format has no infinity), as PyTorch's conversion does.
func F32ToF8E4M3(f float32) uint8 { return f32ToF8(f, F8E4M3ToF32, 0x7f, 0x7f) }

// f32ToF8 rounds by searching the 8-bit format's non-negative codes, which are
// ordered like their values. overflow is the code just past the largest finite value
// (Inf for E5M2, NaN for E4M3FN); nan is the NaN code. FP8 encoding is only used for
// element writes, so clarity wins over speed here.
func f32ToF8(f float32, dec func(uint8) float32, overflow, nan uint8) uint8 {
	if f != f {
		return nan
	}
	var sign uint8
	if math.Signbit(float64(f)) {
		sign, f = 0x80, -f
	}
	top := float64(dec(overflow - 1))
	step := top - float64(dec(overflow-2))
	value := func(c uint8) float64 {
		if c == overflow {
			return top + step // where the next code would sit: it sets the overflow midpoint
		}
		return float64(dec(c))
	}
	x := float64(f)
	c := uint8(sort.Search(int(overflow)+1, func(i int) bool { return value(uint8(i)) >= x }))
	if c > overflow {
		return sign | overflow
	}
	if c > 0 && value(c) != x {
		lo, hi := value(c-1), value(c)
		if x-lo < hi-x || (x-lo == hi-x && (c-1)&1 == 0) {
			c--
		}
	}
	return sign | c
}
