package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGELUWiring(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	x := randMat(r, 1003)
	a, b := append([]float32(nil), x...), append([]float32(nil), x...)
	GELUTanh(a)
	GELUErf(b)
	for i, v := range x {
		xf := float64(v)
		require.InDelta(t, 0.5*xf*(1+math.Tanh(math.Sqrt(2/math.Pi)*(xf+0.044715*xf*xf*xf))), float64(a[i]), 4e-7*math.Max(1, math.Abs(xf)))
		require.InDelta(t, 0.5*xf*(1+math.Erf(xf/math.Sqrt2)), float64(b[i]), 4e-7*math.Max(1, math.Abs(xf)))
	}
}

func TestSoftmax(t *testing.T) {
	x := []float32{1, 2, 3, 1000, 1001, 1002, 0, float32(math.Inf(-1)), 0}
	require.NoError(t, Softmax(x, 3, 3))
	e := []float64{math.Exp(-2), math.Exp(-1), 1}
	s := e[0] + e[1] + e[2]
	for j := 0; j < 3; j++ {
		require.InDelta(t, e[j]/s, float64(x[j]), 1e-7)
		require.InDelta(t, e[j]/s, float64(x[3+j]), 1e-7, "max-subtraction keeps large logits finite")
	}
	require.Equal(t, []float32{0.5, 0, 0.5}, x[6:])
	allMasked := []float32{float32(math.Inf(-1)), float32(math.Inf(-1))}
	require.NoError(t, Softmax(allMasked, 1, 2))
	require.True(t, math.IsNaN(float64(allMasked[0])), "all -Inf row is NaN, as in PyTorch")
	withNaN := []float32{1, float32(math.NaN()), 2}
	require.NoError(t, Softmax(withNaN, 1, 3))
	for _, v := range withNaN {
		require.True(t, math.IsNaN(float64(v)))
	}
	require.ErrorIs(t, Softmax(x, 4, 3), ErrArgs)
}

func TestLayerNorm(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	rows, cols := 5, 77
	x := randMat(r, rows*cols)
	for i := range x {
		x[i] = x[i]*3 + 100 // a large mean tests the two-pass variance
	}
	gamma, beta := randMat(r, cols), randMat(r, cols)
	out := make([]float32, len(x))
	require.NoError(t, LayerNorm(out, x, rows, cols, gamma, beta, 1e-5))
	for rr := 0; rr < rows; rr++ {
		var mean, v float64
		for j := 0; j < cols; j++ {
			mean += float64(x[rr*cols+j])
		}
		mean /= float64(cols)
		for j := 0; j < cols; j++ {
			d := float64(x[rr*cols+j]) - mean
			v += d * d
		}
		v /= float64(cols)
		for j := 0; j < cols; j++ {
			want := (float64(x[rr*cols+j])-mean)/math.Sqrt(v+1e-5)*float64(gamma[j]) + float64(beta[j])
			require.InDelta(t, want, float64(out[rr*cols+j]), 2e-5)
		}
	}
	require.NoError(t, LayerNorm(x, x, rows, cols, gamma, beta, 1e-5)) // in place
	require.Equal(t, out, x)
	require.ErrorIs(t, LayerNorm(out, x, rows, cols, gamma[:3], beta, 1e-5), ErrArgs)
}

func TestBiasAddReLU(t *testing.T) {
	x := []float32{1, 2, 3, 4, 5, 6}
	require.NoError(t, AddBias(x, 2, 3, []float32{10, -20, 30}))
	require.Equal(t, []float32{11, -18, 33, 14, -15, 36}, x)
	require.ErrorIs(t, AddBias(x, 3, 3, []float32{1, 2, 3}), ErrArgs)
	d := make([]float32, 6)
	require.NoError(t, Add(d, x, []float32{1, 1, 1, 1, 1, 1}))
	require.Equal(t, []float32{12, -17, 34, 15, -14, 37}, d)
	require.ErrorIs(t, Add(d, x[:5], x), ErrArgs)
	ReLU(d)
	require.Equal(t, []float32{12, 0, 34, 15, 0, 37}, d)
}

func TestAttentionScores(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	p := NewPool(2)
	defer p.Close()
	for _, c := range []struct{ tq, tk, past int }{{1, 9, 8}, {5, 5, 0}, {3, 7, 4}, {16, 16, 0}} {
		d := 8
		q, k := randMat(r, c.tq*d), randMat(r, c.tk*d)
		mask := make([]float32, c.tk)
		mask[1] = MaskValue // a padded key
		dst := make([]float32, c.tq*c.tk)
		scale := float32(1 / math.Sqrt(float64(d)))
		require.NoError(t, AttentionScores(p, dst, q, d, k, d, c.tq, c.tk, d, scale, true, c.past, mask))
		for i := 0; i < c.tq; i++ {
			for j := 0; j < c.tk; j++ {
				var want float64
				if j > c.past+i {
					want = -math.MaxFloat32
				} else {
					for e := 0; e < d; e++ {
						want += float64(q[i*d+e]) * float64(k[j*d+e])
					}
					want *= float64(scale)
				}
				want += float64(mask[j])
				got := float64(dst[i*c.tk+j])
				if math.IsInf(want, -1) || want < -1e38 {
					require.True(t, got < -1e38, "masked score (%d,%d) = %v", i, j, got)
					continue
				}
				require.InDelta(t, want, got, 1e-5, "score (%d,%d)", i, j)
			}
		}
	}
	require.ErrorIs(t, AttentionScores(nil, make([]float32, 3), make([]float32, 4), 2, make([]float32, 4), 2, 2, 2, 2, 1, false, 0, nil), ErrArgs)
	require.ErrorIs(t, AttentionScores(nil, make([]float32, 4), make([]float32, 4), 2, make([]float32, 4), 2, 2, 2, 2, 1, true, -1, nil), ErrArgs)
}

func BenchmarkElementwise(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 5))
	x := randMat(r, 128*3072)
	work := make([]float32, len(x))
	gamma, beta := randMat(r, 768), randMat(r, 768)
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"GELUTanh", func() { copy(work, x); GELUTanh(work) }},
		{"GELUErf", func() { copy(work, x); GELUErf(work) }},
		{"Softmax", func() { copy(work, x); _ = Softmax(work, 128*4, 768) }},
		{"LayerNorm", func() { _ = LayerNorm(work, x, 128*4, 768, gamma, beta, 1e-5) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				c.f()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(x)), "ns/elem")
		})
	}
}
