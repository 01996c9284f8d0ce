// Package ops holds Lumen's operators on float32 slices: SGEMM and GEMV with
// pre-packed F32/BF16/F16 weights, convolution, pooling, softmax, layer norm, GELU,
// bias and residual adds, and attention scores. Operators know nothing of models;
// the CPU-specific kernels live in ops/asm and are chosen once at start-up.
//
// Matrices are row-major with explicit row strides, BLAS style. Errors wrap ErrArgs
// and say which operand is short or inconsistent. A Pool of pinned worker threads
// runs the parallel operators; pass nil to run on the calling goroutine.
package ops
