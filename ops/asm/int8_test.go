package asm

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// i8Operands returns random 7-bit activations (mr rows, stride lda) and int8 weights
// in [-127, 127]; extreme fills every byte with its largest magnitude, the case
// where an int16 pair sum would saturate if the ranges were wider.
func i8Operands(r *rand.Rand, mr, k4, lda int, extreme bool) ([]uint8, []int8) {
	a := make([]uint8, (mr-1)*lda+4*k4)
	b := make([]int8, 64*k4)
	for i := range a {
		a[i] = uint8(r.IntN(128))
		if extreme {
			a[i] = 127
		}
	}
	for i := range b {
		b[i] = int8(r.IntN(255) - 127)
		if extreme {
			b[i] = int8(127 - 254*(i/4%2)) // alternate +127 / -127 column by column
		}
	}
	return a, b
}

func i8Epi(r *rand.Rand, mr int, bias bool) *I8Epilogue {
	ep := &I8Epilogue{RowScale: make([]float32, mr), RowZero: make([]float32, mr),
		ColScale: make([]float32, 16), ColSum: make([]float32, 16)}
	for i := range mr {
		ep.RowScale[i] = r.Float32() * 0.1
		ep.RowZero[i] = ep.RowScale[i] * float32(r.IntN(128))
	}
	for j := range 16 {
		ep.ColScale[j] = r.Float32() * 0.01
		ep.ColSum[j] = (r.Float32() - 0.5) * 3
	}
	if bias {
		ep.Bias = make([]float32, 16)
		for j := range ep.Bias {
			ep.Bias[j] = r.Float32() - 0.5
		}
	}
	return ep
}

func TestI8KernelMatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, l := range Supported() {
		for _, mr := range []int{1, I8MR} {
			for _, k4 := range []int{1, 2, 3, 5, 7, 64, 192, 769} {
				for _, mode := range []string{"raw", "epilogue", "bias", "extreme"} {
					lda := 4*k4 + 4*r.IntN(3)
					a, b := i8Operands(r, mr, k4, lda, mode == "extreme")
					var ep *I8Epilogue
					if mode == "epilogue" || mode == "bias" {
						ep = i8Epi(r, mr, mode == "bias")
					}
					ldc := 16 + r.IntN(5)
					want := make([]float32, (mr-1)*ldc+17)
					got := make([]float32, len(want))
					got[len(got)-1] = 42
					I8KernelGo(mr, k4, a, lda, b, want, ldc, ep)
					require.NoError(t, I8Kernel(l, mr, k4, a, lda, b, got, ldc, ep))
					name := l.String() + "/" + mode
					for i := 0; i < mr; i++ {
						for j := 0; j < 16; j++ {
							require.Equal(t, math.Float32bits(want[i*ldc+j]), math.Float32bits(got[i*ldc+j]), "%s mr=%d k4=%d (%d,%d)", name, mr, k4, i, j)
						}
					}
					require.Equal(t, float32(42), got[len(got)-1], "wrote past the tile")
				}
			}
		}
	}
}

// The twin itself against a plain int64 sum: exact, including the extremes.
func TestI8KernelGoExact(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, extreme := range []bool{false, true} {
		k4 := 3000 // 12000 products: near the int32 limit at the extremes? 12000·127·127 ≈ 1.9e8
		a, b := i8Operands(r, I8MR, k4, 4*k4, extreme)
		c := make([]float32, I8MR*16)
		I8KernelGo(I8MR, k4, a, 4*k4, b, c, 16, nil)
		for i := range I8MR {
			for j := range 16 {
				var s int64
				for p := 0; p < 4*k4; p++ {
					s += int64(a[i*4*k4+p]) * int64(b[p/4*64+4*j+p%4])
				}
				require.Equal(t, s, int64(int32(math.Float32bits(c[i*16+j]))))
			}
		}
	}
}

func TestI8KernelRejects(t *testing.T) {
	a, b, c := make([]uint8, 6*8), make([]int8, 128), make([]float32, 6*16)
	require.NoError(t, I8Kernel(Best, 6, 2, a, 8, b, c, 16, nil))
	require.Error(t, I8Kernel(Best, 4, 2, a, 8, b, c, 16, nil))
	require.Error(t, I8Kernel(Best, 6, 3, a, 8, b, c, 16, nil))
	require.Error(t, I8Kernel(Best, 6, 2, a, 8, b[:127], c, 16, nil))
	require.Error(t, I8Kernel(Best, 6, 2, a, 8, b, c[:95], 16, nil))
	require.Error(t, I8Kernel(Best, 6, 0, a, 8, b, c, 16, nil))
	require.Error(t, I8Kernel(Best, 1, 2, a, 8, b, c, 16, &I8Epilogue{RowScale: []float32{1}}))
}

