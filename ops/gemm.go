package ops

import (
	"errors"
	"fmt"

	"github.com/lumen-ml/lumen/ops/asm"
	"github.com/lumen-ml/lumen/tensor"
)

// ErrArgs is wrapped by every error about inconsistent dimensions or short slices.
var ErrArgs = errors.New("ops: invalid arguments")

// gemvMaxM is the largest M served by the GEMV path (one pass over B per row), which
// streams the weights at memory bandwidth; larger M goes through the blocked GEMM.
const gemvMaxM = 3

// PackedB is a k×n right-hand matrix (typically a weight) packed once into the
// micro-kernel's panel layout: ⌈n/NR⌉ panels, each k rows of NR values (zero-padded
// past n), stored as F32, BF16 or F16. GEMM and GEMV read it without re-packing. It
// is immutable and safe for concurrent use, except for UploadTo and ReleaseDevice,
// which must not run while products use it. Use it through the pointer PackB returns:
// a large one's storage is a mapping of its own, released when that PackedB becomes
// unreachable, so a copy of the struct must not outlive it.
type PackedB struct {
	level asm.Level
	wt    asm.WeightType
	k, n  int
	nr    int
	f32   []float32
	u16   []uint16
	q     *quantized  // int8 storage (tensor.I8), nil otherwise
	bt    *bf16Tiles  // BF16-compute storage (PackBBF16), nil otherwise
	dev   *deviceCopy // resident copy on an accelerator (UploadTo), nil on the CPU
}

// K returns the number of rows (the reduction dimension).
func (pb *PackedB) K() int { return pb.k }

// N returns the number of columns (the output dimension).
func (pb *PackedB) N() int { return pb.n }

// DType returns the storage type of the panels: F32, BF16 or F16.
func (pb *PackedB) DType() tensor.DType {
	switch pb.wt {
	case asm.WeightBF16:
		return tensor.BF16
	case asm.WeightF16:
		return tensor.F16
	case asm.WeightI8:
		return tensor.I8
	}
	return tensor.F32
}

// weightType maps a storage dtype to the kernels' weight type.
func weightType(dt tensor.DType) (asm.WeightType, error) {
	switch dt {
	case tensor.F32:
		return asm.WeightF32, nil
	case tensor.BF16:
		return asm.WeightBF16, nil
	case tensor.F16:
		return asm.WeightF16, nil
	case tensor.I8:
		return asm.WeightI8, nil
	}
	return 0, fmt.Errorf("%w: packed weights are F32, BF16, F16 or I8, not %v", ErrArgs, dt)
}

// Column writes column j of the packed k×n matrix (k values, widened to float32)
// into dst. For a packed Linear or embedding weight [n, k] that is row j of the
// original, so a tied embedding table can be read from its packed LM head.
func (pb *PackedB) Column(j int, dst []float32) error {
	if j < 0 || j >= pb.n || len(dst) < pb.k {
		return fmt.Errorf("%w: Column %d of a %d×%d matrix into %d values", ErrArgs, j, pb.k, pb.n, len(dst))
	}
	if pb.q != nil {
		pb.q.column(j, pb.k, dst)
		return nil
	}
	if pb.bt != nil {
		pb.bt.column(j, pb.k, dst)
		return nil
	}
	base, stride := (j/pb.nr)*pb.k*pb.nr+j%pb.nr, pb.nr
	switch pb.wt {
	case asm.WeightF32:
		for p := range pb.k {
			dst[p] = pb.f32[base+p*stride]
		}
	case asm.WeightBF16:
		for p := range pb.k {
			dst[p] = tensor.BF16ToF32(pb.u16[base+p*stride])
		}
	case asm.WeightF16:
		for p := range pb.k {
			dst[p] = tensor.F16ToF32(pb.u16[base+p*stride])
		}
	}
	return nil
}

// Bytes returns the memory the packed panels occupy.
func (pb *PackedB) Bytes() int {
	return 4*len(pb.f32) + 2*len(pb.u16) + pb.q.bytes() + pb.bt.bytes()
}

// PackB packs op(B) for the best kernel level. op(B) is k×n: B itself (k×n, row
// stride ldb: GPT-2's Conv1D weight [in,out]) or, when transB, B is n×k (PyTorch's
// Linear weight [out,in]) and is read transposed without a copy. dt chooses the
// storage: tensor.F32, or tensor.BF16 and tensor.F16, which round to nearest-even and
// halve the bytes that decode streams, or tensor.I8: symmetric int8 per column with
// float32 scales (a quarter of the bytes), whose products quantise each row of A to
// 7 bits at run time and sum exactly in int32 (see the int8 kernels in ops/asm).
func PackB(transB bool, k, n int, b []float32, ldb int, dt tensor.DType) (*PackedB, error) {
	wt, err := weightType(dt)
	if err != nil {
		return nil, err
	}
	return packB(asm.Best, transB, k, n, b, ldb, wt)
}

