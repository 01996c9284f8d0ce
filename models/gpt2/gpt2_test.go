package gpt2

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/bench/stats"
	"github.com/lumen-ml/lumen/internal/golden"
	"github.com/lumen-ml/lumen/internal/shared"
	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
)

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
	device       bool // matrix products on ops.ReferenceDevice (the device dispatch path)
}

// openVariant builds the fixture's model as v says, returning New's error.
func openVariant(t testing.TB, v variant, extra ...Option) (*Model, error) {
	dir := shared.Path(t, "fixtures", "gpt2-tiny")
	cfg, err := LoadConfig(filepath.Join(dir, "config.json"))
	require.NoError(t, err)
	src, err := safetensors.Open(filepath.Join(dir, v.file))
	require.NoError(t, err)
	defer src.Close()
	opts := append([]Option{nn.WithHalfWeights(v.keepHalf)}, extra...)
	if v.device {
		opts = append(opts, nn.WithDevice(ops.ReferenceDevice(nil)))
	}
	return New(cfg, src, v.file, opts...)
}

func loadVariant(t testing.TB, v variant, extra ...Option) *Model {
	m, err := openVariant(t, v, extra...)
	require.NoError(t, err)
	t.Cleanup(func() {
		for _, pb := range m.matrices() {
			require.Equal(t, v.device, pb.OnDevice())
			require.Zero(t, pb.DeviceFallbacks())
		}
		m.Close()
		for _, pb := range m.matrices() {
			require.False(t, pb.OnDevice(), "Close frees the device copies")
		}
	})
	return m
}

func TestGoldens(t *testing.T) {
	g := golden.Open(t, "gpt2-tiny")
	for _, v := range []variant{
		{"model.safetensors", "f32", false, false},
		{"model-f16.safetensors", "f16", false, false}, {"model-f16.safetensors", "f16", true, false},
		{"model-bf16.safetensors", "bf16", false, false}, {"model-bf16.safetensors", "bf16", true, false},
		{"model.safetensors", "f32", false, true}, {"model-bf16.safetensors", "bf16", true, true},
	} {
		t.Run(fmt.Sprintf("%s/half=%v/device=%v", v.prefix, v.keepHalf, v.device), func(t *testing.T) {
			m := loadVariant(t, v)
			V := m.cfg.VocabSize
			for i := 0; g.Has(fmt.Sprintf("prompt%d.input_ids", i)); i++ {
				p := fmt.Sprintf("%s.prompt%d.", v.prefix, i)
				ids := g.Ints(t, fmt.Sprintf("prompt%d.input_ids", i))
				T := len(ids)
				s, err := m.NewState(1, T)
				require.NoError(t, err)
				hidden, err := s.Forward(ids, nil, T)
				require.NoError(t, err)
				maxAbsDiff(t, g.F32(t, p+"hidden"), hidden, 1e-4, p+"hidden")
				logits := make([]float32, T*V)
				require.NoError(t, s.Logits(logits, hidden, T))
				lastRow := logits[(T-1)*V:]
				if g.Has(p + "logits_last") {
					maxAbsDiff(t, g.F32(t, p+"logits_last"), lastRow, 1e-4, p+"logits_last")
				}
				if g.Has(p + "logits_vocab_head") { // every position, vocab slices
					head, tail := g.F32(t, p+"logits_vocab_head"), g.F32(t, p+"logits_vocab_tail")
					argmax, lse := g.Ints(t, p+"logits_argmax"), g.F32(t, p+"logits_logsumexp")
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
				if g.Has(p + "logits_last_vocab_head") {
					maxAbsDiff(t, g.F32(t, p+"logits_last_vocab_head"), lastRow[:1024], 1e-4, p+"logits_last_vocab_head")
					maxAbsDiff(t, g.F32(t, p+"logits_last_vocab_tail"), lastRow[V-64:], 1e-4, p+"logits_last_vocab_tail")
				}
				want := g.Ints(t, p+"generated_ids")
				var got []int
				for tok, err := range m.Generate(context.Background(), ids, GenerateOptions{MaxNewTokens: len(want)}) {
					require.NoError(t, err)
					got = append(got, tok)
				}
				require.Equal(t, want, got, p+"generated_ids")
				if g.Has(p + "logits_last") { // the benchmark method's equivalence criterion against HF
					eq, err := stats.CompareOutputs(g.F32(t, p+"logits_last"), lastRow, 1, V, want, got)
					require.NoError(t, err)
					require.True(t, eq.Equivalent, "%+v", eq)
				}
			}
		})
	}
}

func TestBatchGoldens(t *testing.T) {
	g := golden.Open(t, "gpt2-tiny")
	m := loadVariant(t, variant{"model.safetensors", "f32", false, false})
	ids := g.Ints(t, "batch.input_ids")
	mask := g.Ints(t, "batch.attention_mask")
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
	maxAbsDiff(t, g.F32(t, "batch.logits_last"), logits, 1e-4, "batch.logits_last")

	want := g.Ints(t, "batch.generated_ids")
	got, err := m.GenerateBatch(context.Background(), prompts, GenerateOptions{MaxNewTokens: 16})
	require.NoError(t, err)
	for b := 0; b < B; b++ {
		require.Equal(t, want[b*16:(b+1)*16], got[b], "row %d", b)
	}
}