func TestI8QuantizeRow(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, l := range Supported() {
		for _, n := range []int{0, 1, 7, 31, 32, 33, 64, 95, 768, 3072} {
			for _, shift := range []float32{0, 3, -3} { // two-sided, all positive, all negative
				x := make([]float32, n)
				for i := range x {
					x[i] = float32(r.NormFloat64()) + shift
				}
				got := make([]uint8, n+1)
				got[n] = 200
				scale, zero := I8QuantizeRow(l, got, x)
				// The twin, spelled out.
				lo, hi := I8MinMaxGo(x)
				wScale, inv, wZero := i8Params(lo, hi)
				want := make([]uint8, n)
				I8QuantizeGo(want, x, inv, wZero)
				require.Equal(t, wScale, scale)
				require.Equal(t, wZero, zero)
				require.Equal(t, want, got[:n], "%v n=%d", l, n)
				require.Equal(t, uint8(200), got[n])
				for i, v := range x { // within half a step of the value (the range includes 0)
					require.LessOrEqual(t, got[i], uint8(127))
					back := scale * float32(int32(got[i])-zero)
					require.InDelta(t, v, back, float64(scale)*0.5001+1e-6, "%v n=%d i=%d", l, n, i)
				}
			}
		}
	}
}

func TestI8QuantizeSpecialRows(t *testing.T) {
	for _, l := range Supported() {
		dst := make([]uint8, 64)
		scale, zero := I8QuantizeRow(l, dst, make([]float32, 64))
		require.Equal(t, float32(1), scale)
		require.Equal(t, int32(0), zero)
		require.Equal(t, make([]uint8, 64), dst)
		for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
			for _, at := range []int{0, 17, 40, 63, 64 + 5, 128 + 47, 255} {
				x := make([]float32, 64*(1+at/64))
				x[at] = bad
				scale, _ := I8QuantizeRow(l, make([]uint8, len(x)), x)
				require.True(t, math.IsNaN(float64(scale)), "%v: %v at %d of %d gives scale %v", l, bad, at, len(x), scale)
			}
		}
	}
}

func BenchmarkI8Kernel6x16(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	k4 := 192
	a, w := i8Operands(r, I8MR, k4, 4*k4, false)
	ep := i8Epi(r, I8MR, true)
	c := make([]float32, I8MR*16)
	b.SetBytes(int64(I8MR * 16 * 4 * k4)) // MACs
	for b.Loop() {
		i8Kernel(Best, I8MR, k4, a, 4*k4, w, c, 16, ep)
	}
}

func TestI8Gemv64MatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, l := range Supported() {
		for _, k4 := range []int{1, 2, 3, 5, 64, 193} {
			for _, mode := range []string{"raw", "epilogue", "bias", "extreme"} {
				pstride := 64*k4 + 64*r.IntN(2)
				a, _ := i8Operands(r, 1, k4, 4*k4, mode == "extreme")
				_, b := i8Operands(r, 1, (3*pstride+64*k4)/64, 4, mode == "extreme")
				var ep *I8Epilogue
				if mode == "epilogue" || mode == "bias" {
					ep = &I8Epilogue{}
					for range 4 {
						e := i8Epi(r, 1, mode == "bias")
						ep.RowScale, ep.RowZero = e.RowScale, e.RowZero
						ep.ColScale = append(ep.ColScale, e.ColScale...)
						ep.ColSum = append(ep.ColSum, e.ColSum...)
						if e.Bias != nil {
							ep.Bias = append(ep.Bias, e.Bias...)
						}
					}
				}
				want, got := make([]float32, 65), make([]float32, 65)
				got[64] = 42
				I8Gemv64Go(k4, a, b, pstride, want, ep)
				require.NoError(t, I8Gemv64(l, k4, a, b, pstride, got, ep))
				for j := range 64 {
					require.Equal(t, math.Float32bits(want[j]), math.Float32bits(got[j]), "%v/%s k4=%d col %d", l, mode, k4, j)
				}
				require.Equal(t, float32(42), got[64])
			}
		}
	}
	require.Error(t, I8Gemv64(Best, 2, make([]uint8, 8), make([]int8, 3*128+127), 128, make([]float32, 64), nil))
}

func BenchmarkI8QuantizeRow(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, 768)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	dst := make([]uint8, 768)
	b.SetBytes(4 * 768)
	for b.Loop() {
		I8QuantizeRow(Best, dst, x)
	}
}

