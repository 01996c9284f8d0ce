package asm

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func ulpDiff(a, b float32) int64 {
	ia, ib := int64(math.Float32bits(a)), int64(math.Float32bits(b))
	if (ia < 0) != (ib < 0) {
		if a == 0 && b == 0 {
			return 0
		}
		return math.MaxInt64
	}
	d := ia - ib
	if d < 0 {
		d = -d
	}
	return d
}

func TestExpf(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 1_000_000; i++ {
		x := float32(r.Float64()*200 - 105)
		want := math.Exp(float64(x))
		got := Expf(x)
		switch {
		case want > math.MaxFloat32:
			require.True(t, math.IsInf(float64(got), 1), "Expf(%v) = %v", x, got)
		case want < 0x1p-125:
			require.LessOrEqual(t, float64(got), 0x1p-124, "Expf(%v)", x)
		default:
			require.LessOrEqual(t, ulpDiff(float32(want), got), int64(2), "Expf(%v) = %v, want %v", x, got, want)
		}
	}
	require.True(t, math.IsNaN(float64(Expf(float32(math.NaN())))))
	require.Equal(t, float32(math.Inf(1)), Expf(float32(math.Inf(1))))
	require.Equal(t, float32(0), Expf(float32(math.Inf(-1))))
	require.Equal(t, float32(1), Expf(0))
	big := float32(88.7) // n = 128: the result must stay finite and accurate
	require.LessOrEqual(t, ulpDiff(float32(math.Exp(float64(big))), Expf(big)), int64(2))
}

func activationInputs(r *rand.Rand) []float32 {
	xs := []float32{0, 1e-6, -1e-6, 0.003, 0.5, -0.5, 1, -1, 2.5, -2.5, 5, -5, 9.5, -9.5, 20, -20, 100, -100, 1e30, -1e30,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	for i := 0; i < 100_003; i++ {
		xs = append(xs, float32(r.NormFloat64()*4))
	}
	return xs
}

func checkActivation(t *testing.T, name string, xs, got []float32, ref func(float64) float64, tol float64) {
	t.Helper()
	for i, v := range xs {
		want := ref(float64(v))
		g := float64(got[i])
		switch {
		case math.IsNaN(want):
			require.True(t, math.IsNaN(g), "%s(%v) = %v, want NaN", name, v, g)
		case math.IsInf(want, 0):
			require.Equal(t, want, g, "%s(%v)", name, v)
		default:
			require.InDelta(t, want, g, tol*math.Max(1, math.Abs(want)), "%s(%v)", name, v)
		}
	}
}

func TestGELUKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	xs := activationInputs(r)
	geluNew := func(x float64) float64 {
		if math.IsInf(x, -1) {
			return math.NaN() // −∞ · 0: the tanh form is undefined; PyTorch gives NaN too
		}
		return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
	}
	gelu := func(x float64) float64 {
		if math.IsInf(x, -1) {
			return math.NaN()
		}
		return 0.5 * x * (1 + math.Erf(x/math.Sqrt2))
	}
	for _, l := range Supported() {
		a, b := append([]float32(nil), xs...), append([]float32(nil), xs...)
		GELUTanh(l, a)
		GELUErf(l, b)
		checkActivation(t, l.String()+" gelu_new", xs, a, geluNew, 4e-7)
		checkActivation(t, l.String()+" gelu", xs, b, gelu, 4e-7)
		twinA, twinB := append([]float32(nil), xs...), append([]float32(nil), xs...)
		GELUTanhGo(twinA)
		GELUErfGo(twinB)
		// The kernels fuse multiply-adds that the Go twins round twice, and e^(−2u) amplifies
		// that by |2u|; the float64 checks above bound the real error.
		for i := range xs {
			if !math.IsNaN(float64(twinA[i])) {
				x := float64(xs[i])
				amp := int64(math.Min(4*math.Abs(2*math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)), 1<<20))
				require.LessOrEqual(t, ulpDiff(twinA[i], a[i]), 16+amp, "%v gelu_new(%v): kernel %v, twin %v", l, xs[i], a[i], twinA[i])
				require.LessOrEqual(t, ulpDiff(twinB[i], b[i]), int64(16), "%v gelu(%v): kernel %v, twin %v", l, xs[i], b[i], twinB[i])
			}
		}
	}
}