// PackBHalf packs a B given as raw F16 or BF16 bits (as loaded from a checkpoint)
// and keeps that storage type, so no precision is lost and nothing is widened.
func PackBHalf(transB bool, k, n int, b []uint16, ldb int, dt tensor.DType) (*PackedB, error) {
	if dt != tensor.F16 && dt != tensor.BF16 {
		return nil, fmt.Errorf("%w: PackBHalf wants F16 or BF16 bits, got %v", ErrArgs, dt)
	}
	if err := checkMatrix("B", transB, k, n, len(b), ldb); err != nil {
		return nil, err
	}
	wt, _ := weightType(dt)
	pb := newPackedB(asm.Best, wt, k, n)
	packPanels(pb, pb.u16, transB, b, ldb, 0, panelsOf(pb), same[uint16], copyRun[uint16])
	return pb, nil
}

func newPackedB(l asm.Level, wt asm.WeightType, k, n int) *PackedB {
	_, nr := asm.Tile(l)
	pb := &PackedB{level: l, wt: wt, k: k, n: n, nr: nr}
	size := (n + nr - 1) / nr * nr * k
	if wt == asm.WeightF32 {
		pb.f32 = weightSlice[float32](pb, size)
	} else {
		pb.u16 = weightSlice[uint16](pb, size)
	}
	return pb
}

func packB(l asm.Level, transB bool, k, n int, b []float32, ldb int, wt asm.WeightType) (*PackedB, error) {
	if err := checkMatrix("B", transB, k, n, len(b), ldb); err != nil {
		return nil, err
	}
	if wt < asm.WeightF32 || wt > asm.WeightI8 {
		return nil, fmt.Errorf("%w: unknown weight type %v", ErrArgs, wt)
	}
	if !asm.Available(l) {
		return nil, fmt.Errorf("%w: level %v is not supported by this CPU", ErrArgs, l)
	}
	if wt == asm.WeightI8 {
		return packI8(l, transB, k, n, b, ldb)
	}
	pb := newPackedB(l, wt, k, n)
	switch wt {
	case asm.WeightF32:
		packPanelsF32(pb, transB, b, ldb, 0, panelsOf(pb))
	case asm.WeightBF16:
		packPanels(pb, pb.u16, transB, b, ldb, 0, panelsOf(pb), tensor.F32ToBF16, tensor.F32ToBF16Slice)
	case asm.WeightF16:
		packPanels(pb, pb.u16, transB, b, ldb, 0, panelsOf(pb), tensor.F32ToF16, tensor.F32ToF16Slice)
	}
	return pb, nil
}

// packPanels fills panels jp0..jp1-1 of pb from the stored matrix src (row stride
// ldb): conv converts one element, rowCopy a contiguous run. Both are plain functions,
// so the call allocates nothing.
func packPanels[D, S any](pb *PackedB, dst []D, transB bool, src []S, ldb, jp0, jp1 int, conv func(S) D, rowCopy func(dst []D, src []S)) {
	k, n, nr := pb.k, pb.n, pb.nr
	for jp := jp0; jp < jp1; jp++ {
		j0 := jp * nr
		w := min(nr, n-j0)
		panel := dst[jp*k*nr : (jp+1)*k*nr]
		if !transB {
			for p := 0; p < k; p++ { // row p of B: contiguous columns j0..j0+w
				row := panel[p*nr : p*nr+nr]
				rowCopy(row[:w], src[p*ldb+j0:p*ldb+j0+w])
				clear(row[w:])
			}
			continue
		}
		clear(panel)
		for jj := 0; jj < w; jj++ { // row j0+jj of the stored n×k matrix is column jj of op(B)
			for p, v := range src[(j0+jj)*ldb : (j0+jj)*ldb+k] {
				panel[p*nr+jj] = conv(v)
			}
		}
	}
}

// packPanelsF32 is packPanels for F32 storage: the whole panels of a row-major B are
// copied by the level's packing kernel, row by row across them, the rest as
// packPanels does.
func packPanelsF32(pb *PackedB, transB bool, src []float32, ldb, jp0, jp1 int) {
	if !transB {
		whole := min(jp1, pb.n/pb.nr) - jp0
		if whole > 0 {
			dst := pb.f32[jp0*pb.k*pb.nr : (jp0+whole)*pb.k*pb.nr]
			if err := asm.PackB(pb.level, dst, src[jp0*pb.nr:], ldb, pb.k, whole); err != nil {
				panic(fmt.Sprintf("ops: internal error: %v", err))
			}
			jp0 += whole
		}
	}
	if jp0 < jp1 {
		packPanels(pb, pb.f32, transB, src, ldb, jp0, jp1, same[float32], copyRun[float32])
	}
}

