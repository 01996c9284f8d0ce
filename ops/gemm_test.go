package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/lumen-ml/lumen/ops/asm"
	"github.com/lumen-ml/lumen/tensor"
)

type gemmCase struct {
	transA, transB bool
	m, n, k        int
	lda, ldb, ldc  int
	alpha, beta    float32
}

func (c gemmCase) String() string {
	return fmt.Sprintf("tA=%v tB=%v m=%d n=%d k=%d ld=%d,%d,%d α=%g β=%g", c.transA, c.transB, c.m, c.n, c.k, c.lda, c.ldb, c.ldc, c.alpha, c.beta)
}

func randMat(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

func newCase(r *rand.Rand, m, n, k int) (gemmCase, []float32, []float32, []float32) {
	c := gemmCase{transA: r.IntN(2) == 1, transB: r.IntN(2) == 1, m: m, n: n, k: k}
	ar, ac := m, k
	if c.transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if c.transB {
		br, bc = n, k
	}
	c.lda, c.ldb, c.ldc = ac+r.IntN(3), bc+r.IntN(3), n+r.IntN(3)
	ab := [][2]float32{{1, 0}, {1, 1}, {0.5, -1.5}, {-2, 0.25}}[r.IntN(4)]
	c.alpha, c.beta = ab[0], ab[1]
	a := randMat(r, max(0, (ar-1)*c.lda+ac))
	b := randMat(r, max(0, (br-1)*c.ldb+bc))
	cc := randMat(r, max(0, (m-1)*c.ldc+n))
	return c, a, b, cc
}

// reference computes the case in float64 with gonum's Dgemm, and the error bound
// 2·(k+2)·eps32·(|α|·Σ|a||b| + |β||c|) for every element.
func reference(c gemmCase, a, b, cIn []float32) (want, bound []float64) {
	f64 := func(s []float32) []float64 {
		o := make([]float64, len(s))
		for i, v := range s {
			o[i] = float64(v)
		}
		return o
	}
	abs := func(s []float64) []float64 {
		o := make([]float64, len(s))
		for i, v := range s {
			o[i] = math.Abs(v)
		}
		return o
	}
	tr := func(t bool) blas.Transpose {
		if t {
			return blas.Trans
		}
		return blas.NoTrans
	}
	a64, b64 := f64(a), f64(b)
	want = f64(cIn)
	bound = abs(f64(cIn))
	if c.m == 0 || c.n == 0 {
		return
	}
	impl := gonum.Implementation{}
	k := max(c.k, 1)
	lda, ldb := max(c.lda, 1), max(c.ldb, 1)
	if c.k == 0 {
		a64, b64 = make([]float64, c.m*1+c.k), make([]float64, c.n+1)
		lda, ldb = 1, 1
		if c.transA {
			lda = c.m
		}
		if !c.transB {
			ldb = c.n
		}
	}
	impl.Dgemm(tr(c.transA), tr(c.transB), c.m, c.n, k*boolInt(c.k > 0), float64(c.alpha), a64, lda, b64, ldb, float64(c.beta), want, c.ldc)
	impl.Dgemm(tr(c.transA), tr(c.transB), c.m, c.n, k*boolInt(c.k > 0), math.Abs(float64(c.alpha)), abs(a64), lda, abs(b64), ldb, math.Abs(float64(c.beta)), bound, c.ldc)
	for i := range bound {
		bound[i] = 2*float64(c.k+2)*float64(math.Nextafter32(1, 2)-1)*bound[i] + 1e-30
	}
	return
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func requireClose(t *testing.T, c gemmCase, want, bound []float64, got []float32, label string) {
	t.Helper()
	for i := 0; i < c.m; i++ {
		for j := 0; j < c.n; j++ {
			idx := i*c.ldc + j
			if d := math.Abs(float64(got[idx]) - want[idx]); !(d <= bound[idx]) {
				t.Fatalf("%s %v: C[%d,%d] = %v, want %v (error %.3g > bound %.3g)", label, c, i, j, got[idx], want[idx], d, bound[idx])
			}
		}
	}
}

var shapeDims = []int{1, 2, 3, 4, 5, 7, 13, 16, 17, 31, 33, 64, 97, 257, 300}

func TestSgemmAllLevels(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 20))
	pools := map[string]*Pool{"nil": nil, "1": NewPool(1), "2": NewPool(2)}
	defer pools["1"].Close()
	defer pools["2"].Close()
	n := 60
	if testing.Short() {
		n = 15
	}
	for _, l := range asm.Supported() {
		for it := 0; it < n; it++ {
			m, nn, k := shapeDims[r.IntN(len(shapeDims))], shapeDims[r.IntN(len(shapeDims))], shapeDims[r.IntN(len(shapeDims))]
			c, a, b, cIn := newCase(r, m, nn, k)
			want, bound := reference(c, a, b, cIn)
			for name, p := range pools {
				got := append([]float32(nil), cIn...)
				sgemm(NewWorkspace(p), l, c.transA, c.transB, c.m, c.n, c.k, c.alpha, a, c.lda, b, c.ldb, c.beta, got, c.ldc)
				requireClose(t, c, want, bound, got, l.String()+"/pool "+name)
			}
		}
	}
}

