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

// Activation is an elementwise function that LinearAct applies to its output.
type Activation uint8

// The activations a Linear's output can go through.
const (
	ActIdentity Activation = iota
	ActGELUTanh            // GELU, tanh approximation (GELUTanh)
	ActGELU                // GELU, exact erf form (GELUErf)
	ActReLU                // ReLU
)

// Forward applies the activation to x in place.
func (a Activation) Forward(x []float32) {
	switch a {
	case ActGELUTanh:
		GELUTanh(x)
	case ActGELU:
		GELUErf(x)
	case ActReLU:
		ReLU(x)
	}
}

// LinearAct is Linear followed by act on y: in the blocked product, bias and act are
// applied to each block of y as it is finished, while it is in cache, instead of in
// passes over all of y (the same values).
func LinearAct(ws *Workspace, y, x []float32, rows int, w *PackedB, bias []float32, act Activation) {
	if w == nil {
		panic(fmt.Errorf("%w: Linear with a nil weight", ErrArgs))
	}
	sgemmPackedAct(ws, false, rows, 1, x, w.K(), w, bias, act, 0, y, w.N())
}
