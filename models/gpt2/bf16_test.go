package gpt2

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/bench/stats"
	"github.com/lumen-ml/lumen/internal/golden"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
)

// TestBF16ComputeLogits: with BF16 compute the prefill logits of every fixture prompt
// correlate with the F32 model's at Pearson ≥ 0.999 (the target); a host
// without BF16 matrix units refuses the option.
func TestBF16ComputeLogits(t *testing.T) {
	v := variant{file: "model.safetensors", prefix: "f32"}
	if ok, _ := ops.BF16Available(); !ok {
		_, err := openVariant(t, v, nn.WithCompute(nn.BF16))
		require.ErrorIs(t, err, ops.ErrNoBF16)
		return
	}
	g := golden.Open(t, "gpt2-tiny")
	m := loadVariant(t, v)
	b := loadVariant(t, v, nn.WithCompute(nn.BF16))
	V := m.cfg.VocabSize
	worst := 1.0
	for i := 0; g.Has(fmt.Sprintf("prompt%d.input_ids", i)); i++ {
		ids := g.Ints(t, fmt.Sprintf("prompt%d.input_ids", i))
		T := len(ids)
		var logits [2][]float64
		for k, model := range []*Model{m, b} {
			s, err := model.NewState(1, T)
			require.NoError(t, err)
			hidden, err := s.Forward(ids, nil, T)
			require.NoError(t, err)
			l := make([]float32, T*V)
			require.NoError(t, s.Logits(l, hidden, T))
			for _, x := range l {
				logits[k] = append(logits[k], float64(x))
			}
		}
		worst = min(worst, stats.Pearson(logits[0], logits[1]))
	}
	t.Logf("gpt2-tiny bf16 compute: worst prompt's logits Pearson %.6f to F32", worst)
	require.GreaterOrEqual(t, worst, 0.999)
}
