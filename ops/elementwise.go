package ops

import (
	"fmt"
	"math"

	"github.com/lumen-ml/lumen/ops/asm"
)

// GELUTanh applies GPT-2's gelu_new in place: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))),
// to within 4e-7 relative (vectorised where the CPU allows).
func GELUTanh(x []float32) { asm.GELUTanh(asm.Best, x) }

// GELUErf applies BERT's exact GELU in place: 0.5·x·(1 + erf(x/√2)), to within 4e-7
// (vectorised where the CPU allows).
func GELUErf(x []float32) { asm.GELUErf(asm.Best, x) }

// ReLU applies max(x, 0) in place (NaN stays NaN).
func ReLU(x []float32) {
	for i, v := range x {
		if v < 0 {
			x[i] = 0
		}
	}
}

// AddBias adds bias (length cols) to every row of the rows×cols matrix x, in place.
func AddBias(x []float32, rows, cols int, bias []float32) {
	if rows < 0 || cols < 0 || len(x) < rows*cols || len(bias) < cols {
		panic(fmt.Errorf("%w: AddBias %d×%d with x of %d and bias of %d", ErrArgs, rows, cols, len(x), len(bias)))
	}
	asm.AddRows(asm.Best, x, cols, rows, bias[:cols])
}

// Add sets dst[i] = a[i] + b[i] (the residual connection); dst may alias a or b.
func Add(dst, a, b []float32) {
	if len(a) != len(dst) || len(b) != len(dst) {
		panic(fmt.Errorf("%w: Add of lengths %d, %d into %d", ErrArgs, len(a), len(b), len(dst)))
	}
	if len(dst) > 0 {
		asm.Add(asm.Best, dst, a, b)
	}
}

// Softmax replaces each row of the rows×cols matrix x by its softmax, subtracting the
// row maximum first so that large logits do not overflow. -Inf entries (masked
// positions) get probability 0; a row that is all -Inf becomes NaN, as in PyTorch;
// NaN propagates to its row.
func Softmax(x []float32, rows, cols int) {
	if rows < 0 || cols < 0 || len(x) < rows*cols {
		panic(fmt.Errorf("%w: Softmax %d×%d with %d elements", ErrArgs, rows, cols, len(x)))
	}
	for r := 0; r < rows; r++ {
		row := x[r*cols : r*cols+cols]
		m := asm.Max(asm.Best, row)
		var sum float32
		if math.IsInf(float64(m), 0) || m != m {
			// An all -Inf row (or +Inf/NaN) gives NaN, as in PyTorch.
			for j, v := range row {
				row[j] = asm.Expf(v - m)
				sum += row[j]
			}
		} else {
			sum = asm.ExpSubSum(asm.Best, row, m)
		}
		asm.Scale(asm.Best, row, 1/sum)
	}
}

// LayerNorm normalises each row of the rows×cols matrix x over its cols, then scales
// and shifts: dst = (x − mean)/√(var + eps)·gamma + beta, with the biased variance as
// PyTorch computes it. Sums are accumulated in float64. dst may alias x.
func LayerNorm(dst, x []float32, rows, cols int, gamma, beta []float32, eps float32) {
	if rows < 0 || cols <= 0 || len(x) < rows*cols || len(dst) < rows*cols || len(gamma) < cols || len(beta) < cols {
		panic(fmt.Errorf("%w: LayerNorm %d×%d with x %d, dst %d, gamma %d, beta %d", ErrArgs, rows, cols, len(x), len(dst), len(gamma), len(beta)))
	}
	gamma, beta = gamma[:cols], beta[:cols]
	for r := 0; r < rows; r++ {
		asm.LayerNormRow(asm.Best, dst[r*cols:r*cols+cols], x[r*cols:r*cols+cols], gamma, beta, eps)
	}
}

// AddLayerNorm is the post-norm residual of BERT's layers: x = LayerNorm(x + h) row
// by row (the Add and LayerNorm above, the same bits), the rows in blocks on ws's
// pool while each row is in cache. x and h are rows×cols.
func AddLayerNorm(ws *Workspace, x, h []float32, rows, cols int, gamma, beta []float32, eps float32) {
	if rows < 0 || cols <= 0 || len(x) < rows*cols || len(h) < rows*cols || len(gamma) < cols || len(beta) < cols {
		panic(fmt.Errorf("%w: AddLayerNorm %d×%d with x %d, h %d, gamma %d, beta %d", ErrArgs, rows, cols, len(x), len(h), len(gamma), len(beta)))
	}
	if rows == 0 {
		return
	}
	ws = orTemp(ws)
	j := &ws.norm
	j.x, j.h, j.rows, j.cols, j.gamma, j.beta, j.eps = x, h, rows, cols, gamma[:cols], beta[:cols], eps
	ws.run((rows+normRowBlock-1)/normRowBlock, j)
	j.x, j.h, j.gamma, j.beta = nil, nil, nil, nil
}

// normRowBlock is the rows one AddLayerNorm item normalises.
const normRowBlock = 16

type normJob struct {
	x, h        []float32
	rows, cols  int
	gamma, beta []float32
	eps         float32
}

func (j *normJob) Do(_, item int) {
	for r := item * normRowBlock; r < min((item+1)*normRowBlock, j.rows); r++ {
		row := j.x[r*j.cols : (r+1)*j.cols]
		asm.Add(asm.Best, row, row, j.h[r*j.cols:(r+1)*j.cols])
		asm.LayerNormRow(asm.Best, row, row, j.gamma, j.beta, j.eps)
	}
}

