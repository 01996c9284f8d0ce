package tensor

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

// refF16ToF64 decodes a half from its definition, independently of F16ToF32.
func refF16ToF64(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e, m := int(h>>10)&0x1f, float64(h&0x3ff)
	switch e {
	case 0x1f:
		if m != 0 {
			return math.NaN()
		}
		return sign * math.Inf(1)
	case 0:
		return sign * m * math.Ldexp(1, -24)
	}
	return sign * (1 + m/1024) * math.Ldexp(1, e-15)
}

// refRound rounds x (finite, non-negative) to the nearest of the sorted values,
// ties to the even code; codes[i] encodes values[i]. Past the last value it returns
// overflow when x reaches the midpoint to the virtual next value at last+step.
func refRound(x float64, values []float64, codes []uint16, overflow uint16) uint16 {
	n := len(values)
	next := 2*values[n-1] - values[n-2]
	if x >= (values[n-1]+next)/2 {
		if x == (values[n-1]+next)/2 && codes[n-1]&1 == 0 {
			return codes[n-1]
		}
		return overflow
	}
	i := sort.SearchFloat64s(values, x)
	if i == n {
		return codes[n-1]
	}
	if i == 0 || values[i] == x {
		return codes[i]
	}
	lo, hi := values[i-1], values[i]
	switch {
	case x-lo < hi-x:
		return codes[i-1]
	case x-lo > hi-x:
		return codes[i]
	case codes[i-1]&1 == 0:
		return codes[i-1]
	}
	return codes[i]
}

func halfTable() ([]float64, []uint16) {
	var vals []float64
	var codes []uint16
	for c := uint16(0); c < 0x7c00; c++ {
		vals = append(vals, refF16ToF64(c))
		codes = append(codes, c)
	}
	return vals, codes
}

func TestF16ToF32AllPatterns(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		got, want := F16ToF32(h), refF16ToF64(h)
		if math.IsNaN(want) {
			require.True(t, got != got, "%#04x should be NaN", h)
			continue
		}
		require.Equal(t, want, float64(got), "%#04x", h)
		require.Equal(t, math.Signbit(want), math.Signbit(float64(got)), "sign of %#04x", h)
	}
}

func TestF16RoundTripIdentityAllPatterns(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		require.Equal(t, h, F32ToF16(F16ToF32(h)), "%#04x", h)
	}
}

// TestF32ToF16Boundaries checks every rounding boundary of the format: for each pair
// of adjacent halves, the float32 midpoint and its float32 neighbours.
func TestF32ToF16Boundaries(t *testing.T) {
	vals, codes := halfTable()
	check := func(f float32) {
		if f < 0 || math.IsInf(float64(f), 0) {
			return
		}
		want := refRound(float64(f), vals, codes, 0x7c00)
		require.Equal(t, want, F32ToF16(f), "F32ToF16(%g = %#08x)", f, math.Float32bits(f))
		require.Equal(t, want|0x8000, F32ToF16(-f), "F32ToF16(-%g)", f)
	}
	for i := 0; i+1 < len(vals); i++ {
		mid := float32((vals[i] + vals[i+1]) / 2) // exact: halves have 11 significant bits
		for _, f := range []float32{mid, math.Nextafter32(mid, 0), math.Nextafter32(mid, 1e9), float32(vals[i])} {
			check(f)
		}
	}
	// Overflow boundary: 65520 is the midpoint between 65504 and the virtual 65536.
	for _, f := range []float32{65504, 65519.996, 65520, 65520.004, 1e10, math.MaxFloat32} {
		check(f)
	}
	require.Equal(t, uint16(0x7c00), F32ToF16(float32(math.Inf(1))))
	require.Equal(t, uint16(0xfc00), F32ToF16(float32(math.Inf(-1))))
	require.Equal(t, uint16(0x8000), F32ToF16(float32(math.Copysign(0, -1))))
}

func TestF32ToF16Random(t *testing.T) {
	vals, codes := halfTable()
	r := rand.New(rand.NewPCG(1, 2))
	n := 2_000_000
	if testing.Short() {
		n = 200_000
	}
	for i := 0; i < n; i++ {
		u := r.Uint32()
		if i%2 == 0 { // concentrate on the half range
			u = uint32(0x33000000+r.IntN(0x47800000-0x33000000)) | u&0x80000000
		}
		f := math.Float32frombits(u)
		got := F32ToF16(f)
		if f != f {
			require.True(t, got&0x7c00 == 0x7c00 && got&0x3ff != 0, "NaN %#08x -> %#04x", u, got)
			require.Equal(t, uint16(u>>16)&0x8000, got&0x8000)
			continue
		}
		a := math.Abs(float64(f))
		want := refRound(a, vals, codes, 0x7c00)
		if math.IsInf(a, 0) {
			want = 0x7c00
		}
		if math.Signbit(float64(f)) {
			want |= 0x8000
		}
		require.Equal(t, want, got, "F32ToF16(%g = %#08x)", f, u)
	}
}

