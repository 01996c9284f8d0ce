package nn

import "github.com/lumen-ml/lumen/ops"

// Linear is PyTorch's nn.Linear (and GPT-2's Conv1D): y = x·Wᵀ + b, with W packed.
type Linear struct {
	Weight *ops.PackedB // in × out, packed
	Bias   []float32    // [out], nil without bias
}

// Linear reads NAME.weight, a PyTorch Linear weight [out, in], and NAME.bias [out].
// Either size may be -1 (any).
func (b *Builder) Linear(name string, out, in int) Linear {
	w := b.Matrix(name+".weight", true, out, in)
	if w != nil {
		out = w.N()
	}
	return Linear{Weight: w, Bias: b.F32(name+".bias", out)}
}

// Conv1D reads GPT-2's Conv1D: NAME.weight stored [in, out], NAME.bias [out].
func (b *Builder) Conv1D(name string, in, out int) Linear {
	return Linear{Weight: b.Matrix(name+".weight", false, in, out), Bias: b.F32(name+".bias", out)}
}

// In returns the input width.
func (l Linear) In() int { return l.Weight.K() }

// Out returns the output width.
func (l Linear) Out() int { return l.Weight.N() }

// Forward computes y[rows×out] = x[rows×in]·Wᵀ + b.
func (l Linear) Forward(ws *ops.Workspace, y, x []float32, rows int) {
	ops.Linear(ws, y, x, rows, l.Weight, l.Bias)
}

// ForwardAct is Forward followed by act on y, applied as the product's epilogue
// (ops.LinearAct).
func (l Linear) ForwardAct(ws *ops.Workspace, y, x []float32, rows int, act Activation) {
	ops.LinearAct(ws, y, x, rows, l.Weight, l.Bias, act)
}

// Bytes returns the memory the weight and bias occupy.
func (l Linear) Bytes() int { return l.Weight.Bytes() + 4*len(l.Bias) }

// LayerNorm is PyTorch's nn.LayerNorm over the last dimension.
type LayerNorm struct {
	Weight, Bias []float32 // [n] each
	Eps          float32
}

// LayerNorm reads NAME.weight and NAME.bias (or the aliases Options gives).
func (b *Builder) LayerNorm(name string, n int, eps float32) LayerNorm {
	return LayerNorm{Weight: b.F32(name+".weight", n), Bias: b.F32(name+".bias", n), Eps: eps}
}

// Forward normalises each of rows rows of x into y (y may alias x).
func (l LayerNorm) Forward(y, x []float32, rows int) {
	ops.LayerNorm(y, x, rows, len(l.Weight), l.Weight, l.Bias, l.Eps)
}

// ForwardResidual is the post-norm residual: x = LayerNorm(x + h), rows on ws's pool.
func (l LayerNorm) ForwardResidual(ws *ops.Workspace, x, h []float32, rows int) {
	ops.AddLayerNorm(ws, x, h, rows, len(l.Weight), l.Weight, l.Bias, l.Eps)
}

// Bytes returns the memory the parameters occupy.
func (l LayerNorm) Bytes() int { return 4 * (len(l.Weight) + len(l.Bias)) }

// Embedding is PyTorch's nn.Embedding: a [rows, dim] lookup table.
type Embedding struct {
	Weight []float32 // [rows, dim]
	Dim    int
}

// Embedding reads NAME.weight, [rows, dim].
func (b *Builder) Embedding(name string, rows, dim int) Embedding {
	return Embedding{Weight: b.F32(name+".weight", rows, dim), Dim: dim}
}

// Row returns row id (read-only).
func (e Embedding) Row(id int) []float32 { return e.Weight[id*e.Dim : (id+1)*e.Dim] }

// Bytes returns the memory the table occupies.
func (e Embedding) Bytes() int { return 4 * len(e.Weight) }
