//go:build cublas && linux && (amd64 || arm64)

package cuda

// GPU tests: they need an NVIDIA GPU and the CUDA libraries, and skip (saying why)
// without them. bench/cuda/run.sh builds this test binary on a CPU machine and runs it
// on the GPU machine.

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/lumen-ml/lumen/internal/golden"
	"github.com/lumen-ml/lumen/internal/shared"
	"github.com/lumen-ml/lumen/models/bert"
	"github.com/lumen-ml/lumen/models/gpt2"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
	"github.com/lumen-ml/lumen/tensor"
)

func gpu(tb testing.TB) ops.Device {
	tb.Helper()
	d, err := Open(Config{})
	if errors.Is(err, ErrUnavailable) {
		tb.Skipf("no GPU here: %v", err)
	}
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, d.Close()) })
	tb.Logf("device: %s", d.Name())
	return d
}

func randVec(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// TestGPUGemm compares GPU products with gonum's float64 GEMM on random shapes with
// edges (1, primes, odd strides, alpha/beta), F32 and BF16 weights, from concurrent
// callers.
func TestGPUGemm(t *testing.T) {
	d := gpu(t)
	shapes := [][3]int{{1, 1, 1}, {1, 768, 2304}, {2, 13, 7}, {3, 31, 97}, {17, 64, 1}, {128, 768, 3072}, {129, 257, 511}, {512, 1024, 1000}}
	var wg sync.WaitGroup
	errs := make(chan error, len(shapes)*2)
	for _, s := range shapes {
		for _, wt := range []tensor.DType{tensor.F32, tensor.BF16} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- checkGPU(d, rand.New(rand.NewPCG(uint64(s[0]*s[1]), uint64(s[2]))), s[0], s[1], s[2], wt)
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func checkGPU(d ops.Device, r *rand.Rand, m, k, n int, wt tensor.DType) error {
	w := randVec(r, n*k) // Linear weight [n, k]
	pb, err := ops.PackB(true, k, n, w, k, wt)
	if err != nil {
		return err
	}
	if err := pb.UploadTo(d); err != nil {
		return err
	}
	defer pb.ReleaseDevice()
	lda, ldc := k+1, n+3
	a, c := randVec(r, m*lda), randVec(r, m*ldc)
	alpha, beta := float32(0.75), float32(-0.5)
	// Reference: float64 with the weights as the kernel sees them (BF16-rounded).
	col := make([]float32, k)
	bk := make([]float64, k*n)
	for j := 0; j < n; j++ {
		_ = pb.Column(j, col)
		for p, v := range col {
			bk[p*n+j] = float64(v)
		}
	}
	a64, c64 := make([]float64, len(a)), make([]float64, len(c))
	for i, v := range a {
		a64[i] = float64(v)
	}
	for i, v := range c {
		c64[i] = float64(v)
	}
	blas64.Gemm(blas.NoTrans, blas.NoTrans, float64(alpha),
		blas64.General{Rows: m, Cols: k, Stride: lda, Data: a64}, blas64.General{Rows: k, Cols: n, Stride: n, Data: bk},
		float64(beta), blas64.General{Rows: m, Cols: n, Stride: ldc, Data: c64})
	got := append([]float32(nil), c...)
	ops.SgemmPacked(nil, false, m, alpha, a, lda, pb, beta, got, ldc)
	if pb.DeviceFallbacks() != 0 {
		return fmt.Errorf("%d×%d×%d: the device failed the product (fell back to the CPU)", m, k, n)
	}
	tol := 4 * float64(k) * 6e-8 * 4 // K·eps on values of magnitude ~|a||b|·√K, generous
	for i := 0; i < m; i++ {
		for j := 0; j < ldc; j++ {
			want := c64[i*ldc+j]
			if j >= n {
				want = float64(c[i*ldc+j]) // padding between rows untouched
			}
			if diff := math.Abs(want - float64(got[i*ldc+j])); diff > tol*math.Max(1, math.Sqrt(float64(k))) {
				return fmt.Errorf("%v %d×%d×%d: C[%d,%d] = %v, want %v", wt, m, k, n, i, j, got[i*ldc+j], want)
			}
		}
	}
	return nil
}

func maxDiff(t *testing.T, want, got []float32, tol float64, what string) {
	t.Helper()
	require.Equal(t, len(want), len(got), what)
	worst := 0.0
	for i := range want {
		worst = math.Max(worst, math.Abs(float64(want[i])-float64(got[i])))
	}
	require.LessOrEqual(t, worst, tol, "%s: max |diff| %.3g", what, worst)
}

// TestGPUModelsMatchGoldens runs the GPT-2 and BERT fixtures with every matrix
// product on the GPU against Hugging Face's outputs, at the fixtures' tolerance.
func TestGPUModelsMatchGoldens(t *testing.T) {
	d := gpu(t)
	g := golden.Open(t, "gpt2-tiny")
	m, err := gpt2.Load(shared.Path(t, "fixtures", "gpt2-tiny"), nn.WithDevice(d))
	require.NoError(t, err)
	defer m.Close()
	for i := 0; g.Has(fmt.Sprintf("prompt%d.input_ids", i)); i++ {
		ids := g.Ints(t, fmt.Sprintf("prompt%d.input_ids", i))
		s, err := m.NewState(1, len(ids))
		require.NoError(t, err)
		hidden, err := s.Forward(ids, nil, len(ids))
		require.NoError(t, err)
		maxDiff(t, g.F32(t, fmt.Sprintf("f32.prompt%d.hidden", i)), hidden, 1e-4, "gpt2 hidden")
	}

	gb := golden.Open(t, "bert-tiny")
	bm, err := bert.Load(shared.Path(t, "fixtures", "bert-tiny"), nn.WithDevice(d))
	require.NoError(t, err)
	defer bm.Close()
	ids := gb.Ints(t, "single0.input_ids")
	b := bert.Batch{B: 1, T: len(ids), IDs: ids, Types: make([]int, len(ids)), Mask: make([]int, len(ids))}
	for i := range b.Mask {
		b.Mask[i] = 1
	}
	if gb.Has("single0.token_type_ids") {
		b.Types = gb.Ints(t, "single0.token_type_ids")
	}
	if gb.Has("single0.attention_mask") {
		b.Mask = gb.Ints(t, "single0.attention_mask")
	}
	hidden, err := bm.Forward(b)
	require.NoError(t, err)
	maxDiff(t, gb.F32(t, "single0.last_hidden_state"), hidden, 1e-4, "bert hidden")
}

// BenchmarkGPUGemm reports GFLOP/s of row-major SGEMM with a resident B at 1024³ and
// 4096³ (activations copied in and out each call, as in the models).
func BenchmarkGPUGemm(b *testing.B) {
	d := gpu(b)
	r := rand.New(rand.NewPCG(3, 4))
	for _, s := range []int{1024, 4096} {
		b.Run(fmt.Sprintf("%d", s), func(b *testing.B) {
			pb, err := ops.PackB(false, s, s, randVec(r, s*s), s, tensor.F32)
			require.NoError(b, err)
			require.NoError(b, pb.UploadTo(d))
			defer pb.ReleaseDevice()
			a, c := randVec(r, s*s), make([]float32, s*s)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ops.SgemmPacked(nil, false, s, 1, a, s, pb, 0, c, s)
			}
			b.ReportMetric(2*float64(s)*float64(s)*float64(s)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			require.Zero(b, pb.DeviceFallbacks())
		})
	}
}

// BenchmarkGPUModels times GPT-2 124M prefill-128 and BERT-base b1s128 forward passes
// with the products on the GPU, on random full-size weights.
func BenchmarkGPUModels(b *testing.B) {
	d := gpu(b)
	dir := b.TempDir()
	gcfg, _ := gpt2.SizeConfig("124M")
	require.NoError(b, gpt2.WriteRandom(dir+"/gpt2", gcfg, tensor.F32, 1))
	bcfg, _ := bert.SizeConfig("base")
	require.NoError(b, bert.WriteRandom(dir+"/bert", bcfg, 1))
	threads := 8
	if s := os.Getenv("LUMEN_THREADS"); s != "" {
		fmt.Sscan(s, &threads)
	}
	pool := ops.NewPool(threads)
	defer pool.Close()
	b.Run("gpt2-124M-prefill128", func(b *testing.B) {
		m, err := gpt2.Load(dir+"/gpt2", nn.WithDevice(d), nn.WithPool(pool))
		require.NoError(b, err)
		defer m.Close()
		ids := make([]int, 128)
		for i := range ids {
			ids[i] = (i * 7919) % gcfg.VocabSize
		}
		s, err := m.NewState(1, 128)
		require.NoError(b, err)
		logits := make([]float32, gcfg.VocabSize)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			s.Reset()
			h, err := s.Forward(ids, nil, 128)
			require.NoError(b, err)
			require.NoError(b, s.Logits(logits, h[127*gcfg.NEmbd:], 1))
		}
		b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms/forward")
	})
	b.Run("bert-base-b1s128", func(b *testing.B) {
		m, err := bert.Load(dir+"/bert", nn.WithDevice(d), nn.WithPool(pool))
		require.NoError(b, err)
		defer m.Close()
		batch := bert.Batch{B: 1, T: 128, IDs: make([]int, 128), Types: make([]int, 128), Mask: make([]int, 128)}
		for i := range batch.IDs {
			batch.IDs[i], batch.Mask[i] = 1000+(i*104729)%29522, 1
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			_, err := m.Forward(batch)
			require.NoError(b, err)
		}
		b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms/forward")
	})
}
