// Package ops holds Lumen's operators on float32 slices, in the vocabulary of the
// models that call them: Linear (with pre-packed F32/BF16/F16 weights, int8 ones
// whose products quantise their input rows at run time, or BF16-compute ones from
// PackBBF16 whose products round their input rows to BF16 and run on AMX-BF16 tiles,
// refused with ErrNoBF16 where the host has none), Attention
// (AttentionShape), Conv2D (ConvShape), MaxPool2D (PoolShape), softmax, layer norm,
// GELU, bias and residual adds; and, beneath them, SGEMM and GEMV with BLAS-style
// arguments. Operators know nothing of models; the CPU-specific kernels live in
// ops/asm and are chosen once at start-up.
//
// Threads and scratch memory are apart. A Pool is a set of pinned worker threads
// that any number of models and goroutines share (DefaultPool is the process's); a
// Workspace is one caller's scratch, owned by a model's State, request or worker and
// not shared between goroutines. Every operator takes a *Workspace; nil means a
// temporary single-threaded one.
//
// Matrices are row-major with explicit row strides. Inconsistent dimensions or short
// slices are programmer errors: the operators panic with an error wrapping ErrArgs
// that says which operand is wrong, as gonum's BLAS does. What a caller of a model
// can get wrong is checked, and returned as an error, by the model.
package ops
