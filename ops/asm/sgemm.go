package asm

import (
	"fmt"
	"unsafe"
)

// Tile returns the register block MR×NR of level l's single-precision micro-kernel.
func Tile(l Level) (mr, nr int) {
	switch l {
	case AVX512:
		return 12, 32
	case AVX2:
		return 6, 16
	case NEON:
		return 8, 8
	}
	return 4, 8
}

// SgemmKernel computes one MR×NR tile of C (MR, NR from Tile(l)):
//
//	C[i*ldc+j] = alpha · Σ_p a[p*MR+i]·b[p*NR+j] + beta · C[i*ldc+j]
//
// for i < MR, j < NR, p < k. a holds k columns of MR values (a packed A panel), b holds
// k rows of NR values (a packed B panel). When beta is 0, C is not read, so NaN or Inf
// already in C does not leak into the result (BLAS semantics). It returns an error if
// a slice is too short or l does not run on this CPU.
func SgemmKernel(l Level, k int, a, b, c []float32, ldc int, alpha, beta float32) error {
	if err := checkKernel(l, k, a, b, c, ldc); err != nil {
		return err
	}
	sgemmKernel(l, k, a, b, c, ldc, alpha, beta, nil)
	return nil
}

func checkKernel(l Level, k int, a, b, c []float32, ldc int) error {
	mr, nr := Tile(l)
	if k < 0 || len(a) < k*mr || len(b) < k*nr || ldc < nr || len(c) < (mr-1)*ldc+nr {
		return fmt.Errorf("asm: SgemmKernel(%v) k=%d ldc=%d: slices too short (a %d, b %d, c %d)", l, k, ldc, len(a), len(b), len(c))
	}
	if !Available(l) {
		return fmt.Errorf("asm: level %v is not supported by this CPU", l)
	}
	return nil
}

// SgemmKernelPrefetch is SgemmKernel that also prefetches, one cache line per step of
// k, the memory from next on (the next B panel, whatever its storage type) where the
// level's kernel supports it: with few rows of A a panel serves only a few tiles, and
// without the prefetch each panel would wait for DRAM. next may be nil.
func SgemmKernelPrefetch(l Level, k int, a, b, c []float32, ldc int, alpha, beta float32, next unsafe.Pointer) error {
	if err := checkKernel(l, k, a, b, c, ldc); err != nil {
		return err
	}
	sgemmKernel(l, k, a, b, c, ldc, alpha, beta, next)
	return nil
}

// ShortRows is the rows of level l's short kernel: 4 on AVX2 (whose tile is 6
// rows), 8 on AVX-512 (12), MR elsewhere (no short kernel).
func ShortRows(l Level) int {
	switch l {
	case AVX2:
		return 4
	case AVX512:
		return 8
	}
	mr, _ := Tile(l)
	return mr
}

// SgemmKernelShort is SgemmKernelPrefetch for the first ShortRows(l) rows of the tile
// only (a is the same MR-row packed panel): an edge tile of few rows costs fewer
// multiply-adds. Each element is summed exactly as SgemmKernel sums it. C needs
// ShortRows(l) rows.
func SgemmKernelShort(l Level, k int, a, b, c []float32, ldc int, alpha, beta float32, next unsafe.Pointer) error {
	mr, nr := Tile(l)
	rows := ShortRows(l)
	if rows == mr {
		return SgemmKernelPrefetch(l, k, a, b, c, ldc, alpha, beta, next)
	}
	if k < 0 || len(a) < k*mr || len(b) < k*nr || ldc < nr || len(c) < (rows-1)*ldc+nr {
		return fmt.Errorf("asm: SgemmKernelShort(%v) k=%d ldc=%d: slices too short (a %d, b %d, c %d)", l, k, ldc, len(a), len(b), len(c))
	}
	if !Available(l) {
		return fmt.Errorf("asm: level %v is not supported by this CPU", l)
	}
	if k > 0 && sgemmShortArch(l, k, a, b, c, ldc, alpha, beta, next) {
		return nil
	}
	var full [32 * 32]float32 // the generic path: the whole tile, then its first rows
	SgemmKernelGo(mr, nr, k, a, b, full[:], nr, alpha, 0)
	for i := 0; i < rows; i++ {
		row := c[i*ldc : i*ldc+nr]
		for j := range row {
			if beta == 0 {
				row[j] = full[i*nr+j]
			} else {
				row[j] = full[i*nr+j] + beta*row[j]
			}
		}
	}
	return nil
}

