package ops

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGELUWiring(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	x := randMat(r, 1003)
	a, b := append([]float32(nil), x...), append([]float32(nil), x...)
	GELUTanh(a)
	GELUErf(b)
	for i, v := range x {
		xf := float64(v)
		require.InDelta(t, 0.5*xf*(1+math.Tanh(math.Sqrt(2/math.Pi)*(xf+0.044715*xf*xf*xf))), float64(a[i]), 4e-7*math.Max(1, math.Abs(xf)))
		require.InDelta(t, 0.5*xf*(1+math.Erf(xf/math.Sqrt2)), float64(b[i]), 4e-7*math.Max(1, math.Abs(xf)))
	}
}

func TestSoftmax(t *testing.T) {
	x := []float32{1, 2, 3, 1000, 1001, 1002, 0, float32(math.Inf(-1)), 0}
	Softmax(x, 3, 3)
	e := []float64{math.Exp(-2), math.Exp(-1), 1}
	s := e[0] + e[1] + e[2]
	for j := 0; j < 3; j++ {
		require.InDelta(t, e[j]/s, float64(x[j]), 1e-7)
		require.InDelta(t, e[j]/s, float64(x[3+j]), 1e-7, "max-subtraction keeps large logits finite")
	}
	require.Equal(t, []float32{0.5, 0, 0.5}, x[6:])
	allMasked := []float32{float32(math.Inf(-1)), float32(math.Inf(-1))}
	Softmax(allMasked, 1, 2)
	require.True(t, math.IsNaN(float64(allMasked[0])), "all -Inf row is NaN, as in PyTorch")
	withNaN := []float32{1, float32(math.NaN()), 2}
	Softmax(withNaN, 1, 3)
	for _, v := range withNaN {
		require.True(t, math.IsNaN(float64(v)))
	}
	require.ErrorIs(t, panicked(func() { Softmax(x, 4, 3) }), ErrArgs)
}

func TestLayerNorm(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	rows, cols := 5, 77
	x := randMat(r, rows*cols)
	for i := range x {
		x[i] = x[i]*3 + 100 // a large mean tests the two-pass variance
	}
	gamma, beta := randMat(r, cols), randMat(r, cols)
	out := make([]float32, len(x))
	LayerNorm(out, x, rows, cols, gamma, beta, 1e-5)
	for rr := 0; rr < rows; rr++ {
		var mean, v float64
		for j := 0; j < cols; j++ {
			mean += float64(x[rr*cols+j])
		}
		mean /= float64(cols)
		for j := 0; j < cols; j++ {
			d := float64(x[rr*cols+j]) - mean
			v += d * d
		}
		v /= float64(cols)
		for j := 0; j < cols; j++ {
			want := (float64(x[rr*cols+j])-mean)/math.Sqrt(v+1e-5)*float64(gamma[j]) + float64(beta[j])
			require.InDelta(t, want, float64(out[rr*cols+j]), 2e-5)
		}
	}
	LayerNorm(x, x, rows, cols, gamma, beta, 1e-5) // in place
	require.Equal(t, out, x)
	require.ErrorIs(t, panicked(func() { LayerNorm(out, x, rows, cols, gamma[:3], beta, 1e-5) }), ErrArgs)
}

func TestBiasAddReLU(t *testing.T) {
	x := []float32{1, 2, 3, 4, 5, 6}
	AddBias(x, 2, 3, []float32{10, -20, 30})
	require.Equal(t, []float32{11, -18, 33, 14, -15, 36}, x)
	require.ErrorIs(t, panicked(func() { AddBias(x, 3, 3, []float32{1, 2, 3}) }), ErrArgs)
	d := make([]float32, 6)
	Add(d, x, []float32{1, 1, 1, 1, 1, 1})
	require.Equal(t, []float32{12, -17, 34, 15, -14, 37}, d)
	require.ErrorIs(t, panicked(func() { Add(d, x[:5], x) }), ErrArgs)
	ReLU(d)
	require.Equal(t, []float32{12, 0, 34, 15, 0, 37}, d)
}

