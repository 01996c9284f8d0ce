package ops

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// Device runs matrix products on an accelerator (a GPU through ops/cuda) with the
// right-hand matrices — model weights — uploaded once and kept resident. Ops knows
// nothing of how; it only routes SgemmPacked to a PackedB's device copy.
type Device interface {
	Name() string
	// Upload copies a k×n row-major matrix to the device, where it stays until the
	// returned matrix is freed.
	Upload(k, n int, kn []float32) (DeviceMatrix, error)
	// Close releases the device's streams and buffers (not uploaded matrices).
	Close() error
}

// DeviceMatrix is a resident k×n right-hand matrix. Implementations are safe for
// concurrent use.
type DeviceMatrix interface {
	// Gemm computes C = alpha·A·B + beta·C on the device for row-major m×k A (row
	// stride lda) and m×n C (row stride ldc). On error C is left untouched.
	Gemm(m int, alpha float32, a []float32, lda int, beta float32, c []float32, ldc int) error
	Free() error
}

// deviceCopy is a PackedB's resident copy and the count of products that fell back
// to the CPU because the device failed.
type deviceCopy struct {
	m         DeviceMatrix
	fallbacks atomic.Uint64
}

// UploadTo copies pb (widened to F32) to d; from then on SgemmPacked with pb and a
// non-transposed A runs there. A product the device fails is computed on the CPU
// instead and counted (DeviceFallbacks). Call it before pb is shared between
// goroutines, as models do while loading.
func (pb *PackedB) UploadTo(d Device) error {
	if d == nil {
		return fmt.Errorf("%w: nil Device", ErrArgs)
	}
	if pb.dev != nil {
		return fmt.Errorf("%w: the %d×%d matrix is already on a device", ErrArgs, pb.k, pb.n)
	}
	kn := make([]float32, pb.k*pb.n)
	col := make([]float32, pb.k)
	for j := 0; j < pb.n; j++ {
		_ = pb.Column(j, col)
		for p, v := range col {
			kn[p*pb.n+j] = v
		}
	}
	m, err := d.Upload(pb.k, pb.n, kn)
	if err != nil {
		return fmt.Errorf("uploading a %d×%d matrix to %s: %w", pb.k, pb.n, d.Name(), err)
	}
	pb.dev = &deviceCopy{m: m}
	return nil
}

// UploadAll uploads every matrix to d (see UploadTo); on an error it releases the
// copies already made and returns the error, leaving all of them on the CPU.
func UploadAll(d Device, pbs ...*PackedB) error {
	for i, pb := range pbs {
		if err := pb.UploadTo(d); err != nil {
			_ = ReleaseAll(pbs[:i]...)
			return err
		}
	}
	return nil
}

// ReleaseAll frees the device copies of every matrix (those without one are skipped).
func ReleaseAll(pbs ...*PackedB) error {
	var errs []error
	for _, pb := range pbs {
		errs = append(errs, pb.ReleaseDevice())
	}
	return errors.Join(errs...)
}

// OnDevice reports whether pb has a resident device copy.
func (pb *PackedB) OnDevice() bool { return pb.dev != nil }

// DeviceFallbacks is the number of products with pb that the device failed and the
// CPU computed instead.
func (pb *PackedB) DeviceFallbacks() uint64 {
	if pb.dev == nil {
		return 0
	}
	return pb.dev.fallbacks.Load()
}

// ReleaseDevice frees the device copy; later products run on the CPU.
func (pb *PackedB) ReleaseDevice() error {
	if pb.dev == nil {
		return nil
	}
	err := pb.dev.m.Free()
	pb.dev = nil
	return err
}

// deviceGemm runs the product on pb's device copy; false means the CPU must do it.
func (pb *PackedB) deviceGemm(transA bool, m int, alpha float32, a []float32, lda int, beta float32, c []float32, ldc int) bool {
	d := pb.dev
	if d == nil || transA {
		return false
	}
	if err := d.m.Gemm(m, alpha, a, lda, beta, c, ldc); err != nil {
		d.fallbacks.Add(1)
		return false
	}
	return true
}

// ReferenceDevice returns a Device that keeps matrices in host memory and computes
// with a plain float64-accumulating loop on the calling goroutine. It is slow; it
// exists to test device dispatch (uploads, routing, fallbacks) without an accelerator.
// fail, when non-nil, is consulted before every product and its error returned.
func ReferenceDevice(fail func() error) Device { return &refDevice{fail: fail} }

type refDevice struct{ fail func() error }

type refMatrix struct {
	d    *refDevice
	k, n int
	b    []float32
}

func (d *refDevice) Name() string { return "reference (host)" }
func (d *refDevice) Close() error { return nil }
func (m *refMatrix) Free() error  { m.b = nil; return nil }
func (d *refDevice) Upload(k, n int, kn []float32) (DeviceMatrix, error) {
	if k <= 0 || n <= 0 || len(kn) != k*n {
		return nil, fmt.Errorf("%w: %d values for %d×%d", ErrArgs, len(kn), k, n)
	}
	return &refMatrix{d: d, k: k, n: n, b: append([]float32(nil), kn...)}, nil
}

func (m *refMatrix) Gemm(rows int, alpha float32, a []float32, lda int, beta float32, c []float32, ldc int) error {
	if m.d.fail != nil {
		if err := m.d.fail(); err != nil {
			return err
		}
	}
	if m.b == nil {
		return fmt.Errorf("%w: product with a freed matrix", ErrArgs)
	}
	checkGemm(false, rows, m.n, m.k, a, lda, c, ldc)
	row := make([]float64, m.n)
	for i := 0; i < rows; i++ {
		clear(row)
		for p := 0; p < m.k; p++ {
			av := float64(a[i*lda+p])
			for j, bv := range m.b[p*m.n : (p+1)*m.n] {
				row[j] += av * float64(bv)
			}
		}
		for j, v := range row {
			out := float64(alpha) * v
			if beta != 0 {
				out += float64(beta) * float64(c[i*ldc+j])
			}
			c[i*ldc+j] = float32(out)
		}
	}
	return nil
}