func TestExpSubSum(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, l := range Supported() {
		for _, n := range []int{0, 1, 7, 8, 9, 64, 1001} {
			x := make([]float32, n)
			m := float32(math.Inf(-1))
			for i := range x {
				x[i] = float32(r.NormFloat64() * 10)
				m = max(m, x[i])
			}
			if n > 2 {
				x[1] = -math.MaxFloat32 // a masked score gets exactly 0
			}
			want := append([]float32(nil), x...)
			wantSum := ExpSubSumGo(want, m)
			got := append([]float32(nil), x...)
			sum := ExpSubSum(l, got, m)
			for i := range x {
				require.LessOrEqual(t, ulpDiff(want[i], got[i]), int64(2), "%v n=%d i=%d", l, n, i)
			}
			if n > 2 {
				require.Equal(t, float32(0), got[1])
			}
			require.InDelta(t, float64(wantSum), float64(sum), 1e-6*float64(max(wantSum, 1)), "%v n=%d", l, n)
		}
	}
}

func TestMaxScaleLayerNormRow(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, l := range Supported() {
		for _, n := range []int{0, 1, 7, 8, 9, 16, 31, 64, 100, 768} {
			x := randSlice(r, n)
			want := float32(math.Inf(-1))
			for _, v := range x {
				want = max(want, v)
			}
			require.Equal(t, want, Max(l, x), "%v n=%d", l, n)
			for _, at := range []int{0, n / 2, n - 1} {
				if n == 0 {
					break
				}
				y := append([]float32(nil), x...)
				y[at] = float32(math.NaN())
				require.True(t, math.IsNaN(float64(Max(l, y))), "%v n=%d NaN at %d", l, n, at)
			}
			s := append([]float32(nil), x...)
			Scale(l, s, 0.37)
			for i, v := range x {
				require.Equal(t, v*0.37, s[i])
			}
			if n == 0 {
				continue
			}
			gamma, beta := randSlice(r, n), randSlice(r, n)
			for i := range x {
				x[i] = x[i]*3 + 5 // an offset mean
			}
			got := make([]float32, n)
			LayerNormRow(l, got, x, gamma, beta, 1e-5)
			var mean, v float64
			for _, e := range x {
				mean += float64(e)
			}
			mean /= float64(n)
			for _, e := range x {
				v += (float64(e) - mean) * (float64(e) - mean)
			}
			inv := 1 / math.Sqrt(v/float64(n)+1e-5)
			for i, e := range x {
				ref := (float64(e)-mean)*inv*float64(gamma[i]) + float64(beta[i])
				require.InDelta(t, ref, float64(got[i]), 2e-5*(1+math.Abs(ref)), "%v n=%d i=%d", l, n, i)
			}
			inPlace := append([]float32(nil), x...)
			LayerNormRow(l, inPlace, inPlace, gamma, beta, 1e-5)
			require.Equal(t, got, inPlace, "dst may alias x")
		}
	}
}

// The AVX-512 loops mask their last lanes: nothing past a slice is read or written.
// NaN beyond the end must not reach Max, ExpSubSum's sum or a layer norm's moments,
// and the values there must not change.
func TestElementwiseKernelsStayInBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	nan := float32(math.NaN())
	for _, l := range Supported() {
		for _, n := range []int{1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 47} {
			buf := make([]float32, n+16)
			fill := func() []float32 {
				for i := range buf {
					buf[i] = float32(r.NormFloat64())
				}
				for i := n; i < len(buf); i++ {
					buf[i] = nan
				}
				return buf[:n]
			}
			guard := func(what string) {
				for i := n; i < len(buf); i++ {
					require.True(t, math.IsNaN(float64(buf[i])), "%v %s n=%d wrote buf[%d]", l, what, n, i)
				}
			}
			x := fill()
			GELUTanh(l, x)
			guard("GELUTanh")
			x = fill()
			GELUErf(l, x)
			guard("GELUErf")
			x = fill()
			require.False(t, math.IsNaN(float64(Max(l, x))), "%v Max n=%d read past the end", l, n)
			m := Max(l, x)
			s := ExpSubSum(l, x, m)
			require.False(t, math.IsNaN(float64(s)), "%v ExpSubSum n=%d summed past the end", l, n)
			guard("ExpSubSum")
			Scale(l, x, 2)
			guard("Scale")
			x = fill()
			gamma, beta := randSlice(r, n), randSlice(r, n)
			dst := make([]float32, n+16)
			LayerNormRow(l, dst[:n], x, gamma, beta, 1e-5)
			for i, v := range dst[:n] {
				require.False(t, math.IsNaN(float64(v)), "%v LayerNormRow n=%d: NaN at %d", l, n, i)
			}
			require.Equal(t, make([]float32, 16), dst[n:], "%v LayerNormRow n=%d wrote past dst", l, n)
		}
	}
}