// naiveAttention is the float64 reference for one sequence and head of Attention.
func naiveAttention(s AttentionShape, q, k, v, mask []float32, b, h int) [][]float64 {
	return naiveBiasedAttention(s, q, k, v, mask, nil, b, h)
}

// naiveBiasedAttention is naiveAttention with AttentionWithBias's bias.
func naiveBiasedAttention(s AttentionShape, q, k, v, mask, bias []float32, b, h int) [][]float64 {
	d, kh := s.HeadDim, h
	if s.KVHeads > 0 {
		kh = h / (s.Heads / s.KVHeads)
	}
	out := make([][]float64, s.Queries)
	for i := range out {
		scores := make([]float64, s.Keys)
		mx := math.Inf(-1)
		for j := range scores {
			if s.Causal && j > s.Past+i {
				scores[j] = math.Inf(-1)
				continue
			}
			for e := 0; e < d; e++ {
				scores[j] += float64(q[b*s.QSeq+i*s.QRow+h*d+e]) * float64(k[b*s.KVSeq+j*s.KVRow+kh*d+e])
			}
			scores[j] *= float64(s.Scale)
			if bias != nil {
				scores[j] += float64(bias[(h*s.Queries+i)*s.Keys+j])
			}
			if mask != nil && mask[b*s.MaskSeq+j] != 0 {
				scores[j] = math.Inf(-1)
			}
			mx = math.Max(mx, scores[j])
		}
		var sum float64
		for j := range scores {
			scores[j] = math.Exp(scores[j] - mx)
			sum += scores[j]
		}
		out[i] = make([]float64, d)
		for j, p := range scores {
			for e := 0; e < d; e++ {
				out[i][e] += p / sum * float64(v[b*s.KVSeq+j*s.KVRow+kh*d+e])
			}
		}
	}
	return out
}

// TestAttention checks both layouts the models use — a fused QKV buffer (BERT,
// padding mask) and a KV cache after a prefix (GPT-2, causal) — against float64, on
// one and two threads.
func TestAttention(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	p := NewPool(2)
	defer p.Close()
	for _, ws := range []*Workspace{nil, NewWorkspace(nil), NewWorkspace(p)} {
		for _, c := range []struct {
			batch, heads, d, tq, past int
			causal, fused             bool
			kvHeads                   int // 0: heads
		}{{2, 3, 8, 5, 0, false, true, 0}, {1, 1, 4, 1, 8, true, false, 0}, {3, 2, 16, 4, 3, true, false, 0}, {2, 4, 8, 16, 0, true, true, 0}, {1, 2, 5, 7, 0, false, false, 0},
			{2, 6, 8, 3, 4, true, false, 2}, {1, 9, 16, 1, 10, true, false, 3}, {2, 4, 4, 5, 0, false, false, 1}} {
			E := c.heads * c.d
			KV := E
			if c.kvHeads > 0 {
				KV = c.kvHeads * c.d
			}
			s := AttentionShape{Batch: c.batch, Heads: c.heads, KVHeads: c.kvHeads, HeadDim: c.d, Queries: c.tq, Keys: c.past + c.tq,
				Causal: c.causal, Past: c.past, Scale: float32(1 / math.Sqrt(float64(c.d))), OutRow: E, OutSeq: c.tq * E}
			var q, k, v []float32
			if c.fused { // [q | k | v] per position
				qkv := randMat(r, c.batch*c.tq*3*E)
				q, k, v = qkv, qkv[E:], qkv[2*E:]
				s.QRow, s.QSeq, s.KVRow, s.KVSeq = 3*E, c.tq*3*E, 3*E, c.tq*3*E
			} else { // a cache of maxLen positions per sequence, queries apart
				maxLen := s.Keys + 2
				q, k, v = randMat(r, c.batch*c.tq*E), randMat(r, c.batch*maxLen*KV), randMat(r, c.batch*maxLen*KV)
				s.QRow, s.QSeq, s.KVRow, s.KVSeq = E, c.tq*E, KV, maxLen*KV
			}
			s.MaskSeq = s.Keys + 1
			mask := make([]float32, c.batch*s.MaskSeq)
			mask[s.Keys-1] = MaskValue // the first sequence's last key is padding (no row is fully masked)
			out := make([]float32, c.batch*c.tq*E)
			// Without and with a bias shared by the sequences (MPNet's relative positions).
			for _, bias := range [][]float32{nil, randMat(r, c.heads*c.tq*s.Keys)} {
				AttentionWithBias(ws, s, out, q, k, v, mask, bias)
				for b := 0; b < c.batch; b++ {
					for h := 0; h < c.heads; h++ {
						want := naiveBiasedAttention(s, q, k, v, mask, bias, b, h)
						for i := range want {
							for e, w := range want[i] {
								require.InDelta(t, w, out[b*s.OutSeq+i*s.OutRow+h*c.d+e], 1e-5, "%+v b%d h%d q%d bias %v", c, b, h, i, bias != nil)
							}
						}
					}
				}
			}
		}
	}
	good := AttentionShape{Batch: 1, Heads: 1, HeadDim: 2, Queries: 2, Keys: 2, QRow: 2, KVRow: 2, OutRow: 2, Scale: 1}
	buf := make([]float32, 4)
	Attention(nil, good, buf, buf, buf, buf, nil)
	short, causal := good, good
	causal.Causal, causal.Past = true, 1
	require.ErrorIs(t, panicked(func() { Attention(nil, short, make([]float32, 3), buf, buf, buf, nil) }), ErrArgs)
	require.ErrorIs(t, panicked(func() { Attention(nil, causal, buf, buf, buf, buf, nil) }), ErrArgs)
	require.ErrorIs(t, panicked(func() { Attention(nil, good, buf, buf, buf, buf, make([]float32, 1)) }), ErrArgs)
	require.ErrorIs(t, panicked(func() { AttentionWithBias(nil, good, buf, buf, buf, buf, nil, make([]float32, 3)) }), ErrArgs)
	gqa := good
	gqa.Heads, gqa.KVHeads, gqa.QRow, gqa.OutRow = 3, 2, 6, 6
	require.ErrorIs(t, panicked(func() { Attention(nil, gqa, make([]float32, 12), make([]float32, 12), buf, buf, nil) }), ErrArgs)
}

