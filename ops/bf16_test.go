package ops

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/lumen-ml/lumen/ops/asm"
	"github.com/lumen-ml/lumen/tensor"
	"github.com/stretchr/testify/require"
)

func bf16Kernels() []asm.BF16Kernel {
	k := []asm.BF16Kernel{asm.BF16Generic}
	if asm.BestBF16 != asm.BF16Generic {
		k = append(k, asm.BestBF16)
	}
	return k
}

func roundBF16(v float32) float64 { return float64(tensor.BF16ToF32(tensor.F32ToBF16(v))) }

// TestBF16LinearMatchesReference: Linear/LinearAct with a BF16-compute weight equal
// the float64 product of the BF16-rounded operands (plus bias and activation), on
// shapes with edges in every dimension, for the Go twin and the host's kernel, with
// one and two threads.
func TestBF16LinearMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 13))
	pool := NewPool(2)
	defer pool.Close()
	for _, kern := range bf16Kernels() {
		for _, s := range [][3]int{{1, 1, 1}, {3, 17, 45}, {31, 64, 32}, {33, 97, 300}, {100, 768, 96}, {257, 40, 65}} {
			m, k, n := s[0], s[1], s[2]
			x, w, bias := make([]float32, m*k), make([]float32, n*k), make([]float32, n)
			for _, v := range [][]float32{x, w, bias} {
				for i := range v {
					v[i] = rng.Float32()*2 - 1
				}
			}
			pb, err := packBF16(kern, true, k, n, w, k)
			require.NoError(t, err)
			require.True(t, pb.ComputesBF16())
			col := make([]float32, k)
			require.NoError(t, pb.Column(n-1, col))
			require.Equal(t, roundBF16(w[(n-1)*k+k-1]), float64(col[k-1]))
			for _, ws := range []*Workspace{nil, NewWorkspace(pool)} {
				for _, act := range []Activation{ActIdentity, ActReLU} {
					y := make([]float32, m*n)
					LinearAct(ws, y, x, m, pb, bias, act)
					for i := range m {
						for j := range n {
							want := float64(bias[j])
							for p := range k {
								want += roundBF16(x[i*k+p]) * roundBF16(w[j*k+p])
							}
							if act == ActReLU {
								want = max(want, 0)
							}
							require.InDelta(t, want, y[i*n+j], 2e-6*float64(k)+1e-6, "%v %v m%d k%d n%d [%d,%d]", kern, act, m, k, n, i, j)
						}
					}
				}
			}
		}
	}
}

// TestBF16SgemmPackedAlphaBetaTransA covers the general product's other arguments.
func TestBF16SgemmPackedAlphaBetaTransA(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 9))
	m, k, n := 37, 50, 70
	a, b := make([]float32, k*m), make([]float32, k*n) // A stored k×m (transA), B k×n
	for _, v := range [][]float32{a, b} {
		for i := range v {
			v[i] = rng.Float32() - 0.5
		}
	}
	for _, kern := range bf16Kernels() {
		pb, err := packBF16(kern, false, k, n, b, n)
		require.NoError(t, err)
		ldc := n + 3
		c := make([]float32, m*ldc)
		for i := range c {
			c[i] = float32(i%7) - 3
		}
		orig := append([]float32(nil), c...)
		SgemmPacked(NewWorkspace(nil), true, m, 0.5, a, m, pb, 2, c, ldc)
		for i := range m {
			for j := range n {
				want := 2 * float64(orig[i*ldc+j])
				for p := range k {
					want += 0.5 * roundBF16(a[p*m+i]) * roundBF16(b[p*n+j])
				}
				require.InDelta(t, want, c[i*ldc+j], 1e-4, "%v [%d,%d]", kern, i, j)
			}
			for j := n; j < ldc; j++ {
				require.Equal(t, orig[i*ldc+j], c[i*ldc+j], "past n")
			}
		}
	}
}

func TestBF16Refused(t *testing.T) {
	w := make([]float32, 6)
	pb, err := PackBBF16(true, 3, 2, w, 3)
	if asm.BestBF16 == asm.BF16Generic {
		require.ErrorIs(t, err, ErrNoBF16)
		require.Nil(t, pb)
	} else {
		require.NoError(t, err)
	}
	_, err = packBF16(asm.BF16Generic, true, 3, 2, w[:5], 3)
	require.ErrorIs(t, err, ErrArgs)
	require.False(t, errors.Is(err, ErrNoBF16))
}

func TestBF16NoAllocations(t *testing.T) {
	w := make([]float32, 64*96)
	pb, err := packBF16(asm.BestBF16, true, 96, 64, w, 96)
	require.NoError(t, err)
	ws := NewWorkspace(nil)
	x, y := make([]float32, 40*96), make([]float32, 40*64)
	Linear(ws, y, x, 40, pb, nil)
	require.Zero(t, testing.AllocsPerRun(10, func() { Linear(ws, y, x, 40, pb, nil) }))
}

// BenchmarkLinearBF16 against BenchmarkLinearF32Shape: BERT-base's FFN up-projection
// at batch 8 × 128 tokens, F32 packed weights vs BF16 compute, one thread.
// BenchmarkLinearBF16 is the BERT-base FFN product at b8s128 in each compute mode:
// F32, BF16 (AMX), int8 (AMX-INT8 where the host has it) and int8 on the six-row
// kernel (VNNI), rounding and quantisation of the input included.
func BenchmarkLinearBF16(b *testing.B) {
	const m, k, n = 1024, 768, 3072
	w, x, y := make([]float32, n*k), make([]float32, m*k), make([]float32, m*n)
	for i := range w {
		w[i] = float32(i%13)/13 - 0.5
	}
	for i := range x {
		x[i] = float32(i%7)/7 - 0.5
	}
	f32, err := PackB(true, k, n, w, k, tensor.F32)
	require.NoError(b, err)
	for _, c := range []struct {
		name string
		pack func() (*PackedB, error)
	}{
		{"f32", func() (*PackedB, error) { return f32, nil }},
		{"bf16", func() (*PackedB, error) { return PackBBF16(true, k, n, w, k) }},
		{"int8", func() (*PackedB, error) { return PackB(true, k, n, w, k, tensor.I8) }},
		{"int8-no-amx", func() (*PackedB, error) { // the same weights on the six-row (VNNI) kernel
			pb, err := PackB(true, k, n, w, k, tensor.I8)
			if err == nil {
				pb.q.amx = false
			}
			return pb, err
		}},
	} {
		pb, err := c.pack()
		if err != nil {
			b.Logf("%s: %v", c.name, err)
			continue
		}
		ws := NewWorkspace(nil)
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				Linear(ws, y, x, m, pb, nil)
			}
			b.ReportMetric(2*m*k*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
