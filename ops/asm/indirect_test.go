package asm

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSgemmIndirectMatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, l := range Supported() {
		for _, k := range []int{1, 2, 7, 25, 150} {
			for _, gap := range []int{8, 12, 30} {
				base := randSlice(r, 400)
				offs := make([]int32, k)
				for p := range offs {
					offs[p] = int32(r.IntN(400 - gap - 8))
				}
				ind, err := NewIndirect(offs)
				require.NoError(t, err)
				a := randSlice(r, 6*k)
				ldc := 16 + r.IntN(4)
				want, got := make([]float32, 5*ldc+16), randSlice(r, 5*ldc+16)
				SgemmIndirectGo(k, a, base, offs, gap, want, ldc)
				require.NoError(t, SgemmIndirect(l, ind, a, base, gap, got, ldc))
				for i := 0; i < 6; i++ {
					closeTo(t, want[i*ldc:i*ldc+16], got[i*ldc:i*ldc+16], k, l.String())
				}
			}
		}
	}
}

func TestSgemmIndirectRejects(t *testing.T) {
	_, err := NewIndirect([]int32{0, -1})
	require.Error(t, err)
	_, err = NewIndirect(nil)
	require.Error(t, err)
	ind, err := NewIndirect([]int32{0, 100})
	require.NoError(t, err)
	a, c := make([]float32, 12), make([]float32, 6*16)
	require.Error(t, SgemmIndirect(Best, ind, a, make([]float32, 115), 8, c, 16), "offset 100 + gap 8 + 8 > 115")
	require.NoError(t, SgemmIndirect(Best, ind, a, make([]float32, 116), 8, c, 16))
	require.Error(t, SgemmIndirect(Best, ind, a[:11], make([]float32, 116), 8, c, 16))
	require.Error(t, SgemmIndirect(Best, ind, a, make([]float32, 116), 8, c[:95], 16))
}

// The AVX-512 indirect kernel sums each element as the AVX2 one does: the same bits.
func TestSgemmIndirectLevelsAgree(t *testing.T) {
	if !Available(AVX2) || !Available(AVX512) {
		t.Skip("needs both AVX2 and AVX-512")
	}
	r := rand.New(rand.NewPCG(7, 8))
	for _, k := range []int{1, 3, 25, 150} {
		base := randSlice(r, 500)
		offs := make([]int32, k)
		for p := range offs {
			offs[p] = int32(r.IntN(400))
		}
		ind, err := NewIndirect(offs)
		require.NoError(t, err)
		a := randSlice(r, 6*k)
		c2, c5 := make([]float32, 6*16), make([]float32, 6*16)
		require.NoError(t, SgemmIndirect(AVX2, ind, a, base, 30, c2, 16))
		require.NoError(t, SgemmIndirect(AVX512, ind, a, base, 30, c5, 16))
		require.Equal(t, c2, c5, "k=%d", k)
	}
}