// TestSgemmBlocking covers shapes past every cache block (KC, MC, NC) on the best level.
func TestSgemmBlocking(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 21))
	bl := asm.BlockingFor(asm.Best)
	p := NewPool(2)
	defer p.Close()
	ws := NewWorkspace(p)
	// {MC, ...}: one row block, so an unpacked B is packed micro-panel by micro-panel.
	for _, s := range [][3]int{{bl.MC + 7, 40, bl.KC*2 + 3}, {9, bl.NC + 19, 5}, {bl.MC*2 + 1, 2*bl.NR + 1, 3}, {bl.MC, 3*bl.NR + 5, bl.KC*2 + 3}} {
		c, a, b, cIn := newCase(r, s[0], s[1], s[2])
		want, bound := reference(c, a, b, cIn)
		got := append([]float32(nil), cIn...)
		Sgemm(ws, c.transA, c.transB, c.m, c.n, c.k, c.alpha, a, c.lda, b, c.ldb, c.beta, got, c.ldc)
		requireClose(t, c, want, bound, got, "blocking")
	}
}

func TestSgemmPackedWeights(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 22))
	p := NewPool(2)
	defer p.Close()
	ws := NewWorkspace(p)
	for _, l := range asm.Supported() {
		for _, wt := range []tensor.DType{tensor.F32, tensor.BF16, tensor.F16} {
			for it := 0; it < 12; it++ {
				m := []int{1, 2, 3, 4, 6, 13, 40}[r.IntN(7)]
				c, a, b, cIn := newCase(r, m, shapeDims[r.IntN(len(shapeDims))], shapeDims[r.IntN(len(shapeDims))])
				awt, err := weightType(wt)
				require.NoError(t, err)
				pb, err := packB(l, c.transB, c.k, c.n, b, c.ldb, awt)
				require.NoError(t, err)
				// The reference sees the weights exactly as stored.
				rounded := append([]float32(nil), b...)
				for i, v := range rounded {
					switch wt {
					case tensor.BF16:
						rounded[i] = tensor.BF16ToF32(tensor.F32ToBF16(v))
					case tensor.F16:
						rounded[i] = tensor.F16ToF32(tensor.F32ToF16(v))
					}
				}
				want, bound := reference(c, a, rounded, cIn)
				got := append([]float32(nil), cIn...)
				SgemmPacked(ws, c.transA, c.m, c.alpha, a, c.lda, pb, c.beta, got, c.ldc)
				requireClose(t, c, want, bound, got, l.String()+"/"+wt.String())
			}
		}
	}
}

func TestPackBHalfKeepsBits(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 23))
	k, n := 37, 45
	w := randMat(r, n*k) // a Linear weight [out=n, in=k]
	bits := make([]uint16, len(w))
	tensor.F32ToBF16Slice(bits, w)
	pb, err := PackBHalf(true, k, n, bits, k, tensor.BF16)
	require.NoError(t, err)
	require.Equal(t, tensor.BF16, pb.DType())
	pb2, err := PackB(true, k, n, w, k, tensor.BF16)
	require.NoError(t, err)
	require.Equal(t, pb2.u16, pb.u16)
	_, err = PackBHalf(true, k, n, bits, k, tensor.F32)
	require.ErrorIs(t, err, ErrArgs)
}

func TestPackedColumn(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 25))
	n, k := 37, 19
	w := randMat(r, n*k) // [n, k], like an embedding table
	for _, wt := range []tensor.DType{tensor.F32, tensor.BF16, tensor.F16} {
		pb, err := PackB(true, k, n, w, k, wt)
		require.NoError(t, err)
		col := make([]float32, k)
		for j := 0; j < n; j++ {
			require.NoError(t, pb.Column(j, col))
			for p := 0; p < k; p++ {
				want := w[j*k+p]
				switch wt {
				case tensor.BF16:
					want = tensor.BF16ToF32(tensor.F32ToBF16(want))
				case tensor.F16:
					want = tensor.F16ToF32(tensor.F32ToF16(want))
				}
				require.Equal(t, want, col[p])
			}
		}
		require.ErrorIs(t, pb.Column(n, col), ErrArgs)
		require.ErrorIs(t, pb.Column(0, col[:k-1]), ErrArgs)
	}
}

