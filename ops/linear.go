package ops

import "fmt"

// Linear computes y = x·Wᵀ + b for rows rows, a PyTorch nn.Linear (or GPT-2 Conv1D):
// x is rows×K, w the packed K×N weight (PackB(true, …) of a Linear weight [N, K], or
// PackB(false, …) of a Conv1D weight [K, N]), bias has N entries or is nil, y is
// rows×N. ws runs it (nil: a temporary single-threaded workspace). It panics with
// an error wrapping ErrArgs on inconsistent sizes.
func Linear(ws *Workspace, y, x []float32, rows int, w *PackedB, bias []float32) {
	if w == nil {
		panic(fmt.Errorf("%w: Linear with a nil weight", ErrArgs))
	}
	if w.q != nil && w.dev == nil && w.k > 0 { // int8: the bias is added in the kernels' epilogue
		checkGemm(false, rows, w.n, w.k, x, w.k, y, w.n)
		if rows > 0 && w.n > 0 {
			ws = orTemp(ws)
			ws.i8.run(ws, false, rows, 1, x, w.k, w, bias, 0, y, w.n)
		}
		return
	}
	SgemmPacked(ws, false, rows, 1, x, w.K(), w, 0, y, w.N())
	if bias != nil {
		AddBias(y, rows, w.N(), bias)
	}
}