func TestI8TilesIsTheKernelPerTile(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, l := range Supported() {
		tiles, k4, lda, ldc := 3, 37, 4*37+8, 20
		a, b := i8Operands(r, tiles*I8MR, k4, lda, false)
		ep := i8Epi(r, tiles*I8MR, true)
		got := make([]float32, (tiles*I8MR-1)*ldc+16)
		require.NoError(t, I8Tiles(l, tiles, k4, a, lda, b, got, ldc, ep))
		for tt := range tiles {
			row := I8MR * tt
			sub := *ep
			sub.RowScale, sub.RowZero = ep.RowScale[row:], ep.RowZero[row:]
			want := make([]float32, (I8MR-1)*ldc+16)
			I8KernelGo(I8MR, k4, a[row*lda:], lda, b, want, ldc, &sub)
			for i := range I8MR {
				require.Equal(t, want[i*ldc:i*ldc+16], got[(row+i)*ldc:(row+i)*ldc+16], "%v tile %d row %d", l, tt, i)
			}
		}
		require.Error(t, I8Tiles(l, 0, k4, a, lda, b, got, ldc, ep))
		require.Error(t, I8Tiles(l, tiles+1, k4, a, lda, b, got, ldc, ep))
		require.Error(t, I8Tiles(l, tiles, k4, a, lda, b, got, ldc, nil))
	}
}

// TestI8TilesPairIsTheKernelPerPanel: the two-panel tiles give, bit for bit, what
// I8Tiles gives on each panel, at every level, with and without bias, and write
// nothing past their rows.
func TestI8TilesPairIsTheKernelPerPanel(t *testing.T) {
	r := rand.New(rand.NewPCG(62, 32))
	for _, l := range Supported() {
		for _, k4 := range []int{1, 3, 16, 97, 192} {
			for _, tiles := range []int{1, 2, 5} {
				for _, bias := range []bool{false, true} {
					rows := I8MR * tiles
					lda := 4*k4 + 4*r.IntN(3)
					a, _ := i8Operands(r, rows, k4, lda, false)
					_, b0 := i8Operands(r, 1, k4, 4*k4, false)
					_, b1 := i8Operands(r, 1, k4, 4*k4, k4 == 3)
					b := append(b0, b1...)
					ep := i8EpiCols(r, rows, 32, bias)
					ldc := 32 + r.IntN(4)
					got := make([]float32, (rows-1)*ldc+33)
					got[len(got)-1] = 42
					require.NoError(t, I8TilesPair(l, tiles, k4, a, lda, b, got, ldc, ep))
					require.Equal(t, float32(42), got[len(got)-1], "wrote past the tiles")
					want := make([]float32, len(got))
					for p := range 2 {
						sub := *ep
						sub.ColScale, sub.ColSum = ep.ColScale[16*p:], ep.ColSum[16*p:]
						if bias {
							sub.Bias = ep.Bias[16*p:]
						}
						require.NoError(t, I8Tiles(l, tiles, k4, a, lda, b[64*k4*p:], want[16*p:], ldc, &sub))
					}
					for i := range rows {
						for j := range 32 {
							require.Equal(t, math.Float32bits(want[i*ldc+j]), math.Float32bits(got[i*ldc+j]), "%v k4=%d tiles=%d bias=%v (%d,%d)", l, k4, tiles, bias, i, j)
						}
					}
				}
			}
		}
	}
	r2 := rand.New(rand.NewPCG(1, 1))
	a, b := i8Operands(r2, I8MR, 4, 16, false)
	require.Error(t, I8TilesPair(Best, 1, 4, a, 16, b, make([]float32, 6*32), 32, i8EpiCols(r2, I8MR, 32, false)), "one panel of B for two")
}

// BenchmarkI8TilesPair: 6 rows × K 768 × 32 columns on one and two panel kernels.
func BenchmarkI8TilesPair(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 3))
	const k4, tiles = 192, 8
	a, _ := i8Operands(r, I8MR*tiles, k4, 4*k4, false)
	w := make([]int8, 128*k4)
	for i := range w {
		w[i] = int8(r.IntN(255) - 127)
	}
	ep := i8EpiCols(r, I8MR*tiles, 32, true)
	c := make([]float32, I8MR*tiles*32)
	ops := float64(2*I8MR*tiles*4*k4*32) / 1e9
	b.Run("pair", func(b *testing.B) {
		for b.Loop() {
			_ = I8TilesPair(Best, tiles, k4, a, 4*k4, w, c, 32, ep)
		}
		b.ReportMetric(ops*float64(b.N)/b.Elapsed().Seconds(), "GOP/s")
	})
	b.Run("single", func(b *testing.B) {
		for b.Loop() {
			for p := range 2 {
				sub := *ep
				sub.ColScale, sub.ColSum, sub.Bias = ep.ColScale[16*p:], ep.ColSum[16*p:], ep.Bias[16*p:]
				_ = I8Tiles(Best, tiles, k4, a, 4*k4, w[64*k4*p:], c[16*p:], 32, &sub)
			}
		}
		b.ReportMetric(ops*float64(b.N)/b.Elapsed().Seconds(), "GOP/s")
	})
}
