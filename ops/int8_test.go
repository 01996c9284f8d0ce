package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/ops/asm"
	"github.com/lumen-ml/lumen/tensor"
)

// i8Reference computes, in float64, exactly what an int8 product means: each row of
// A quantised as asm.I8QuantizeRow does (the Go twin), times the dequantised packed
// weights, plus the bias. It also returns the plain float64 product of the original
// operands, which the int8 result approximates.
func i8Reference(m, n, k int, a, w []float32, transB bool, pb *PackedB, bias []float32) (exact, orig []float64) {
	exact, orig = make([]float64, m*n), make([]float64, m*n)
	col := make([]float32, k)
	q := make([]uint8, k)
	for i := range m {
		row := a[i*k : i*k+k]
		scale, zero := asm.I8QuantizeRow(asm.Generic, q, row)
		for j := range n {
			_ = pb.Column(j, col)
			var s, o float64
			for p := range k {
				s += float64(scale) * float64(int32(q[p])-zero) * float64(col[p])
				wv := w[p*n+j]
				if transB {
					wv = w[j*k+p]
				}
				o += float64(row[p]) * float64(wv)
			}
			if bias != nil {
				s += float64(bias[j])
				o += float64(bias[j])
			}
			exact[i*n+j], orig[i*n+j] = s, o
		}
	}
	return exact, orig
}

func TestInt8LinearMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 1))
	pools := []*Pool{nil, NewPool(3)}
	defer pools[1].Close()
	for _, m := range []int{1, 2, 3, 4, 5, 6, 7, 13, 50, 97} {
		for _, k := range []int{1, 3, 4, 5, 17, 64, 203} {
			for _, n := range []int{1, 5, 16, 17, 33, 70} {
				transB := r.IntN(2) == 0
				a, w := randMat(r, m*k), randMat(r, k*n)
				ldb := n
				if transB {
					ldb = k
				}
				pb, err := PackB(transB, k, n, w, ldb, tensor.I8)
				require.NoError(t, err)
				require.Equal(t, tensor.I8, pb.DType())
				var bias []float32
				if r.IntN(2) == 0 {
					bias = randMat(r, n)
				}
				exact, orig := i8Reference(m, n, k, a, w, transB, pb, bias)
				var errSq, refSq float64
				for pi, p := range pools {
					got := randMat(r, m*n)
					Linear(NewWorkspace(p), got, a, m, pb, bias)
					for i, v := range got {
						// The epilogue rounds a few float32 operations.
						require.InDelta(t, exact[i], float64(v), 1e-5*(1+math.Abs(exact[i])+float64(k)*0.05), "m=%d k=%d n=%d pool %d [%d]", m, k, n, pi, i)
						errSq += (float64(v) - orig[i]) * (float64(v) - orig[i])
						refSq += orig[i] * orig[i]
					}
				}
				// Against the float product: quantisation noise only (a few per cent).
				require.Less(t, math.Sqrt(errSq/refSq), 0.05, "m=%d k=%d n=%d", m, k, n)
			}
		}
	}
}

// A row's result does not depend on how many rows share the call, which kernel
// (one-row or six-row) computes it, the thread count, or the level: the sums are exact.
func TestInt8RowInvariance(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 9))
	k, n, m := 300, 77, 40
	a, w, bias := randMat(r, m*k), randMat(r, n*k), randMat(r, n)
	p := NewPool(2)
	defer p.Close()
	var all [][]float32
	for _, l := range asm.Supported() {
		pb, err := packB(l, true, k, n, w, k, asm.WeightI8)
		require.NoError(t, err)
		full := make([]float32, m*n)
		Linear(NewWorkspace(p), full, a, m, pb, bias)
		for i := 0; i < m; i += 7 {
			one := make([]float32, n)
			Linear(nil, one, a[i*k:(i+1)*k], 1, pb, bias)
			require.Equal(t, full[i*n:(i+1)*n], one, "%v row %d", l, i)
		}
		all = append(all, full)
	}
	for _, f := range all[1:] {
		require.Equal(t, all[0], f, "levels differ")
	}
}

func TestInt8SgemmPacked(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	m, n, k := 9, 20, 12
	a, w := randMat(r, k*m), randMat(r, k*n) // A stored transposed: k×m
	pb, err := PackB(false, k, n, w, n, tensor.I8)
	require.NoError(t, err)
	rows := make([]float32, m*k) // op(A) as rows
	for i := range m {
		for p := range k {
			rows[i*k+p] = a[p*m+i]
		}
	}
	base := make([]float32, m*n)
	Linear(nil, base, rows, m, pb, nil)
	cIn := randMat(r, m*n)
	got := append([]float32(nil), cIn...)
	SgemmPacked(nil, true, m, 2, a, m, pb, 0.5, got, n)
	for i, v := range got {
		require.InDelta(t, 2*base[i]+0.5*cIn[i], v, 1e-4*(1+math.Abs(float64(v))), "[%d]", i)
	}
}

