package asm

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/tensor"
)

func TestGemv16MatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, l := range Supported() {
		for _, dt := range []WeightType{WeightF32, WeightBF16, WeightF16} {
			for _, k := range []int{0, 1, 2, 3, 4, 5, 7, 8, 13, 64, 769} {
				ldb := 16 + 16*r.IntN(2) + r.IntN(3)
				x := randSlice(r, k)
				b32 := randSlice(r, k*ldb+16)
				b16 := halfBits(dt, b32)
				want, got := make([]float32, 16), randSlice(r, 17)
				Gemv16Go(dt, k, x, b32, b16, ldb, want)
				require.NoError(t, Gemv16(l, dt, k, x, b32, b16, ldb, got))
				closeTo(t, want, got[:16], k, l.String()+"/"+dt.String())
				require.NotZero(t, got[16], "wrote past y[16]")
			}
		}
	}
}

func TestGemv16Rejects(t *testing.T) {
	x := make([]float32, 8)
	require.Error(t, Gemv16(Best, WeightF32, 8, x, make([]float32, 7*16+15), nil, 16, make([]float32, 16)))
	require.Error(t, Gemv16(Best, WeightBF16, 8, x, nil, make([]uint16, 10), 16, make([]float32, 16)))
	require.Error(t, Gemv16(Best, WeightF32, 8, x, make([]float32, 8*16), nil, 15, make([]float32, 16)))
	require.Error(t, Gemv16(Best, WeightF32, 9, x, make([]float32, 9*16), nil, 16, make([]float32, 16)))
	require.Error(t, Gemv16(Best, WeightF32, 1, x, make([]float32, 16), nil, 16, make([]float32, 15)))
}

func TestGemv64MatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, l := range Supported() {
		for _, dt := range []WeightType{WeightF32, WeightBF16, WeightF16} {
			for _, k := range []int{0, 1, 2, 3, 5, 8, 13, 64, 257} {
				for _, add := range []bool{false, true} {
					ldb := 16 * (1 + r.IntN(3))
					size := k*ldb + 64
					b32 := randSlice(r, size)
					b16 := halfBits(dt, b32)
					var off [4]int
					for q := range off {
						off[q] = r.IntN(ldb - 15) // groups may overlap and repeat
					}
					xv := randSlice(r, k)
					yIn := randSlice(r, 65)
					want := append([]float32(nil), yIn...)
					got := append([]float32(nil), yIn...)
					Gemv64Go(dt, k, xv, b32, b16, off, ldb, want, add)
					require.NoError(t, Gemv64(l, dt, k, xv, b32, b16, off, ldb, got, add))
					closeTo(t, want[:64], got[:64], k+1, l.String()+"/"+dt.String())
					require.Equal(t, yIn[64], got[64], "wrote past y[64]")
				}
			}
		}
	}
}

func TestGemv64Rejects(t *testing.T) {
	x := make([]float32, 8)
	y := make([]float32, 64)
	require.Error(t, Gemv64(Best, WeightF32, 8, x, make([]float32, 7*16+15), nil, [4]int{}, 16, y, false))
	require.Error(t, Gemv64(Best, WeightF32, 8, x, make([]float32, 8*16), nil, [4]int{0, 0, 0, 1}, 16, y, false))
	require.Error(t, Gemv64(Best, WeightF32, 8, x, make([]float32, 8*16), nil, [4]int{-1}, 16, y, false))
	require.Error(t, Gemv64(Best, WeightF32, 8, x, make([]float32, 8*16), nil, [4]int{}, 16, y[:63], false))
	require.Error(t, Gemv64(Best, WeightBF16, 8, x, nil, make([]uint16, 10), [4]int{}, 16, y, false))
}

// halfBits returns b32 rounded to dt's 16-bit storage (zeros for WeightF32).
func halfBits(dt WeightType, b32 []float32) []uint16 {
	b16 := make([]uint16, len(b32))
	switch dt {
	case WeightBF16:
		tensor.F32ToBF16Slice(b16, b32)
	case WeightF16:
		tensor.F32ToF16Slice(b16, b32)
	}
	return b16
}

func TestGemvT8MatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for _, l := range Supported() {
		for _, k := range []int{1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 64, 65, 100} {
			ldb := k + r.IntN(3)
			x := randSlice(r, k)
			b := randSlice(r, 7*ldb+k)
			want, got := make([]float32, 8), randSlice(r, 9)
			GemvT8Go(k, x, b, ldb, want)
			require.NoError(t, GemvT8(l, k, x, b, ldb, got))
			closeTo(t, want, got[:8], k, l.String())
			require.NotZero(t, got[8], "wrote past y[8]")
		}
	}
	require.Error(t, GemvT8(Best, 8, make([]float32, 8), make([]float32, 7*8+7), 8, make([]float32, 8)))
	require.Error(t, GemvT8(Best, 8, make([]float32, 8), make([]float32, 64), 7, make([]float32, 8)))
}