func TestBF16(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := BF16ToF32(h)
		require.Equal(t, h, F32ToBF16(f), "round trip %#04x", h)
		require.Equal(t, uint32(h)<<16, math.Float32bits(f))
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 1_000_000; i++ {
		u := r.Uint32()
		f := math.Float32frombits(u)
		got := F32ToBF16(f)
		if f != f {
			require.True(t, got&0x7f80 == 0x7f80 && got&0x7f != 0, "NaN %#08x -> %#04x", u, got)
			continue
		}
		// Reference: compare distances to the two bfloat16 neighbours in float64.
		lo := uint16(u >> 16)
		loV, hiV := float64(BF16ToF32(lo)), float64(BF16ToF32(lo+1))
		x := float64(f)
		if math.IsInf(hiV, 0) { // the overflow midpoint sits halfway to 2^128
			hiV = math.Copysign(0x1p128, x)
		}
		want := lo
		dLo, dHi := math.Abs(x-loV), math.Abs(hiV-x)
		if lo&0x7f80 != 0x7f80 && (dHi < dLo || (dHi == dLo && lo&1 == 1)) {
			want = lo + 1
		}
		require.Equal(t, want, got, "F32ToBF16(%g = %#08x)", f, u)
	}
}

func TestFP8(t *testing.T) {
	for i := 0; i < 256; i++ {
		b := uint8(i)
		for _, c := range []struct {
			dec func(uint8) float32
			enc func(float32) uint8
		}{{F8E5M2ToF32, F32ToF8E5M2}, {F8E4M3ToF32, F32ToF8E4M3}} {
			f := c.dec(b)
			if f != f {
				require.True(t, c.dec(c.enc(f)) != c.dec(c.enc(f)))
				continue
			}
			require.Equal(t, b, c.enc(f), "round trip %#02x (%g)", b, f)
		}
	}
	require.Equal(t, float32(448), F8E4M3ToF32(0x7e))
	require.Equal(t, float32(57344), F8E5M2ToF32(0x7b))
	require.Equal(t, uint8(0x7e), F32ToF8E4M3(464)) // tie to even stays finite
	require.Equal(t, uint8(0x7f), F32ToF8E4M3(470)) // past 448's reach: NaN
	require.Equal(t, uint8(0x7c), F32ToF8E5M2(61440))
	require.Equal(t, float32(0.1875), F8E4M3ToF32(F32ToF8E4M3(0.19)))
}

func TestSliceConverters(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	src := make([]float32, 1001)
	for i := range src {
		src[i] = float32(r.NormFloat64() * 100)
	}
	h := make([]uint16, len(src))
	b := make([]uint16, len(src))
	F32ToF16Slice(h, src)
	F32ToBF16Slice(b, src)
	back := make([]float32, len(src))
	F16ToF32Slice(back, h)
	for i := range src {
		require.Equal(t, F16ToF32(F32ToF16(src[i])), back[i])
	}
	BF16ToF32Slice(back, b)
	for i := range src {
		require.Equal(t, BF16ToF32(F32ToBF16(src[i])), back[i])
	}
	// Unaligned byte input takes the byte path and agrees.
	raw := make([]byte, 2*len(h)+1)
	for i, v := range h {
		put16(raw[1+2*i:], v)
	}
	got := make([]float32, len(h))
	F16BytesToF32(got, raw[1:])
	F16ToF32Slice(back, h)
	require.Equal(t, back, got)
	for i, v := range b {
		put16(raw[1+2*i:], v)
	}
	BF16BytesToF32(got, raw[1:])
	BF16ToF32Slice(back, b)
	require.Equal(t, back, got)
}

// weightLike returns n values distributed like trained weights, N(0, 0.02²).
func weightLike(n int) []float32 {
	r := rand.New(rand.NewPCG(7, 8))
	w := make([]float32, n)
	for i := range w {
		w[i] = float32(r.NormFloat64() * 0.02)
	}
	return w
}

func BenchmarkF16ToF32Slice(b *testing.B) {
	src := make([]uint16, 1<<20)
	F32ToF16Slice(src, weightLike(len(src)))
	dst := make([]float32, len(src))
	b.SetBytes(int64(2 * len(src)))
	for b.Loop() {
		F16ToF32Slice(dst, src)
	}
}

func BenchmarkBF16ToF32Slice(b *testing.B) {
	src := make([]uint16, 1<<20)
	F32ToBF16Slice(src, weightLike(len(src)))
	dst := make([]float32, len(src))
	b.SetBytes(int64(2 * len(src)))
	for b.Loop() {
		BF16ToF32Slice(dst, src)
	}
}

func BenchmarkF32ToF16Slice(b *testing.B) {
	src := weightLike(1 << 20)
	dst := make([]uint16, len(src))
	b.SetBytes(int64(4 * len(src)))
	for b.Loop() {
		F32ToF16Slice(dst, src)
	}
}