// TestAddKernels: every level's Add gives the Go twin's bits (a float add rounds the
// same in any lane), at lengths around the vector widths, in place and apart.
func TestAddKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	for _, l := range Supported() {
		for _, n := range []int{1, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1031} {
			a, b := make([]float32, n), make([]float32, n)
			for i := range a {
				a[i], b[i] = float32(r.NormFloat64()), float32(r.NormFloat64()*1e3)
			}
			want := make([]float32, n)
			AddGo(want, a, b)
			got := make([]float32, n)
			Add(l, got, a, b)
			require.Equal(t, want, got, "%v n=%d", l, n)
			inPlace := append([]float32(nil), a...)
			Add(l, inPlace, inPlace, b)
			require.Equal(t, want, inPlace, "%v n=%d in place", l, n)
		}
	}
}

// TestAddRows: the strided block add gives the twin's bits at every level.
func TestAddRows(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, l := range Supported() {
		for _, c := range []struct{ rows, n, ldc int }{{1, 1, 1}, {3, 17, 20}, {12, 32, 3072}, {5, 33, 33}, {2, 100, 130}} {
			m := make([]float32, (c.rows-1)*c.ldc+c.n)
			v := make([]float32, c.n)
			for i := range m {
				m[i] = float32(r.NormFloat64())
			}
			for i := range v {
				v[i] = float32(r.NormFloat64())
			}
			want := append([]float32(nil), m...)
			for row := 0; row < c.rows; row++ {
				AddGo(want[row*c.ldc:row*c.ldc+c.n], want[row*c.ldc:row*c.ldc+c.n], v)
			}
			AddRows(l, m, c.ldc, c.rows, v)
			require.Equal(t, want, m, "%v %+v", l, c)
		}
	}
}

// TestSiLUMul: every level within a few ulp of the twin and of the float64 definition,
// at lengths with masked and scalar tails, special values included; u is read only.
func TestSiLUMul(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	xs := activationInputs(r)
	for _, l := range Supported() {
		for _, n := range []int{1, 7, 8, 9, 17, 64, len(xs)} {
			g := append([]float32(nil), xs[:n]...)
			u := make([]float32, n+1)
			for i := range u {
				u[i] = float32(r.NormFloat64())
			}
			uc := append([]float32(nil), u...)
			twin := append([]float32(nil), g...)
			SiLUMulGo(twin, u)
			SiLUMul(l, g, u)
			require.Equal(t, uc, u, "%v: u changed", l)
			for i := range g {
				x := float64(xs[i])
				want := x / (1 + math.Exp(-x)) * float64(u[i])
				if math.IsNaN(float64(twin[i])) || math.IsInf(x, 0) {
					require.Equal(t, math.IsNaN(float64(twin[i])), math.IsNaN(float64(g[i])), "%v silu(%v)", l, x)
					continue
				}
				require.LessOrEqual(t, ulpDiff(twin[i], g[i]), int64(4), "%v silu(%v)·%v: kernel %v, twin %v", l, x, u[i], g[i], twin[i])
				require.InDelta(t, want, float64(g[i]), 1e-6*(1+math.Abs(want)), "%v silu(%v)·%v", l, x, u[i])
			}
		}
	}
	require.Panics(t, func() { SiLUMul(Best, make([]float32, 3), make([]float32, 2)) })
}