func same[T any](v T) T           { return v }
func copyRun[T any](dst, src []T) { copy(dst, src) }
func panelsOf(pb *PackedB) int    { return (pb.n + pb.nr - 1) / pb.nr }

// checkMatrix validates an operand that is rows×cols after op(), stored with stride ld.
func checkMatrix(name string, trans bool, rows, cols, length, ld int) error {
	if rows < 0 || cols < 0 {
		return fmt.Errorf("%w: %s is %d×%d", ErrArgs, name, rows, cols)
	}
	sr, sc := rows, cols
	if trans {
		sr, sc = cols, rows
	}
	if sr == 0 || sc == 0 {
		return nil
	}
	if ld < sc {
		return fmt.Errorf("%w: %s stored %d×%d needs a row stride ≥ %d, got %d", ErrArgs, name, sr, sc, sc, ld)
	}
	if need := (sr-1)*ld + sc; length < need {
		return fmt.Errorf("%w: %s stored %d×%d with stride %d needs %d elements, got %d", ErrArgs, name, sr, sc, ld, need, length)
	}
	return nil
}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major float32 matrices, BLAS
// style: op(A) is m×k (A stored m×k with row stride lda, or k×m when transA); op(B)
// is k×n (B stored k×n, or n×k when transB); C is m×n with row stride ldc. When beta
// is 0, C is not read. ws runs the work and holds its scratch (nil: a temporary
// single-threaded one). Inconsistent dimensions or short slices are programmer
// errors: Sgemm panics with an error wrapping ErrArgs, as gonum's BLAS does.
func Sgemm(ws *Workspace, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(ws, asm.Best, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func sgemm(ws *Workspace, l asm.Level, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, m, n, k, a, lda, c, ldc)
	must(checkMatrix("B", transB, k, n, len(b), ldb))
	if !asm.Available(l) {
		panic(fmt.Errorf("%w: level %v is not supported by this CPU", ErrArgs, l))
	}
	if trivialGemm(m, n, k, alpha, beta, c, ldc) {
		return
	}
	ws = orTemp(ws)
	if m <= gemvMaxM {
		ws.gemv.runUnpacked(ws, l, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if m <= asm.BlockingFor(l).MC {
		ws.gemm.runRaw(ws, l, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	// Pack all of op(B) into the workspace in the kernel's layout, in parallel.
	pb := &ws.packB.pb
	_, nr := asm.Tile(l)
	*pb = PackedB{level: l, wt: asm.WeightF32, k: k, n: n, nr: nr, f32: grow(&ws.packB.buf, (n+nr-1)/nr*nr*k)}
	ws.packB.set(pb, transB, b, ldb)
	ws.run(((n+nr-1)/nr+packGroup-1)/packGroup, &ws.packB)
	ws.gemm.run(ws, transA, m, alpha, a, lda, pb, beta, c, ldc)
}

// SgemmPacked computes C = alpha·op(A)·B + beta·C with a pre-packed B (k×n). M ≤ 3 —
// token-by-token decode — streams B once per row; larger M uses the blocked GEMM,
// widening F16/BF16 panels to F32 one L1-sized block at a time. When B has a device
// copy (UploadTo) and A is not transposed, the product runs on the device. It panics
// on inconsistent dimensions, as Sgemm does.
func SgemmPacked(ws *Workspace, transA bool, m int, alpha float32, a []float32, lda int, pb *PackedB, beta float32, c []float32, ldc int) {
	sgemmPacked(ws, transA, m, alpha, a, lda, pb, nil, beta, c, ldc)
}

// sgemmPacked is SgemmPacked that then adds bias (n values, or nil) to every row of
// C, whose rows must be contiguous (ldc = n) when bias is given: Linear. Int8 and
// blocked F32 products add it in their epilogue (a block of C as it is finished);
// the others after the product.
func sgemmPacked(ws *Workspace, transA bool, m int, alpha float32, a []float32, lda int, pb *PackedB, bias []float32, beta float32, c []float32, ldc int) {
	sgemmPackedAct(ws, transA, m, alpha, a, lda, pb, bias, ActIdentity, beta, c, ldc)
}

// sgemmPackedAct is sgemmPacked followed by act on C (rows contiguous when act is
// not the identity).
func sgemmPackedAct(ws *Workspace, transA bool, m int, alpha float32, a []float32, lda int, pb *PackedB, bias []float32, act Activation, beta float32, c []float32, ldc int) {
	if pb == nil {
		panic(fmt.Errorf("%w: nil PackedB", ErrArgs))
	}
	n, k := pb.n, pb.k
	checkGemm(transA, m, n, k, a, lda, c, ldc)
	if bias != nil && (len(bias) < n || ldc != n) {
		panic(fmt.Errorf("%w: a bias of %d for %d columns with row stride %d", ErrArgs, len(bias), n, ldc))
	}
	if act != ActIdentity && ldc != n {
		panic(fmt.Errorf("%w: an activation over %d columns with row stride %d", ErrArgs, n, ldc))
	}
	epilogue := func() { // for the paths without one of their own
		if bias != nil {
			AddBias(c, m, n, bias)
		}
		act.Forward(c[:m*n])
	}
	if trivialGemm(m, n, k, alpha, beta, c, ldc) {
		epilogue()
		return
	}
	if pb.deviceGemm(transA, m, alpha, a, lda, beta, c, ldc) {
		epilogue()
		return
	}
	ws = orTemp(ws)
	switch {
	case pb.q != nil:
		ws.i8.run(ws, transA, m, alpha, a, lda, pb, bias, act, beta, c, ldc)
	case pb.bt != nil:
		ws.bf16.run(ws, transA, m, alpha, a, lda, pb, bias, act, beta, c, ldc)
	case m <= gemvMaxM:
		ws.gemv.runPacked(ws, transA, m, alpha, a, lda, pb, beta, c, ldc)
		epilogue()
	default: // bias and activation as each block of C is finished
		epi := act
		if n%pb.nr != 0 {
			// A partial panel's rows would end in the activation's scalar tail: not
			// the bits of one pass over C. Activate after the product instead.
			epi = ActIdentity
		}
		ws.gemm.runEpilogue(ws, transA, m, alpha, a, lda, pb, bias, epi, beta, c, ldc)
		if epi != act {
			act.Forward(c[:m*n])
		}
	}
}

func checkGemm(transA bool, m, n, k int, a []float32, lda int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Errorf("%w: negative dimension m=%d n=%d k=%d", ErrArgs, m, n, k))
	}
	must(checkMatrix("A", transA, m, k, len(a), lda))
	must(checkMatrix("C", false, m, n, len(c), ldc))
}

// must panics with err, an argument error that only a programming mistake causes.
func must(err error) {
	if err != nil {
		panic(err)
	}
}

// trivialGemm handles the shapes that need no multiplication (an empty C, or k = 0
// or alpha = 0, which leave beta·C) and reports whether it did.
func trivialGemm(m, n, k int, alpha, beta float32, c []float32, ldc int) bool {
	if m == 0 || n == 0 {
		return true
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return true
	}
	return false
}

// scaleC sets C = beta·C (C = 0 when beta is 0, whatever C held).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

func grow(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	*buf = (*buf)[:n]
	return *buf
}

// workerScratch is one worker's private buffers, reused across calls.
type workerScratch struct {
	a      []float32   // packed A block: MC×K (one MC×KC panel set per KC slice), or one slice
	b      []float32   // a widened F16/BF16 B block, KC×NR
	tile   []float32   // an edge tile, MR×NR
	x      []float32   // a gathered row of a transposed A, or GEMV partial sums
	kb     []float32   // GEMV: a KC×64 slice of an unpacked B, columns gathered and zero-padded
	bias16 [16]float32 // int8: the bias of a partial panel, zero-padded; conv: a 6-row panel's
	aKey   packKey     // which A block a holds
	aLo    int         // the packed K columns are [aLo, aHi): [0, aHi) when whole, one slice else
	aHi    int
}

type packKey struct {
	call uint64
	ic   int
}

// packBJob packs packGroup NR panels of an F32 B per item.
type packBJob struct {
	pb     PackedB
	buf    []float32
	target *PackedB
	transB bool
	b      []float32
	ldb    int
}

func (j *packBJob) set(pb *PackedB, transB bool, b []float32, ldb int) {
	j.target, j.transB, j.b, j.ldb = pb, transB, b, ldb
}

// packGroup is the panels of one packBJob item: a row of B is read in runs of
// packGroup·NR floats.
const packGroup = 8

func (j *packBJob) Do(_, item int) {
	jp := item * packGroup
	packPanelsF32(j.target, j.transB, j.b, j.ldb, jp, min(jp+packGroup, panelsOf(j.target)))
}
