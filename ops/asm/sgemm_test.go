package asm

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// closeTo compares with a bound proportional to k·eps·(scale of the terms).
func closeTo(t *testing.T, want, got []float32, k int, msg string) {
	t.Helper()
	tol := float64(k+4) * 1.2e-7 * 8
	for i := range want {
		w, g := float64(want[i]), float64(got[i])
		if math.IsNaN(w) || math.IsNaN(g) {
			require.Equal(t, math.IsNaN(w), math.IsNaN(g), "%s: element %d: want %v got %v", msg, i, w, g)
			continue
		}
		require.InDelta(t, w, g, tol*(1+math.Abs(w)), "%s: element %d", msg, i)
	}
}

func TestSgemmKernelMatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, l := range Supported() {
		mr, nr := Tile(l)
		for _, k := range []int{0, 1, 2, 3, 7, 16, 31, 64, 257} {
			for _, ab := range [][2]float32{{1, 0}, {1, 1}, {0.5, -2}, {-1.5, 0.25}, {0, 1}} {
				ldc := nr + r.IntN(5)
				a, b := randSlice(r, k*mr), randSlice(r, k*nr)
				c0 := randSlice(r, (mr-1)*ldc+nr)
				want := append([]float32(nil), c0...)
				got := append([]float32(nil), c0...)
				SgemmKernelGo(mr, nr, k, a, b, want, ldc, ab[0], ab[1])
				require.NoError(t, SgemmKernel(l, k, a, b, got, ldc, ab[0], ab[1]))
				closeTo(t, want, got, k, l.String())
				// Padding between rows is untouched.
				for i := 0; i < mr-1; i++ {
					for j := nr; j < ldc; j++ {
						require.Equal(t, c0[i*ldc+j], got[i*ldc+j], "%v wrote outside the tile", l)
					}
				}
			}
		}
	}
}

func TestSgemmKernelNaNAndBetaZero(t *testing.T) {
	for _, l := range Supported() {
		mr, nr := Tile(l)
		k := 5
		a, b := make([]float32, k*mr), make([]float32, k*nr)
		for i := range a {
			a[i] = 1
		}
		for i := range b {
			b[i] = 2
		}
		c := make([]float32, mr*nr)
		for i := range c {
			c[i] = float32(math.NaN())
		}
		require.NoError(t, SgemmKernel(l, k, a, b, c, nr, 1, 0))
		for i := range c {
			require.Equal(t, float32(10), c[i], "%v: beta=0 must not read C", l)
		}
		a[0] = float32(math.NaN()) // row 0 of the tile
		b[nr+1] = float32(math.Inf(1))
		require.NoError(t, SgemmKernel(l, k, a, b, c, nr, 1, 0))
		for j := 0; j < nr; j++ {
			require.True(t, math.IsNaN(float64(c[j])), "%v: NaN in A must reach row 0", l)
		}
		for i := 1; i < mr; i++ {
			require.True(t, math.IsInf(float64(c[i*nr+1]), 1), "%v: Inf in B must reach column 1", l)
			require.Equal(t, float32(10), c[i*nr+2], "%v", l)
		}
	}
}

func TestSgemmKernelRejects(t *testing.T) {
	mr, nr := Tile(Best)
	require.Error(t, SgemmKernel(Best, 4, make([]float32, 4*mr-1), make([]float32, 4*nr), make([]float32, mr*nr), nr, 1, 0))
	require.Error(t, SgemmKernel(Best, 4, make([]float32, 4*mr), make([]float32, 4*nr), make([]float32, mr*nr-1), nr, 1, 0))
	require.Error(t, SgemmKernel(Best, 1, make([]float32, mr), make([]float32, nr), make([]float32, mr*nr), nr-1, 1, 0))
	for _, l := range []Level{AVX2, AVX512, NEON} {
		if !Available(l) {
			mr, nr := Tile(l)
			require.Error(t, SgemmKernel(l, 1, make([]float32, mr), make([]float32, nr), make([]float32, mr*nr), nr, 1, 0))
		}
	}
}

func TestLevels(t *testing.T) {
	for _, l := range []Level{Generic, AVX2, AVX512, NEON} {
		got, err := ParseLevel(l.String())
		require.NoError(t, err)
		require.Equal(t, l, got)
	}
	_, err := ParseLevel("sse9")
	require.Error(t, err)
	require.True(t, Available(Best))
	require.NotEmpty(t, BestReason)
	require.Equal(t, Generic, Supported()[0])
}

// BenchmarkSgemmKernel measures each micro-kernel with its panels in L1/L2 (k = 256).
func BenchmarkSgemmKernel(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, l := range Supported() {
		b.Run(l.String(), func(b *testing.B) {
			mr, nr := Tile(l)
			k := 256
			a, bb, c := randSlice(r, k*mr), randSlice(r, k*nr), make([]float32, mr*nr)
			for b.Loop() {
				sgemmKernel(l, k, a, bb, c, nr, 1, 1, nil)
			}
			b.ReportMetric(float64(2*mr*nr*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// The short kernel computes the first ShortRows rows of the tile exactly as the full
// kernel does, and writes no other row.
func TestSgemmKernelShort(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, l := range Supported() {
		mr, nr := Tile(l)
		rows := ShortRows(l)
		for _, k := range []int{0, 1, 5, 256, 301} {
			for _, beta := range []float32{0, 1, 0.5} {
				a, b := randSlice(r, k*mr), randSlice(r, k*nr)
				ldc := nr + 3
				c0 := randSlice(r, mr*ldc)
				full := append([]float32(nil), c0...)
				short := append([]float32(nil), c0...)
				require.NoError(t, SgemmKernel(l, k, a, b, full, ldc, 1.5, beta))
				require.NoError(t, SgemmKernelShort(l, k, a, b, short, ldc, 1.5, beta, nil))
				for i := 0; i < mr; i++ {
					for j := 0; j < ldc; j++ {
						want := c0[i*ldc+j] // untouched: padding columns and rows past the short tile
						if i < rows && j < nr {
							want = full[i*ldc+j]
						}
						require.Equal(t, math.Float32bits(want), math.Float32bits(short[i*ldc+j]), "%v k=%d beta=%v [%d,%d]", l, k, beta, i, j)
					}
				}
			}
		}
		require.Error(t, SgemmKernelShort(l, 4, make([]float32, 4*mr-1), make([]float32, 4*nr), make([]float32, mr*nr), nr, 1, 0, nil))
	}
}
