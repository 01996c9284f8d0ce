package ops

import (
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/ops/asm"
	"github.com/lumen-ml/lumen/tensor"
)

// countingDevice wraps ReferenceDevice and counts the products it ran.
type countingDevice struct {
	Device
	calls atomic.Int64
}

func (d *countingDevice) Upload(k, n int, kn []float32) (DeviceMatrix, error) {
	m, err := d.Device.Upload(k, n, kn)
	if err != nil {
		return nil, err
	}
	return countingMatrix{m, d}, nil
}

type countingMatrix struct {
	DeviceMatrix
	d *countingDevice
}

func (m countingMatrix) Gemm(rows int, alpha float32, a []float32, lda int, beta float32, c []float32, ldc int) error {
	m.d.calls.Add(1)
	return m.DeviceMatrix.Gemm(rows, alpha, a, lda, beta, c, ldc)
}

func randVec(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

func TestDeviceDispatch(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	pool := NewPool(2)
	defer pool.Close()
	ws := NewWorkspace(pool)
	var failing atomic.Bool
	dev := &countingDevice{Device: ReferenceDevice(func() error {
		if failing.Load() {
			return errors.New("device lost")
		}
		return nil
	})}
	for _, s := range [][3]int{{1, 1, 1}, {1, 17, 33}, {3, 64, 5}, {7, 31, 19}, {50, 96, 130}} {
		m, k, n := s[0], s[1], s[2]
		b := randVec(r, n*k) // a Linear weight [n, k]
		for _, wt := range []tensor.DType{tensor.F32, tensor.BF16} {
			pb, err := PackB(true, k, n, b, k, wt)
			require.NoError(t, err)
			cpu, err := PackB(true, k, n, b, k, wt)
			require.NoError(t, err)
			require.NoError(t, pb.UploadTo(dev))
			require.True(t, pb.OnDevice())
			require.ErrorIs(t, pb.UploadTo(dev), ErrArgs, "uploading twice")

			a := randVec(r, m*(k+3))
			c0 := randVec(r, m*(n+2))
			want, got := append([]float32(nil), c0...), append([]float32(nil), c0...)
			SgemmPacked(ws, false, m, 0.5, a, k+3, cpu, 2, want, n+2)
			before := dev.calls.Load()
			SgemmPacked(ws, false, m, 0.5, a, k+3, pb, 2, got, n+2)
			require.Equal(t, before+1, dev.calls.Load(), "the product ran on the device")
			for i := range want {
				require.InDelta(t, want[i], got[i], 1e-4*float64(k), "%v %dx%dx%d at %d", wt, m, k, n, i)
			}

			// A failing device: the CPU computes the same result and the fallback is counted.
			failing.Store(true)
			got = append(got[:0], c0...)
			SgemmPacked(ws, false, m, 0.5, a, k+3, pb, 2, got, n+2)
			failing.Store(false)
			require.Equal(t, uint64(1), pb.DeviceFallbacks())
			require.Equal(t, want, got)

			// Transposed A stays on the CPU.
			at := randVec(r, k*m)
			before = dev.calls.Load()
			SgemmPacked(ws, true, m, 1, at, m, pb, 0, got, n+2)
			require.Equal(t, before, dev.calls.Load())

			require.NoError(t, pb.ReleaseDevice())
			require.False(t, pb.OnDevice())
			SgemmPacked(ws, false, m, 0.5, a, k+3, pb, 2, append(got[:0], c0...), n+2)
		}
	}
	// F16 panels are widened exactly.
	h := []uint16{tensor.F32ToF16(1.5), tensor.F32ToF16(-2), tensor.F32ToF16(0.25), tensor.F32ToF16(3)}
	pb, err := PackBHalf(false, 2, 2, h, 2, tensor.F16)
	require.NoError(t, err)
	require.NoError(t, pb.UploadTo(dev))
	c := make([]float32, 2)
	SgemmPacked(nil, false, 1, 1, []float32{1, 1}, 2, pb, 0, c, 2)
	require.Equal(t, []float32{1.75, 1}, c)
	require.ErrorIs(t, pb.UploadTo(nil), ErrArgs)
}

// TestGemmLargeKKeepsOneSlice covers the blocked GEMM when a worker's A block is too big
// to keep whole (mc·K > maxPackedA): every KC slice is repacked per item.
func TestGemmLargeKKeepsOneSlice(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	bl := asm.BlockingFor(asm.Best)
	m, k, n := 2*bl.MC, maxPackedA/bl.MC+7, 21 // two blocks of mc = MC, mc·K just past the bound
	pool := NewPool(2)
	defer pool.Close()
	ws := NewWorkspace(pool)
	a, b := randVec(r, m*k), randVec(r, k*n)
	pb, err := PackB(false, k, n, b, n, tensor.F32)
	require.NoError(t, err)
	c := make([]float32, m*n)
	SgemmPacked(ws, false, m, 1, a, k, pb, 0, c, n)
	require.False(t, ws.gemm.wholeA, "the test must exercise the one-slice path")
	for _, i := range []int{0, 7, bl.MC, m - 1} {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				s += float64(a[i*k+p]) * float64(b[p*n+j])
			}
			require.InDelta(t, s, c[i*n+j], 2e-3, "C[%d,%d]", i, j)
		}
	}
}

func TestUploadAllReleasesOnError(t *testing.T) {
	dev := &limitDevice{Device: ReferenceDevice(nil), left: 2}
	var pbs []*PackedB
	for range 3 {
		pb, err := PackB(false, 2, 3, make([]float32, 6), 3, tensor.F32)
		require.NoError(t, err)
		pbs = append(pbs, pb)
	}
	require.Error(t, UploadAll(dev, pbs...))
	for _, pb := range pbs {
		require.False(t, pb.OnDevice(), "a failed UploadAll leaves everything on the CPU")
	}
	dev.left = 3
	require.NoError(t, UploadAll(dev, pbs...))
	require.NoError(t, ReleaseAll(pbs...))
	for _, pb := range pbs {
		require.False(t, pb.OnDevice())
	}
}

// limitDevice accepts left more uploads, then fails.
type limitDevice struct {
	Device
	left int
}

func (d *limitDevice) Upload(k, n int, kn []float32) (DeviceMatrix, error) {
	if d.left == 0 {
		return nil, errors.New("out of device memory")
	}
	d.left--
	return d.Device.Upload(k, n, kn)
}