func BenchmarkElementwise(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 5))
	x := randMat(r, 128*3072)
	work := make([]float32, len(x))
	gamma, beta := randMat(r, 768), randMat(r, 768)
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"GELUTanh", func() { copy(work, x); GELUTanh(work) }},
		{"GELUErf", func() { copy(work, x); GELUErf(work) }},
		{"Softmax", func() { copy(work, x); Softmax(work, 128*4, 768) }},
		{"Softmax77", func() { copy(work, x); Softmax(work[:128*77*39], 128*39, 77) }}, // attention rows of a 77-token prompt
		{"LayerNorm", func() { LayerNorm(work, x, 128*4, 768, gamma, beta, 1e-5) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				c.f()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(x)), "ns/elem")
		})
	}
}

func TestRMSNormRoPESiLU(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	rows, cols := 3, 37
	x, gamma := randMat(r, rows*cols), randMat(r, cols)
	y := make([]float32, len(x))
	RMSNorm(y, x, rows, cols, gamma, 1e-5)
	for i := 0; i < rows; i++ {
		var ss float64
		for _, v := range x[i*cols : (i+1)*cols] {
			ss += float64(v) * float64(v)
		}
		s := 1 / math.Sqrt(ss/float64(cols)+1e-5)
		for j := 0; j < cols; j++ {
			require.InDelta(t, float64(x[i*cols+j])*s*float64(gamma[j]), y[i*cols+j], 1e-5)
		}
	}
	require.ErrorIs(t, panicked(func() { RMSNorm(y, x, rows, cols, gamma[:3], 1e-5) }), ErrArgs)

	for _, inter := range []bool{false, true} {
		s := RoPEShape{Heads: 3, HeadDim: 10, Dims: 6, Base: 10000, Interleaved: inter}
		pos := []int{0, 1, 7, 100}
		x := randMat(r, len(pos)*30)
		got := slices.Clone(x)
		angles := make([]float32, len(pos)*s.Dims)
		RoPEAngles(angles, pos, s)
		RoPE(got, angles, s)
		for t0, p := range pos {
			for h := 0; h < 3; h++ {
				in, out := x[t0*30+h*10:][:10], got[t0*30+h*10:][:10]
				for i := 0; i < 3; i++ {
					a, b := i, i+3
					if inter {
						a, b = 2*i, 2*i+1
					}
					th := float64(p) * math.Pow(10000, -2*float64(i)/6)
					require.InDelta(t, float64(in[a])*math.Cos(th)-float64(in[b])*math.Sin(th), out[a], 1e-5)
					require.InDelta(t, float64(in[a])*math.Sin(th)+float64(in[b])*math.Cos(th), out[b], 1e-5)
				}
				require.Equal(t, in[6:], out[6:], "past Dims, values are not rotated")
			}
		}
	}
	require.ErrorIs(t, panicked(func() {
		RoPE(make([]float32, 10), make([]float32, 5), RoPEShape{Heads: 1, HeadDim: 10, Dims: 5, Base: 1})
	}), ErrArgs)
	require.ErrorIs(t, panicked(func() { RoPEAngles(make([]float32, 5), []int{0}, RoPEShape{Heads: 1, HeadDim: 10, Dims: 5, Base: 1}) }), ErrArgs)
	// Freqs in place of the base: position p at frequencies f/4 is position p/4 at f.
	plain, scaled := RoPEShape{Dims: 6, Base: 10000}, RoPEShape{Dims: 6, Base: 10000}
	for i := range 3 {
		scaled.Freqs = append(scaled.Freqs, math.Pow(10000, -2*float64(i)/6)/4)
	}
	a, b := make([]float32, 12), make([]float32, 12)
	RoPEAngles(a, []int{4, 40}, scaled)
	RoPEAngles(b, []int{1, 10}, plain)
	require.InDeltaSlice(t, b, a, 1e-6)
	scaled.Freqs = scaled.Freqs[:2]
	require.ErrorIs(t, panicked(func() { RoPEAngles(a, []int{4, 40}, scaled) }), ErrArgs)
	require.ErrorIs(t, panicked(func() {
		RoPE(make([]float32, 10), make([]float32, 4), RoPEShape{Heads: 1, HeadDim: 10, Dims: 6, Base: 1})
	}), ErrArgs)

	g, u := randMat(r, 19), randMat(r, 19)
	want := make([]float64, len(g))
	for i := range g {
		want[i] = float64(g[i]) / (1 + math.Exp(-float64(g[i]))) * float64(u[i])
	}
	SiLUMul(g, u)
	for i := range g {
		require.InDelta(t, want[i], g[i], 1e-6)
	}
	require.ErrorIs(t, panicked(func() { SiLUMul(g, u[:3]) }), ErrArgs)
}

// TestAddLayerNorm: the fused residual and norm give the bits of Add then LayerNorm,
// on one and two threads, over row counts that end mid-block.
func TestAddLayerNorm(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 7))
	p := NewPool(2)
	defer p.Close()
	for _, rows := range []int{0, 1, 16, 17, 33, 128} {
		for _, cols := range []int{1, 7, 768} {
			x, h, gamma, beta := randMat(r, rows*cols), randMat(r, rows*cols), randMat(r, cols), randMat(r, cols)
			want := append([]float32(nil), x...)
			Add(want, want, h)
			LayerNorm(want, want, rows, cols, gamma, beta, 1e-12)
			for _, ws := range []*Workspace{nil, NewWorkspace(p)} {
				got := append([]float32(nil), x...)
				AddLayerNorm(ws, got, h, rows, cols, gamma, beta, 1e-12)
				require.Equal(t, want, got, "rows=%d cols=%d", rows, cols)
			}
		}
	}
	require.Panics(t, func() {
		AddLayerNorm(nil, make([]float32, 4), make([]float32, 3), 2, 2, make([]float32, 2), make([]float32, 2), 1e-5)
	})
}