func TestSgemmNaNInf(t *testing.T) {
	for _, l := range asm.Supported() {
		for _, m := range []int{1, 8} { // GEMV and GEMM paths
			n, k := 20, 9
			a := make([]float32, m*k)
			b := make([]float32, k*n)
			for i := range a {
				a[i] = 1
			}
			for i := range b {
				b[i] = 1
			}
			a[0] = float32(math.NaN())  // row 0
			b[3] = float32(math.Inf(1)) // row 0 of B, column 3
			c := make([]float32, m*n)
			for i := range c {
				c[i] = float32(math.NaN())
			}
			sgemm(nil, l, false, false, m, n, k, 1, a, k, b, n, 0, c, n)
			for j := 0; j < n; j++ {
				require.True(t, math.IsNaN(float64(c[j])), "%v m=%d: NaN in A reaches row 0", l, m)
			}
			for i := 1; i < m; i++ {
				require.True(t, math.IsInf(float64(c[i*n+3]), 1), "%v: Inf reaches column 3", l)
				require.Equal(t, float32(k), c[i*n+4], "%v: beta = 0 ignores NaN in C", l)
			}
		}
	}
}

func TestSgemmErrors(t *testing.T) {
	a, b, c := make([]float32, 6), make([]float32, 6), make([]float32, 4)
	Sgemm(nil, false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2)
	require.ErrorIs(t, panicked(func() { Sgemm(nil, false, false, 2, 2, 3, 1, a[:5], 3, b, 2, 0, c, 2) }), ErrArgs)
	require.ErrorIs(t, panicked(func() { Sgemm(nil, false, false, 2, 2, 3, 1, a, 2, b, 2, 0, c, 2) }), ErrArgs)
	require.ErrorIs(t, panicked(func() { Sgemm(nil, false, false, 2, 2, 3, 1, a, 3, b[:5], 2, 0, c, 2) }), ErrArgs)
	require.ErrorIs(t, panicked(func() { Sgemm(nil, false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c[:3], 2) }), ErrArgs)
	require.ErrorIs(t, panicked(func() { Sgemm(nil, false, false, -1, 2, 3, 1, a, 3, b, 2, 0, c, 2) }), ErrArgs)
	require.ErrorIs(t, panicked(func() { SgemmPacked(nil, false, 2, 1, a, 3, nil, 0, c, 2) }), ErrArgs)
	_, err := PackB(false, 3, 2, b[:5], 2, tensor.F32)
	require.ErrorIs(t, err, ErrArgs)
	// k = 0 and alpha = 0 scale C by beta; beta = 0 clears it even if it held NaN.
	c = []float32{1, 2, float32(math.NaN()), 4}
	Sgemm(nil, false, false, 2, 2, 0, 1, nil, 0, nil, 2, 0, c, 2)
	require.Equal(t, []float32{0, 0, 0, 0}, c)
	c = []float32{1, 2, 3, 4}
	Sgemm(nil, false, false, 2, 2, 3, 0, a, 3, b, 2, 2, c, 2)
	require.Equal(t, []float32{2, 4, 6, 8}, c)
}

func TestNoAllocationsPerCall(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 24))
	p := NewPool(2)
	defer p.Close()
	ws := NewWorkspace(p)
	for _, m := range []int{1, 64} {
		k, n := 256, 384
		a, b, c := randMat(r, m*k), randMat(r, k*n), make([]float32, m*n)
		pb, err := PackB(false, k, n, b, n, tensor.BF16)
		require.NoError(t, err)
		call := func() { SgemmPacked(ws, false, m, 1, a, k, pb, 0, c, n) }
		call()
		require.Zero(t, testing.AllocsPerRun(20, call), "SgemmPacked m=%d", m)
		call2 := func() { Sgemm(ws, false, true, m, n, k, 1, a, k, b, k, 0, c, n) }
		call2()
		require.Zero(t, testing.AllocsPerRun(20, call2), "Sgemm m=%d", m)
	}
}

// panicked runs f and returns the error it panicked with (nil if it returned).
func panicked(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(error)
			if !ok {
				panic(r)
			}
			err = e
		}
	}()
	f()
	return nil
}
