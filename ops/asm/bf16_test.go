package asm

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lumen-ml/lumen/tensor"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// packBF16Tiles lays a k×n row-major matrix out as BF16Tiles's B (zero past k and n).
func packBF16Tiles(b []float32, k, n int) (tiles []uint16, kb, panels int) {
	kb, panels = (k+BF16KB-1)/BF16KB, (n+BF16NR-1)/BF16NR
	tiles = make([]uint16, panels*kb*BF16PanelBlock)
	for p := range k {
		for j := range n {
			tiles[BF16Offset(kb, p, j)] = tensor.F32ToBF16(b[p*n+j])
		}
	}
	return tiles, kb, panels
}

func TestBF16TilesMatchTwinAndGonum(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 31))
	kernels := []BF16Kernel{BF16Generic}
	if BestBF16 != BF16Generic {
		kernels = append(kernels, BestBF16)
	}
	t.Logf("BF16 kernel: %v (%s)", BestBF16, BF16Reason)
	for _, shape := range [][2]int{{1, 1}, {31, 17}, {32, 32}, {33, 64}, {97, 45}, {768, 96}, {5, 160}} {
		k, n := shape[0], shape[1]
		b := make([]float32, k*n)
		for i := range b {
			b[i] = rng.Float32()*2 - 1
		}
		tiles, kb, panels := packBF16Tiles(b, k, n)
		lda := kb*BF16KB + 3*rng.IntN(2)*BF16KB // a stride past the row, sometimes
		a := make([]uint16, BF16MR*lda)
		af := make([]float64, BF16MR*k)
		for i := range BF16MR {
			for p := range k {
				v := tensor.F32ToBF16(rng.Float32()*2 - 1)
				a[i*lda+p] = v
				af[i*k+p] = float64(tensor.BF16ToF32(v))
			}
		}
		bf := make([]float64, k*n)
		for i, v := range b {
			bf[i] = float64(tensor.BF16ToF32(tensor.F32ToBF16(v)))
		}
		want := make([]float64, BF16MR*n)
		blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, blas64.General{Rows: BF16MR, Cols: k, Stride: k, Data: af},
			blas64.General{Rows: k, Cols: n, Stride: n, Data: bf}, 0, blas64.General{Rows: BF16MR, Cols: n, Stride: n, Data: want})
		ldc := panels*BF16NR + 5
		var twin []float32
		for _, kern := range kernels {
			c := make([]float32, BF16MR*ldc)
			for i := range c {
				c[i] = float32(math.NaN()) // every value must be written
			}
			require.NoError(t, BF16Tiles(kern, a, lda, tiles, kb, panels, c, ldc))
			for i := range BF16MR {
				for j := range n {
					got := float64(c[i*ldc+j])
					require.InDelta(t, want[i*n+j], got, 1e-5*float64(k), "%v %d×%d C[%d][%d]", kern, k, n, i, j)
				}
				for j := n; j < panels*BF16NR; j++ {
					require.Zero(t, c[i*ldc+j], "%v: a padding column is not zero", kern)
				}
			}
			if twin == nil {
				twin = c
				continue
			}
			for i := range BF16MR {
				for j := range n {
					require.InDelta(t, twin[i*ldc+j], c[i*ldc+j], 2e-6*float64(k), "%v vs its twin", kern)
				}
			}
		}
	}
}

func TestBF16TilesRejects(t *testing.T) {
	a, b, c := make([]uint16, 32*32), make([]uint16, BF16PanelBlock), make([]float32, 32*32)
	require.NoError(t, BF16Tiles(BF16Generic, a, 32, b, 1, 1, c, 32))
	require.Error(t, BF16Tiles(BestBF16, a[:len(a)-1], 32, b, 1, 1, c, 32))
	require.Error(t, BF16Tiles(BestBF16, a, 31, b, 1, 1, c, 32))
	require.Error(t, BF16Tiles(BestBF16, a, 32, b, 1, 2, c, 32))
	require.Error(t, BF16Tiles(BestBF16, a, 32, b, 1, 1, c[:len(c)-1], 32))
	require.Error(t, BF16Tiles(BestBF16, a, 32, b, 0, 1, c, 32))
}

func TestF32ToBF16MatchesTensor(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	specials := []uint32{0x7f800000, 0xff800000, 0x7f800001, 0x7fc00000, 0xffffffff, 0x7f80ffff, 0x7f81ffff, 0, 0x80000000, 0x00000001, 0x3f808000, 0x3f818000, 0x7f7fffff}
	for _, l := range Supported() {
		for _, n := range []int{1, 15, 16, 17, 100, 1000} {
			src := make([]float32, n)
			for i := range src {
				u := rng.Uint32()
				if i < len(specials) && n >= 16 {
					u = specials[i]
				}
				src[i] = math.Float32frombits(u)
			}
			got := make([]uint16, n)
			F32ToBF16(l, got, src)
			for i, v := range src {
				require.Equal(t, tensor.F32ToBF16(v), got[i], "%v n=%d: %#08x", l, n, math.Float32bits(v))
			}
		}
	}
}

// BenchmarkBF16Tiles: one call over a 32×768 A and 8 panels (256 columns), the
// blocks in cache; GFLOP/s as the metric.
func BenchmarkBF16Tiles(b *testing.B) {
	const kb, panels = 24, 8
	a := make([]uint16, BF16MR*kb*BF16KB)
	w := make([]uint16, panels*kb*BF16PanelBlock)
	c := make([]float32, BF16MR*panels*BF16NR)
	for i := range a {
		a[i] = tensor.F32ToBF16(float32(i%7) - 3)
	}
	for i := range w {
		w[i] = tensor.F32ToBF16(float32(i%5) - 2)
	}
	for b.Loop() {
		_ = BF16Tiles(BestBF16, a, kb*BF16KB, w, kb, panels, c, panels*BF16NR)
	}
	b.ReportMetric(2*BF16MR*kb*BF16KB*panels*BF16NR*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