func TestInt8PackErrors(t *testing.T) {
	_, err := PackB(false, 2, 2, []float32{1, float32(math.NaN()), 3, 4}, 2, tensor.I8)
	require.ErrorIs(t, err, ErrArgs)
	_, err = PackB(false, 2, 2, []float32{1, 2, 3}, 2, tensor.I8)
	require.ErrorIs(t, err, ErrArgs)
	// An all-zero column quantises to zeros with scale 0, and multiplies to the bias.
	pb, err := PackB(false, 3, 2, []float32{0, 1, 0, -2, 0, 3}, 2, tensor.I8)
	require.NoError(t, err)
	y := make([]float32, 2)
	Linear(nil, y, []float32{1, 1, 1}, 1, pb, []float32{0.5, 0})
	require.Equal(t, float32(0.5), y[0])
	require.InDelta(t, 2, y[1], 0.05)
	col := make([]float32, 3)
	require.NoError(t, pb.Column(1, col))
	require.InDeltaSlice(t, []float32{1, -2, 3}, col, 0.02)
	require.Equal(t, 64+4*32, pb.Bytes())
	// NaN in the activations gives NaN, not a finite guess.
	Linear(nil, y, []float32{1, float32(math.NaN()), 1}, 1, pb, nil)
	require.True(t, math.IsNaN(float64(y[1])))
}

func TestInt8NoAllocations(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 5))
	p := NewPool(2)
	defer p.Close()
	ws := NewWorkspace(p)
	k, n := 256, 100
	pb, err := PackB(true, k, n, randMat(r, k*n), k, tensor.I8)
	require.NoError(t, err)
	for _, m := range []int{1, 64} {
		a, c, bias := randMat(r, m*k), make([]float32, m*n), randMat(r, n)
		call := func() { Linear(ws, c, a, m, pb, bias) }
		call()
		require.Zero(t, testing.AllocsPerRun(20, call), "m=%d", m)
	}
}

// TestInt8KernelsAgree: the int8 products at the best level — AMX tiles for blocks
// of 32 rows where the host has them, the two-panel VNNI tiles, the six-row kernel —
// give the bits of the AVX2 six-row kernel on every shape edge (rows past whole
// blocks, an odd or partial last panel, K past whole 64-value blocks), with and
// without bias, alpha and beta, on one and two threads; an activation applied per
// block gives the bits of one pass after.
func TestInt8KernelsAgree(t *testing.T) {
	if !asm.Available(asm.AVX2) || asm.Best == asm.AVX2 {
		t.Skipf("level %v: nothing to compare with AVX2's kernel here", asm.Best)
	}
	r := rand.New(rand.NewPCG(6, 32))
	p := NewPool(2)
	defer p.Close()
	for _, m := range []int{7, 32, 33, 70, 128, 129, 300} {
		for _, k := range []int{64, 100, 768} {
			for _, n := range []int{16, 32, 45, 96, 272} {
				a, w := randMat(r, m*k), randMat(r, n*k)
				six, err := packB(asm.AVX2, true, k, n, w, k, asm.WeightI8)
				require.NoError(t, err)
				require.False(t, six.q.amx)
				best, err := packB(asm.Best, true, k, n, w, k, asm.WeightI8)
				require.NoError(t, err)
				require.Equal(t, asm.HasAMXInt8(asm.Best), best.q.amx)
				noAMX, err := packB(asm.Best, true, k, n, w, k, asm.WeightI8)
				require.NoError(t, err)
				noAMX.q.amx = false // the same padded weights on the VNNI tiles
				var bias []float32
				if r.IntN(2) == 0 {
					bias = randMat(r, n)
				}
				for _, ws := range []*Workspace{nil, NewWorkspace(p)} {
					want := make([]float32, m*n)
					Linear(ws, want, a, m, six, bias)
					c0 := randMat(r, m*n)
					wantBeta := append([]float32(nil), c0...)
					SgemmPacked(ws, false, m, 1.5, a, k, six, 0.25, wantBeta, n)
					wantAct := append([]float32(nil), want...)
					GELUErf(wantAct)
					for name, pb := range map[string]*PackedB{"best": best, "no-amx": noAMX} {
						got := make([]float32, m*n)
						Linear(ws, got, a, m, pb, bias)
						require.Equal(t, want, got, "%s Linear m=%d k=%d n=%d", name, m, k, n)
						got = append(got[:0], c0...)
						SgemmPacked(ws, false, m, 1.5, a, k, pb, 0.25, got, n)
						require.Equal(t, wantBeta, got, "%s SgemmPacked beta m=%d k=%d n=%d", name, m, k, n)
						LinearAct(ws, got, a, m, pb, bias, ActGELU)
						require.Equal(t, wantAct, got, "%s LinearAct GELU m=%d k=%d n=%d", name, m, k, n)
					}
				}
			}
		}
	}
}
