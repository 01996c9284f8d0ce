package gpt2

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/internal/shared"
	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/tensor"
)

type golden struct{ f *safetensors.File }

func openGolden(t testing.TB) golden {
	f, err := safetensors.Open(shared.Path(t, "fixtures", "gpt2-tiny", "golden.safetensors"))
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return golden{f}
}

func (g golden) has(name string) bool { _, ok := g.f.Info(name); return ok }

func (g golden) f32(t testing.TB, name string) []float32 {
	x, err := g.f.Tensor(name)
	require.NoError(t, err, name)
	y, err := x.ToFloat32()
	require.NoError(t, err)
	v, _ := y.Float32s()
	return v
}

func (g golden) ints(t testing.TB, name string) []int {
	x, err := g.f.Tensor(name)
	require.NoError(t, err, name)
	require.Equal(t, tensor.I64, x.DType())
	v, _ := x.Int64s()
	out := make([]int, len(v))
	for i, e := range v {
		out[i] = int(e)
	}
	return out
}

func maxAbsDiff(t testing.TB, want, got []float32, tol float64, what string) {
	t.Helper()
	require.Equal(t, len(want), len(got), what)
	worst, at := 0.0, 0
	for i := range want {
		if d := math.Abs(float64(want[i]) - float64(got[i])); d > worst || d != d {
			worst, at = d, i
		}
	}
	require.LessOrEqual(t, worst, tol, "%s: max |diff| %.3g at %d (want %v got %v)", what, worst, at, want[at], got[at])
}

// variant is one weight file of the fixture and the golden prefix it matches.
type variant struct {
	file, prefix string
	keepHalf     bool
}

func loadVariant(t testing.TB, v variant) *Model {
	dir := shared.Path(t, "fixtures", "gpt2-tiny")
	cfg, err := LoadConfig(filepath.Join(dir, "config.json"))
	require.NoError(t, err)
	src, err := safetensors.Open(filepath.Join(dir, v.file))
	require.NoError(t, err)
	defer src.Close()
	m, err := New(cfg, src, WithThreads(2), WithHalfWeights(v.keepHalf))
	require.NoError(t, err)
	t.Cleanup(m.Close)
	return m
}

func TestGoldens(t *testing.T) {
	g := openGolden(t)
	for _, v := range []variant{
		{"model.safetensors", "f32", false},
		{"model-f16.safetensors", "f16", false}, {"model-f16.safetensors", "f16", true},
		{"model-bf16.safetensors", "bf16", false}, {"model-bf16.safetensors", "bf16", true},
	} {
		t.Run(fmt.Sprintf("%s/half=%v", v.prefix, v.keepHalf), func(t *testing.T) {
			m := loadVariant(t, v)
			V := m.cfg.VocabSize
			for i := 0; g.has(fmt.Sprintf("prompt%d.input_ids", i)); i++ {
				p := fmt.Sprintf("%s.prompt%d.", v.prefix, i)
				ids := g.ints(t, fmt.Sprintf("prompt%d.input_ids", i))
				T := len(ids)
				s, err := m.NewState(1, T)
				require.NoError(t, err)
				hidden, err := s.Forward(ids, nil, T)
				require.NoError(t, err)
				maxAbsDiff(t, g.f32(t, p+"hidden"), hidden, 1e-4, p+"hidden")
				logits := make([]float32, T*V)
				require.NoError(t, s.Logits(logits, hidden, T))
				lastRow := logits[(T-1)*V:]
				if g.has(p + "logits_last") {
					maxAbsDiff(t, g.f32(t, p+"logits_last"), lastRow, 1e-4, p+"logits_last")
				}
				if g.has(p + "logits_vocab_head") { // every position, vocab slices
					head, tail := g.f32(t, p+"logits_vocab_head"), g.f32(t, p+"logits_vocab_tail")
					argmax, lse := g.ints(t, p+"logits_argmax"), g.f32(t, p+"logits_logsumexp")
					for pos := 0; pos < T; pos++ {
						row := logits[pos*V : (pos+1)*V]
						maxAbsDiff(t, head[pos*1024:(pos+1)*1024], row[:1024], 1e-4, p+"logits_vocab_head")
						maxAbsDiff(t, tail[pos*64:(pos+1)*64], row[V-64:], 1e-4, p+"logits_vocab_tail")
						best, sum := 0, 0.0
						for j, x := range row {
							if x > row[best] {
								best = j
							}
						}
						for _, x := range row {
							sum += math.Exp(float64(x - row[best]))
						}
						require.Equal(t, argmax[pos], best, "argmax at %d", pos)
						require.InDelta(t, float64(lse[pos]), float64(row[best])+math.Log(sum), 1e-4)
					}
				}
				if g.has(p + "logits_last_vocab_head") {
					maxAbsDiff(t, g.f32(t, p+"logits_last_vocab_head"), lastRow[:1024], 1e-4, p+"logits_last_vocab_head")
					maxAbsDiff(t, g.f32(t, p+"logits_last_vocab_tail"), lastRow[V-64:], 1e-4, p+"logits_last_vocab_tail")
				}
				want := g.ints(t, p+"generated_ids")
				var got []int
				for tok, err := range m.Generate(context.Background(), ids, GenerateOptions{MaxNewTokens: len(want)}) {
					require.NoError(t, err)
					got = append(got, tok)
				}
				require.Equal(t, want, got, p+"generated_ids")
			}
		})
	}
}

func TestBatchGoldens(t *testing.T) {
	g := openGolden(t)
	m := loadVariant(t, variant{"model.safetensors", "f32", false})
	ids := g.ints(t, "batch.input_ids")
	mask := g.ints(t, "batch.attention_mask")
	B, V := 4, m.cfg.VocabSize
	L := len(ids) / B
	valid := make([]bool, len(mask))
	prompts := make([][]int, B)
	for i, v := range mask {
		valid[i] = v == 1
		if valid[i] {
			prompts[i/L] = append(prompts[i/L], ids[i])
		}
	}
	s, err := m.NewState(B, L)
	require.NoError(t, err)
	hidden, err := s.Forward(ids, valid, L)
	require.NoError(t, err)
	E := m.cfg.NEmbd
	last := make([]float32, B*E)
	for b := 0; b < B; b++ {
		copy(last[b*E:], hidden[(b*L+L-1)*E:(b*L+L)*E])
	}
	logits := make([]float32, B*V)
	require.NoError(t, s.Logits(logits, last, B))
	maxAbsDiff(t, g.f32(t, "batch.logits_last"), logits, 1e-4, "batch.logits_last")

	want := g.ints(t, "batch.generated_ids")
	got, err := m.GenerateBatch(context.Background(), prompts, GenerateOptions{MaxNewTokens: 16})
	require.NoError(t, err)
	for b := 0; b < B; b++ {
		require.Equal(t, want[b*16:(b+1)*16], got[b], "row %d", b)
	}
}
