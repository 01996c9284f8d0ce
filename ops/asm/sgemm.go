package asm

import "fmt"

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
	mr, nr := Tile(l)
	if k < 0 || len(a) < k*mr || len(b) < k*nr || ldc < nr || len(c) < (mr-1)*ldc+nr {
		return fmt.Errorf("asm: SgemmKernel(%v) k=%d ldc=%d: slices too short (a %d, b %d, c %d)", l, k, ldc, len(a), len(b), len(c))
	}
	if !Available(l) {
		return fmt.Errorf("asm: level %v is not supported by this CPU", l)
	}
	sgemmKernel(l, k, a, b, c, ldc, alpha, beta)
	return nil
}

// sgemmKernel is SgemmKernel without the checks, for the GEMM loop nest.
func sgemmKernel(l Level, k int, a, b, c []float32, ldc int, alpha, beta float32) {
	if k > 0 && sgemmKernelArch(l, k, a, b, c, ldc, alpha, beta) {
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
