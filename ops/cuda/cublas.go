//go:build cublas && linux && (amd64 || arm64)

package cuda

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"

	"github.com/lumen-ml/lumen/ops"
)

// Built is true when this build can reach cuBLAS (-tags cublas on linux/amd64 or arm64).
const Built = true

// The few C declarations used (cuda_runtime_api.h, cublas_api.h), written out here so
// nothing from CUDA is needed at build time. Every status is checked.
const (
	cudaSuccess            = 0
	cudaMemcpyHostToDevice = 1
	cudaMemcpyDeviceToHost = 2
	cublasStatusSuccess    = 0
	cublasOpN              = 0
	cublasDefaultMath      = 0
	cublasTF32TensorOpMath = 3
)

type api struct {
	cudaGetDeviceCount     func(count *int32) int32
	cudaSetDevice          func(dev int32) int32
	cudaRuntimeGetVersion  func(v *int32) int32
	cudaGetErrorString     func(code int32) string
	cudaMalloc             func(ptr *uintptr, size uint64) int32
	cudaFree               func(ptr uintptr) int32
	cudaMallocHost         func(ptr *unsafe.Pointer, size uint64) int32
	cudaFreeHost           func(ptr unsafe.Pointer) int32
	cudaMemcpyH2D          func(dst uintptr, src unsafe.Pointer, size uint64, kind int32) int32 // cudaMemcpy
	cudaMemcpyAsyncH2D     func(dst uintptr, src unsafe.Pointer, size uint64, kind int32, stream uintptr) int32
	cudaMemcpyAsyncD2H     func(dst unsafe.Pointer, src uintptr, size uint64, kind int32, stream uintptr) int32
	cudaStreamCreate       func(stream *uintptr) int32
	cudaStreamDestroy      func(stream uintptr) int32
	cudaStreamSynchronize  func(stream uintptr) int32
	cudaDeviceGetAttribute func(value *int32, attr int32, dev int32) int32
	cublasCreate           func(handle *uintptr) int32
	cublasDestroy          func(handle uintptr) int32
	cublasSetStream        func(handle, stream uintptr) int32
	cublasSetMathMode      func(handle uintptr, mode int32) int32
	cublasGetVersion       func(handle uintptr, v *int32) int32
	cublasSgemm            func(handle uintptr, ta, tb, m, n, k int32, alpha *float32, a uintptr, lda int32, b uintptr, ldb int32, beta *float32, c uintptr, ldc int32) int32
	cudartName, cublasName string
}

var (
	loadOnce sync.Once
	loaded   *api
	loadErr  error
)