// sgemmKernel is SgemmKernel without the checks, for the GEMM loop nest.
func sgemmKernel(l Level, k int, a, b, c []float32, ldc int, alpha, beta float32, next unsafe.Pointer) {
	if k > 0 && sgemmKernelArch(l, k, a, b, c, ldc, alpha, beta, next) {
		return
	}
	mr, nr := Tile(l)
	SgemmKernelGo(mr, nr, k, a, b, c, ldc, alpha, beta)
}

// SgemmKernelGo is the pure-Go twin of the micro-kernels, for any tile size.
func SgemmKernelGo(mr, nr, k int, a, b, c []float32, ldc int, alpha, beta float32) {
	var accBuf [32 * 32]float32
	acc := accBuf[:mr*nr]
	if mr*nr > len(accBuf) {
		acc = make([]float32, mr*nr)
	}
	for p := 0; p < k; p++ {
		ap := a[p*mr : p*mr+mr]
		bp := b[p*nr : p*nr+nr]
		for i, av := range ap {
			row := acc[i*nr : i*nr+nr]
			for j, bv := range bp {
				row[j] += av * bv
			}
		}
	}
	for i := 0; i < mr; i++ {
		row := c[i*ldc : i*ldc+nr]
		for j := range row {
			if beta == 0 {
				row[j] = alpha * acc[i*nr+j]
			} else {
				row[j] = alpha*acc[i*nr+j] + beta*row[j]
			}
		}
	}
}

// PackA packs rows×k of a row-major A (row stride lda) into the A-panel layout of
// level l's micro-kernel: dst[p*MR + i] = a[i*lda + p] for p < k, rows past the
// given ones zero (rows ≤ MR, from Tile(l)). It returns an error if a slice is too
// short or l does not run on this CPU.
func PackA(l Level, dst, a []float32, lda, rows, k int) error {
	mr, _ := Tile(l)
	if rows < 1 || rows > mr || k < 0 || lda < k || len(dst) < k*mr || (k > 0 && len(a) < (rows-1)*lda+k) {
		return fmt.Errorf("asm: PackA(%v) rows=%d k=%d lda=%d: bad shape or slices too short (a %d, dst %d)", l, rows, k, lda, len(a), len(dst))
	}
	if !Available(l) {
		return fmt.Errorf("asm: level %v is not supported by this CPU", l)
	}
	packA(l, dst, a, lda, rows, k)
	return nil
}

// packA is PackA without the checks.
func packA(l Level, dst, a []float32, lda, rows, k int) {
	mr, _ := Tile(l)
	done := 0
	if rows == mr {
		done = packAArch(l, k, a, lda, dst)
	}
	PackAGo(mr, dst[done*mr:], a[done:], lda, rows, k-done)
}

// PackAGo is the pure-Go twin of the packing kernels, for any MR.
func PackAGo(mr int, dst, a []float32, lda, rows, k int) {
	if rows < mr {
		clear(dst[:k*mr])
	}
	for i := 0; i < rows; i++ {
		for p, v := range a[i*lda : i*lda+k] {
			dst[p*mr+i] = v
		}
	}
}

// PackB packs n whole NR-wide panels of a row-major B (k rows, row stride ldb) into
// the B-panel layout of level l's micro-kernel: panel q, the columns q·NR.. of B,
// is dst[q*k*NR:], with dst[q*k*NR + p*NR + j] = b[p*ldb + q*NR + j] for j < NR
// (NR from Tile(l)). It returns an error if a slice is too short or l does not run
// on this CPU.
func PackB(l Level, dst, b []float32, ldb, k, n int) error {
	_, nr := Tile(l)
	if k < 0 || n < 0 || ldb < n*nr || len(dst) < n*k*nr || (k > 0 && n > 0 && len(b) < (k-1)*ldb+n*nr) {
		return fmt.Errorf("asm: PackB(%v) k=%d n=%d ldb=%d: bad shape or slices too short (b %d, dst %d)", l, k, n, ldb, len(b), len(dst))
	}
	if !Available(l) {
		return fmt.Errorf("asm: level %v is not supported by this CPU", l)
	}
	if k > 0 && n > 0 && packBArch(l, k, n, b, ldb, dst) {
		return nil
	}
	PackBGo(nr, dst, b, ldb, k, n)
	return nil
}

// PackBGo is the pure-Go twin of the B-packing kernels, for any NR.
func PackBGo(nr int, dst, b []float32, ldb, k, n int) {
	for q := 0; q < n; q++ {
		for p := 0; p < k; p++ {
			copy(dst[(q*k+p)*nr:(q*k+p+1)*nr], b[p*ldb+q*nr:p*ldb+q*nr+nr])
		}
	}
}