// RMSNorm scales each row of the rows×cols matrix x by the reciprocal of its root
// mean square, then by gamma: dst = x/√(mean(x²) + eps)·gamma (Llama's norm), as ggml
// computes it (float32 squares summed in float64). dst may alias x.
func RMSNorm(dst, x []float32, rows, cols int, gamma []float32, eps float32) {
	if rows < 0 || cols <= 0 || len(x) < rows*cols || len(dst) < rows*cols || len(gamma) < cols {
		panic(fmt.Errorf("%w: RMSNorm %d×%d with x %d, dst %d, gamma %d", ErrArgs, rows, cols, len(x), len(dst), len(gamma)))
	}
	gamma = gamma[:cols]
	for r := 0; r < rows; r++ {
		row, out := x[r*cols:r*cols+cols], dst[r*cols:r*cols+cols]
		// ggml's arithmetic, to give llama.cpp's numbers: squares in float32
		// summed in float64; the mean, the eps and the square root in float32.
		var ss float64
		for _, v := range row {
			ss += float64(v * v)
		}
		mean := float32(ss / float64(cols))
		scale := 1 / float32(math.Sqrt(float64(mean+eps)))
		for j, v := range row {
			out[j] = v * scale * gamma[j]
		}
	}
}

// RoPEShape describes rotary position embeddings over rows of heads×HeadDim values:
// the first Dims values of every head are rotated, pair by pair, by pos·Base^(−2i/Dims).
type RoPEShape struct {
	Heads   int // heads per row
	HeadDim int // values per head
	Dims    int // rotated values per head (even, at most HeadDim)
	Base    float64
	// Interleaved rotates adjacent pairs (x[2i], x[2i+1]), as llama.cpp does with
	// GGUF's permuted Q and K weights (its rope type NORM); otherwise pairs are
	// (x[i], x[i+Dims/2]), Hugging Face's rotate_half (NEOX).
	Interleaved bool
	// Freqs, when not nil, are the Dims/2 inverse frequencies of the pairs, in
	// place of Base^(−2i/Dims): scaled RoPE (linear, Llama 3's).
	Freqs []float64
}

// RoPEFreqs returns the inverse frequencies of plain RoPE's pairs, Base^(−2i/Dims)
// for i < Dims/2: what a model scales to fill RoPEShape.Freqs.
func RoPEFreqs(base float64, dims int) []float64 {
	out := make([]float64, dims/2)
	for i := range out {
		out[i] = math.Pow(base, -2*float64(i)/float64(dims))
	}
	return out
}

// RoPEAngles writes the rotations of positions pos to dst (len(pos)·s.Dims values):
// for position t and pair i, cos and sin of pos[t]·Base^(−2i/Dims) (or
// pos[t]·Freqs[i]), side by side. They serve every head and layer of those
// positions (RoPE).
func RoPEAngles(dst []float32, pos []int, s RoPEShape) {
	if s.Dims <= 0 || s.Dims%2 != 0 || !(s.Base > 0) || len(dst) != len(pos)*s.Dims || (s.Freqs != nil && len(s.Freqs) != s.Dims/2) {
		panic(fmt.Errorf("%w: RoPEAngles %+v into %d values for %d positions", ErrArgs, s, len(dst), len(pos)))
	}
	freqs := s.Freqs
	if freqs == nil {
		freqs = RoPEFreqs(s.Base, s.Dims) // once per call, not per position
	}
	for t, p := range pos {
		for i, f := range freqs {
			sin, cos := math.Sincos(float64(p) * f)
			dst[t*s.Dims+2*i], dst[t*s.Dims+2*i+1] = float32(cos), float32(sin)
		}
	}
}

// RoPE rotates x (rows of s.Heads×s.HeadDim values, one per position) in place by
// angles (RoPEAngles of those positions). It panics with an error wrapping ErrArgs
// on inconsistent shapes.
func RoPE(x, angles []float32, s RoPEShape) {
	width := s.Heads * s.HeadDim
	if s.Heads <= 0 || s.Dims <= 0 || s.Dims%2 != 0 || s.Dims > s.HeadDim || len(angles)%s.Dims != 0 || len(x) != len(angles)/s.Dims*width {
		panic(fmt.Errorf("%w: RoPE %+v of %d values with %d angles", ErrArgs, s, len(x), len(angles)))
	}
	half := s.Dims / 2
	for t := range len(angles) / s.Dims {
		row := x[t*width : (t+1)*width]
		for i := range half {
			cos, sin := angles[t*s.Dims+2*i], angles[t*s.Dims+2*i+1]
			a, b := i, i+half
			if s.Interleaved {
				a, b = 2*i, 2*i+1
			}
			for h := 0; h < s.Heads; h++ {
				head := row[h*s.HeadDim : (h+1)*s.HeadDim]
				x0, x1 := head[a], head[b]
				head[a] = x0*cos - x1*sin
				head[b] = x0*sin + x1*cos
			}
		}
	}
}

// SiLUMul sets gate[i] = silu(gate[i])·up[i], SwiGLU's product: silu(x) = x/(1+e^−x).
func SiLUMul(gate, up []float32) {
	if len(gate) != len(up) {
		panic(fmt.Errorf("%w: SiLUMul of lengths %d and %d", ErrArgs, len(gate), len(up)))
	}
	asm.SiLUMul(asm.Best, gate, up)
}
