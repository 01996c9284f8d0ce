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
	sgemmPacked(ws, false, rows, 1, x, w.K(), w, bias, 0, y, w.N())
}
