package asm

import (
	"math"
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

// Every level's wide kernel is its twin (within rounding: the twin does not fuse), with
// and without a bias, groups in any order and overlapping; the output is written in
// the tile only.
func TestSgemmIndirectWideMatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, l := range Supported() {
		for _, k := range []int{1, 2, 7, 25, 150} {
			for _, g := range [][4]int{{0, 8, 16, 24}, {0, 8, 16, 30}, {40, 0, 11, 11}, {3, 200, 97, 5}} {
				base := randSlice(r, 420)
				offs := make([]int32, k)
				for p := range offs {
					offs[p] = int32(r.IntN(420 - 208))
				}
				ind, err := NewIndirect(offs)
				require.NoError(t, err)
				a := randSlice(r, 6*k)
				for _, bias := range [][]float32{nil, randSlice(r, 6)} {
					ldc := 32 + r.IntN(5)
					want, got := make([]float32, 6*ldc), make([]float32, 6*ldc)
					for i := range got {
						want[i], got[i] = 7, 7
					}
					SgemmIndirectWideGo(k, a, base, offs, g, bias, want, ldc)
					require.NoError(t, SgemmIndirectWide(l, ind, a, base, g, bias, got, ldc))
					for i := 0; i < 6; i++ {
						closeTo(t, want[i*ldc:i*ldc+32], got[i*ldc:i*ldc+32], k, l.String())
						for _, v := range got[i*ldc+32 : (i+1)*ldc] {
							require.Equal(t, float32(7), v, "%v wrote outside the tile", l)
						}
					}
					// The twin is the definition.
					i, j := r.IntN(6), r.IntN(32)
					s := 0.0
					if bias != nil {
						s = float64(bias[i])
					}
					for p := 0; p < k; p++ {
						s += float64(a[p*6+i]) * float64(base[int(offs[p])+g[j/8]+j%8])
					}
					require.InDelta(t, s, float64(want[i*ldc+j]), float64(k+4)*1e-6*(1+math.Abs(s)))
				}
			}
		}
	}
}

func TestSgemmIndirectWideRejects(t *testing.T) {
	ind, err := NewIndirect([]int32{0, 100})
	require.NoError(t, err)
	a, c := make([]float32, 12), make([]float32, 5*32+32)
	g := [4]int{0, 8, 16, 24}
	require.NoError(t, SgemmIndirectWide(Best, ind, a, make([]float32, 132), g, nil, c, 32))
	require.Error(t, SgemmIndirectWide(Best, ind, a, make([]float32, 131), g, nil, c, 32), "offset 100 + group 24 + 8 > 131")
	require.Error(t, SgemmIndirectWide(Best, ind, a, make([]float32, 132), [4]int{0, -8, 16, 24}, nil, c, 32))
	require.Error(t, SgemmIndirectWide(Best, ind, a[:11], make([]float32, 132), g, nil, c, 32))
	require.Error(t, SgemmIndirectWide(Best, ind, a, make([]float32, 132), g, nil, c[:191], 32))
	require.Error(t, SgemmIndirectWide(Best, ind, a, make([]float32, 132), g, make([]float32, 5), c, 32))
	require.Error(t, SgemmIndirectWide(Best, ind, a, make([]float32, 132), g, nil, c, 31))
}

// BenchmarkSgemmIndirect: LeNet conv2's reduction (150 kernel positions) on 32 pixels,
// as two 6×16 tiles and as one wide 6×32 tile.
func BenchmarkSgemmIndirect(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	base := randSlice(r, 6*12*12)
	offs := make([]int32, 0, 150)
	for c := range 6 {
		for ky := range 5 {
			for kx := range 5 {
				offs = append(offs, int32(c*144+ky*12+kx))
			}
		}
	}
	ind, err := NewIndirect(offs)
	require.NoError(b, err)
	a, c := randSlice(r, 6*150), make([]float32, 6*64)
	flops := float64(2 * 6 * 32 * 150)
	for _, l := range Supported() {
		b.Run("6x16/"+l.String(), func(b *testing.B) {
			for b.Loop() {
				_ = SgemmIndirect(l, ind, a, base, 12, c, 64)
				_ = SgemmIndirect(l, ind, a, base[24:], 12, c[32:], 64)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run("6x32/"+l.String(), func(b *testing.B) {
			for b.Loop() {
				_ = SgemmIndirectWide(l, ind, a, base, [4]int{0, 12, 24, 36}, nil, c, 64)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// Every level's outer-product kernel is its twin (within rounding), and the twin is
// the definition; C is written in its 384 values only.
func TestSgemmIndirectOuterMatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, l := range Supported() {
		for _, k := range []int{1, 2, 7, 64, 577} {
			for _, rows := range [][4]int{{0, 12, 24, 36}, {5, 0, 5, 100}, {0, 0, 0, 0}} {
				base := randSlice(r, 700)
				offs := make([]int32, k)
				for p := range offs {
					offs[p] = int32(r.IntN(700 - 106))
				}
				ind, err := NewIndirect(offs)
				require.NoError(t, err)
				a := randSlice(r, 16*k)
				n := OuterRows * OuterCols * OuterLanes
				want, got := make([]float32, n+1), make([]float32, n+1)
				want[n], got[n] = 7, 7
				SgemmIndirectOuterGo(k, a, base, offs, rows, want)
				require.NoError(t, SgemmIndirectOuter(l, ind, a, base, rows, got))
				closeTo(t, want[:n], got[:n], k, l.String())
				require.Equal(t, float32(7), got[n], "%v wrote past C", l)
				row, x, i := r.IntN(4), r.IntN(6), r.IntN(16)
				s := 0.0
				for p := 0; p < k; p++ {
					s += float64(a[p*16+i]) * float64(base[int(offs[p])+rows[row]+x])
				}
				require.InDelta(t, s, float64(want[(row*6+x)*16+i]), float64(k+4)*1e-6*(1+math.Abs(s)))
			}
		}
	}
	ind, err := NewIndirect([]int32{0, 100})
	require.NoError(t, err)
	c := make([]float32, 384)
	rows := [4]int{0, 1, 2, 10}
	require.NoError(t, SgemmIndirectOuter(Best, ind, make([]float32, 32), make([]float32, 116), rows, c))
	require.Error(t, SgemmIndirectOuter(Best, ind, make([]float32, 32), make([]float32, 115), rows, c), "offset 100 + row 10 + 6 > 115")
	require.Error(t, SgemmIndirectOuter(Best, ind, make([]float32, 31), make([]float32, 116), rows, c))
	require.Error(t, SgemmIndirectOuter(Best, ind, make([]float32, 32), make([]float32, 116), rows, c[:383]))
	require.Error(t, SgemmIndirectOuter(Best, ind, make([]float32, 32), make([]float32, 116), [4]int{0, -1, 2, 3}, c))
}