// dlopenFirst opens the first library of names that loads.
func dlopenFirst(names ...string) (uintptr, string, error) {
	var tried []string
	for _, n := range names {
		h, err := purego.Dlopen(n, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err == nil {
			return h, n, nil
		}
		tried = append(tried, n)
	}
	return 0, "", fmt.Errorf("%w: none of %s could be loaded (install the CUDA runtime and cuBLAS, or add their directory to LD_LIBRARY_PATH)", ErrUnavailable, strings.Join(tried, ", "))
}

// bind resolves name in lib into fn, returning an error rather than purego's panic
// when the symbol is missing.
func bind(lib uintptr, libName string, fn any, name string) error {
	sym, err := purego.Dlsym(lib, name)
	if err != nil {
		return fmt.Errorf("%w: %s has no symbol %s: %v", ErrUnavailable, libName, name, err)
	}
	purego.RegisterFunc(fn, sym)
	return nil
}

func load() (*api, error) {
	loadOnce.Do(func() {
		a := &api{}
		rt, rtName, err := dlopenFirst("libcudart.so", "libcudart.so.13", "libcudart.so.12", "libcudart.so.11.0", "libcudart.so.11")
		if err != nil {
			loadErr = err
			return
		}
		bl, blName, err := dlopenFirst("libcublas.so", "libcublas.so.13", "libcublas.so.12", "libcublas.so.11")
		if err != nil {
			loadErr = err
			return
		}
		a.cudartName, a.cublasName = rtName, blName
		loadErr = errors.Join(
			bind(rt, rtName, &a.cudaGetDeviceCount, "cudaGetDeviceCount"),
			bind(rt, rtName, &a.cudaSetDevice, "cudaSetDevice"),
			bind(rt, rtName, &a.cudaRuntimeGetVersion, "cudaRuntimeGetVersion"),
			bind(rt, rtName, &a.cudaGetErrorString, "cudaGetErrorString"),
			bind(rt, rtName, &a.cudaMalloc, "cudaMalloc"),
			bind(rt, rtName, &a.cudaFree, "cudaFree"),
			bind(rt, rtName, &a.cudaMallocHost, "cudaMallocHost"),
			bind(rt, rtName, &a.cudaFreeHost, "cudaFreeHost"),
			bind(rt, rtName, &a.cudaMemcpyH2D, "cudaMemcpy"),
			bind(rt, rtName, &a.cudaMemcpyAsyncH2D, "cudaMemcpyAsync"), // one symbol, two Go views:
			bind(rt, rtName, &a.cudaMemcpyAsyncD2H, "cudaMemcpyAsync"), // device pointers stay uintptr
			bind(rt, rtName, &a.cudaStreamCreate, "cudaStreamCreate"),
			bind(rt, rtName, &a.cudaStreamDestroy, "cudaStreamDestroy"),
			bind(rt, rtName, &a.cudaStreamSynchronize, "cudaStreamSynchronize"),
			bind(rt, rtName, &a.cudaDeviceGetAttribute, "cudaDeviceGetAttribute"),
			bind(bl, blName, &a.cublasCreate, "cublasCreate_v2"),
			bind(bl, blName, &a.cublasDestroy, "cublasDestroy_v2"),
			bind(bl, blName, &a.cublasSetStream, "cublasSetStream_v2"),
			bind(bl, blName, &a.cublasSetMathMode, "cublasSetMathMode"),
			bind(bl, blName, &a.cublasGetVersion, "cublasGetVersion_v2"),
			bind(bl, blName, &a.cublasSgemm, "cublasSgemm_v2"),
		)
		if loadErr == nil {
			loaded = a
		}
	})
	return loaded, loadErr
}

func (a *api) check(what string, code int32) error {
	if code == cudaSuccess {
		return nil
	}
	return fmt.Errorf("cuda: %s: error %d (%s)", what, code, a.cudaGetErrorString(code))
}

func checkBLAS(what string, code int32) error {
	if code == cublasStatusSuccess {
		return nil
	}
	return fmt.Errorf("cuda: %s: cuBLAS status %d", what, code)
}

// device is one GPU with a pool of workers.
type device struct {
	a       *api
	ordinal int32
	name    string
	workers chan *worker
	all     []*worker
	mu      sync.Mutex // serialises uploads and Close
	closed  bool
}

// worker is a stream, its cuBLAS handle and reusable staging for A and C.
type worker struct {
	stream, handle uintptr
	a, c           staging
}

// staging is a pinned host buffer and a device buffer of the same size, grown on demand.
type staging struct {
	host unsafe.Pointer
	dev  uintptr
	cap  int // floats both hold; 0 until both are allocated
}

// grow makes sure both buffers hold floats values (their contents are not kept).
func (s *staging) grow(a *api, floats int) error {
	if s.cap >= floats {
		return nil
	}
	if err := s.free(a); err != nil {
		return err
	}
	if err := a.check("cudaMallocHost", a.cudaMallocHost(&s.host, uint64(4*floats))); err != nil {
		return err
	}
	if err := a.check("cudaMalloc", a.cudaMalloc(&s.dev, uint64(4*floats))); err != nil {
		return err
	}
	s.cap = floats
	return nil
}

func (s *staging) free(a *api) error {
	var errs []error
	if s.host != nil {
		errs = append(errs, a.check("cudaFreeHost", a.cudaFreeHost(s.host)))
	}
	if s.dev != 0 {
		errs = append(errs, a.check("cudaFree", a.cudaFree(s.dev)))
	}
	*s = staging{}
	return errors.Join(errs...)
}

func open(cfg Config) (ops.Device, error) {
	a, err := load()
	if err != nil {
		return nil, err
	}
	var count int32
	if err := a.check("cudaGetDeviceCount", a.cudaGetDeviceCount(&count)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if count == 0 || int32(cfg.Device) >= count {
		return nil, fmt.Errorf("%w: device %d requested, %d CUDA device(s) present", ErrUnavailable, cfg.Device, count)
	}
	d := &device{a: a, ordinal: int32(cfg.Device), workers: make(chan *worker, cfg.Workers)}
	if err := a.check("cudaSetDevice", a.cudaSetDevice(d.ordinal)); err != nil {
		return nil, err
	}
	var rtv, blv, cc1, cc2 int32
	_ = a.cudaRuntimeGetVersion(&rtv)
	_ = a.cudaDeviceGetAttribute(&cc1, 75, d.ordinal) // cudaDevAttrComputeCapabilityMajor
	_ = a.cudaDeviceGetAttribute(&cc2, 76, d.ordinal) // cudaDevAttrComputeCapabilityMinor
	math := int32(cublasDefaultMath)
	if cfg.TF32 {
		math = cublasTF32TensorOpMath
	}
	for i := 0; i < cfg.Workers; i++ {
		w := &worker{}
		err := errors.Join(
			a.check("cudaStreamCreate", a.cudaStreamCreate(&w.stream)),
			checkBLAS("cublasCreate", a.cublasCreate(&w.handle)))
		if err == nil {
			err = errors.Join(checkBLAS("cublasSetStream", a.cublasSetStream(w.handle, w.stream)),
				checkBLAS("cublasSetMathMode", a.cublasSetMathMode(w.handle, math)))
		}
		d.all = append(d.all, w)
		if err != nil {
			_ = d.Close()
			return nil, err
		}
		d.workers <- w
	}
	_ = a.cublasGetVersion(d.all[0].handle, &blv)
	tf := "TF32 off"
	if cfg.TF32 {
		tf = "TF32 on"
	}
	d.name = fmt.Sprintf("cuda:%d (compute %d.%d, CUDA runtime %d, cuBLAS %d via %s, %s)", cfg.Device, cc1, cc2, rtv, blv, a.cublasName, tf)
	return d, nil
}

func (d *device) Name() string { return d.name }

func (d *device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	var errs []error
	for _, w := range d.all {
		errs = append(errs, w.free(d.a))
	}
	return errors.Join(errs...)
}

func (w *worker) free(a *api) error {
	errs := []error{w.a.free(a), w.c.free(a)}
	if w.handle != 0 {
		errs = append(errs, checkBLAS("cublasDestroy", a.cublasDestroy(w.handle)))
	}
	if w.stream != 0 {
		errs = append(errs, a.check("cudaStreamDestroy", a.cudaStreamDestroy(w.stream)))
	}
	*w = worker{}
	return errors.Join(errs...)
}

// matrix is a resident k×n weight (row-major, which cuBLAS sees as its n×k
// column-major transpose).
type matrix struct {
	d    *device
	k, n int
	ptr  uintptr
	mu   sync.RWMutex // products share it; Free takes it alone
}

func (d *device) Upload(k, n int, kn []float32) (ops.DeviceMatrix, error) {
	if k <= 0 || n <= 0 || len(kn) != k*n {
		return nil, fmt.Errorf("cuda: upload of %d values as %d×%d", len(kn), k, n)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, errors.New("cuda: upload to a closed device")
	}
	a := d.a
	if err := a.check("cudaSetDevice", a.cudaSetDevice(d.ordinal)); err != nil {
		return nil, err
	}
	m := &matrix{d: d, k: k, n: n}
	bytes := uint64(4 * k * n)
	if err := a.check(fmt.Sprintf("cudaMalloc of %d bytes", bytes), a.cudaMalloc(&m.ptr, bytes)); err != nil {
		return nil, err
	}
	if err := a.check("cudaMemcpy (weights)", a.cudaMemcpyH2D(m.ptr, unsafe.Pointer(&kn[0]), bytes, cudaMemcpyHostToDevice)); err != nil {
		_ = a.cudaFree(m.ptr)
		return nil, err
	}
	return m, nil
}

func (m *matrix) Free() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ptr == 0 {
		return nil
	}
	err := m.d.a.check("cudaFree", m.d.a.cudaFree(m.ptr))
	m.ptr = 0
	return err
}

// Gemm computes C = alpha·A·B + beta·C: cuBLAS is column-major, so it computes
// Cᵀ = Bᵀ·Aᵀ, where the row-major matrices already are those transposes.
func (m *matrix) Gemm(rows int, alpha float32, a []float32, lda int, beta float32, c []float32, ldc int) error {
	k, n := m.k, m.n
	if rows <= 0 || lda < k || ldc < n || len(a) < (rows-1)*lda+k || len(c) < (rows-1)*ldc+n {
		return fmt.Errorf("cuda: product %d×%d·%d×%d with lda %d, ldc %d, %d and %d values", rows, k, k, n, lda, ldc, len(a), len(c))
	}
	m.mu.RLock() // Free must not run under a product; products run concurrently
	defer m.mu.RUnlock()
	if m.ptr == 0 {
		return errors.New("cuda: product with a freed matrix")
	}
	d, api := m.d, m.d.a
	w := <-d.workers
	defer func() { d.workers <- w }()
	if err := api.check("cudaSetDevice", api.cudaSetDevice(d.ordinal)); err != nil {
		return err
	}
	if err := errors.Join(
		w.a.grow(api, rows*k), w.c.grow(api, rows*n)); err != nil {
		return err
	}
	ha := unsafe.Slice((*float32)(w.a.host), rows*k)
	hc := unsafe.Slice((*float32)(w.c.host), rows*n)
	for i := 0; i < rows; i++ {
		copy(ha[i*k:(i+1)*k], a[i*lda:i*lda+k])
	}
	if beta != 0 {
		for i := 0; i < rows; i++ {
			copy(hc[i*n:(i+1)*n], c[i*ldc:i*ldc+n])
		}
	}
	err := api.check("cudaMemcpyAsync (A)", api.cudaMemcpyAsyncH2D(w.a.dev, w.a.host, uint64(4*rows*k), cudaMemcpyHostToDevice, w.stream))
	if err == nil && beta != 0 {
		err = api.check("cudaMemcpyAsync (C)", api.cudaMemcpyAsyncH2D(w.c.dev, w.c.host, uint64(4*rows*n), cudaMemcpyHostToDevice, w.stream))
	}
	if err == nil {
		err = checkBLAS("cublasSgemm", api.cublasSgemm(w.handle, cublasOpN, cublasOpN, int32(n), int32(rows), int32(k),
			&alpha, m.ptr, int32(n), w.a.dev, int32(k), &beta, w.c.dev, int32(n)))
	}
	if err == nil {
		err = api.check("cudaMemcpyAsync (C back)", api.cudaMemcpyAsyncD2H(w.c.host, w.c.dev, uint64(4*rows*n), cudaMemcpyDeviceToHost, w.stream))
	}
	if serr := api.check("cudaStreamSynchronize", api.cudaStreamSynchronize(w.stream)); err == nil {
		err = serr
	}
	if err != nil {
		return err // C untouched: the caller may fall back to the CPU
	}
	for i := 0; i < rows; i++ {
		copy(c[i*ldc:i*ldc+n], hc[i*n:(i+1)*n])
	}
	return nil
}
