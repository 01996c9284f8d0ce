//go:build openblas

package main

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
*/
import "C"

import "unsafe"

const blasAvailable = true

func setBLASThreads(n int) { C.openblas_set_num_threads(C.int(n)) }

func blasName() string {
	return C.GoString(C.openblas_get_config()) + " core " + C.GoString(C.openblas_get_corename())
}

// blasSgemm calls cblas_sgemv for M = 1 (what a BLAS user does for decode) and
// cblas_sgemm otherwise; row-major, no transposes.
func blasSgemm(m, n, k int, a, b, c []float32) {
	if m == 1 {
		// y = Bᵀ·x with B k×n row-major: sgemv on the transposed matrix.
		C.cblas_sgemv(C.CblasRowMajor, C.CblasTrans, C.int(k), C.int(n), 1,
			(*C.float)(unsafe.Pointer(&b[0])), C.int(n), (*C.float)(unsafe.Pointer(&a[0])), 1, 0,
			(*C.float)(unsafe.Pointer(&c[0])), 1)
		return
	}
	C.cblas_sgemm(C.CblasRowMajor, C.CblasNoTrans, C.CblasNoTrans, C.int(m), C.int(n), C.int(k), 1,
		(*C.float)(unsafe.Pointer(&a[0])), C.int(k), (*C.float)(unsafe.Pointer(&b[0])), C.int(n), 0,
		(*C.float)(unsafe.Pointer(&c[0])), C.int(n))
}
