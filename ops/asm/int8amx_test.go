package asm

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// i8EpiCols is i8Epi with cols column entries.
func i8EpiCols(r *rand.Rand, rows, cols int, bias bool) *I8Epilogue {
	ep := i8Epi(r, rows, bias)
	ep.ColScale, ep.ColSum = make([]float32, cols), make([]float32, cols)
	for j := range cols {
		ep.ColScale[j] = r.Float32() * 0.01
		ep.ColSum[j] = (r.Float32() - 0.5) * 3
	}
	if bias {
		ep.Bias = make([]float32, cols)
		for j := range ep.Bias {
			ep.Bias[j] = r.Float32() - 0.5
		}
	}
	return ep
}

// TestI8AMXTilesMatchKernel: the AMX tiles give the bits of the twin and of every
// level's I8Kernel (VNNI, AVX2, generic) on the same operands, write every value of
// their block (C starts as NaN) and nothing past it.
func TestI8AMXTilesMatchKernel(t *testing.T) {
	if !HasAMXInt8(Best) {
		t.Logf("no AMX-INT8 here (%s): I8AMXTiles runs its Go twin", Best)
	}
	r := rand.New(rand.NewPCG(31, 32))
	for _, k4 := range []int{16, 32, 48, 192, 768} {
		for _, pairs := range []int{1, 3, 8} {
			for _, mode := range []string{"epilogue", "bias", "extreme"} {
				cols := 32 * pairs
				lda := 4*k4 + 4*r.IntN(3)
				a, _ := i8Operands(r, I8AMXMR, k4, lda, mode == "extreme")
				b := make([]int8, 0, 2*pairs*k4*64)
				for range 2 * pairs {
					_, panel := i8Operands(r, 1, k4, 4*k4, mode == "extreme")
					b = append(b, panel...)
				}
				ep := i8EpiCols(r, I8AMXMR, cols, mode == "bias")
				ldc := cols + r.IntN(5)
				got := make([]float32, (I8AMXMR-1)*ldc+cols+1)
				for i := range got {
					got[i] = float32(math.NaN())
				}
				got[len(got)-1] = 42
				require.NoError(t, I8AMXTiles(Best, k4, pairs, a, lda, b, got, ldc, ep))
				require.Equal(t, float32(42), got[len(got)-1], "wrote past the block")
				want := make([]float32, len(got))
				I8AMXTilesGo(k4, pairs, a, lda, b, want, ldc, ep)
				for _, l := range Supported() {
					kern := make([]float32, I8MR*16)
					for i0 := 0; i0 < I8AMXMR; i0 += I8MR {
						mr := min(I8MR, I8AMXMR-i0)
						if mr < I8MR {
							mr = 1
						}
						for i := i0; i < i0+I8MR && i < I8AMXMR; i += mr {
							for p := range 2 * pairs {
								sub := &I8Epilogue{RowScale: ep.RowScale[i:], RowZero: ep.RowZero[i:],
									ColScale: ep.ColScale[16*p:], ColSum: ep.ColSum[16*p:]}
								if ep.Bias != nil {
									sub.Bias = ep.Bias[16*p:]
								}
								require.NoError(t, I8Kernel(l, mr, k4, a[i*lda:], lda, b[p*k4*64:], kern, 16, sub))
								for ii := range mr {
									for j := range 16 {
										c := (i+ii)*ldc + 16*p + j
										require.Equal(t, math.Float32bits(kern[ii*16+j]), math.Float32bits(got[c]), "%v/%s k4=%d pairs=%d (%d,%d)", l, mode, k4, pairs, i+ii, 16*p+j)
										require.Equal(t, math.Float32bits(want[c]), math.Float32bits(got[c]), "twin %s k4=%d pairs=%d (%d,%d)", mode, k4, pairs, i+ii, 16*p+j)
									}
								}
							}
						}
					}
				}
			}
		}
	}
}

func TestI8AMXTilesRejects(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	a, b := i8Operands(r, I8AMXMR, 16, 64, false)
	b = append(b, b...)
	ep := i8EpiCols(r, I8AMXMR, 32, false)
	c := make([]float32, 32*32)
	require.NoError(t, I8AMXTiles(Best, 16, 1, a, 64, b, c, 32, ep))
	require.Error(t, I8AMXTiles(Best, 8, 1, a, 64, b, c, 32, ep), "k4 not a whole block")
	require.Error(t, I8AMXTiles(Best, 16, 0, a, 64, b, c, 32, ep), "no pairs")
	require.Error(t, I8AMXTiles(Best, 16, 1, a[:len(a)-1], 64, b, c, 32, ep), "short A")
	require.Error(t, I8AMXTiles(Best, 16, 1, a, 64, b[:len(b)-1], c, 32, ep), "short B")
	require.Error(t, I8AMXTiles(Best, 16, 1, a, 64, b, c[:len(c)-1], 32, ep), "short C")
	require.Error(t, I8AMXTiles(Best, 16, 2, a, 64, append(b, b...), make([]float32, 32*64), 64, ep), "short column arrays")
	require.Error(t, I8AMXTiles(Best, 16, 1, a, 64, b, c, 32, nil), "no epilogue")
}

// BenchmarkI8AMXTiles: 32 rows × K 768 × 256 columns, the BERT-base shape in cache.
func BenchmarkI8AMXTiles(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	const k4, pairs = 192, 8
	a, _ := i8Operands(r, I8AMXMR, k4, 4*k4, false)
	w := make([]int8, 2*pairs*k4*64)
	for i := range w {
		w[i] = int8(r.IntN(255) - 127)
	}
	ep := i8EpiCols(r, I8AMXMR, 32*pairs, true)
	c := make([]float32, I8AMXMR*32*pairs)
	for b.Loop() {
		if err := I8AMXTiles(Best, k4, pairs, a, 4*k4, w, c, 32*pairs, ep); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(2*I8AMXMR*4*k4*32*pairs)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOP/s")
}
