package bert

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/bench/stats"
	"github.com/lumen-ml/lumen/internal/golden"
	"github.com/lumen-ml/lumen/models/nn"
)

// bestSpan is the QA answer rule over the second segment (token type 1, its closing
// [SEP] excluded): argmax of start[i]+end[j] with i ≤ j < i+30.
func bestSpan(start, end []float32, types []int) [2]int {
	best, score := [2]int{-1, -1}, math.Inf(-1)
	last := len(types) - 1
	for i := range types {
		for j := i; j < min(i+30, last); j++ {
			if types[i] != 1 || types[j] != 1 {
				continue
			}
			if s := float64(start[i] + end[j]); s > score {
				best, score = [2]int{i, j}, s
			}
		}
	}
	return best
}

// TestInt8Accuracy checks the int8 models against Hugging Face's float32 goldens by
// the criteria: every embedding within cosine 0.99, the same QA spans and the
// same class argmax. The figures are logged.
func TestInt8Accuracy(t *testing.T) {
	q := nn.WithQuantization(nn.Int8)
	t.Run("bert-tiny", func(t *testing.T) {
		g := golden.Open(t, "bert-tiny")
		m := load(t, "bert-tiny", q)
		E := m.cfg.Hidden
		worst := 1.0
		for _, kind := range []string{"single", "pair"} {
			for i := 0; g.Has(fmt.Sprintf("%s%d.input_ids", kind, i)); i++ {
				p := fmt.Sprintf("%s%d", kind, i)
				b := goldenBatch(t, g, p, 1)
				hidden, err := m.Forward(b)
				require.NoError(t, err)
				c := cosine(g.F32(t, p+".mean_pooled"), SentenceEmbeddings(hidden, b, E, Pooling{}))
				require.GreaterOrEqual(t, c, 0.99, p)
				pooled, err := m.PooledOutput(hidden, b)
				require.NoError(t, err)
				require.GreaterOrEqual(t, cosine(g.F32(t, p+".pooler_output"), pooled), 0.99, p+" pooler")
				worst = min(worst, c)
			}
		}
		t.Logf("bert-tiny int8: worst mean-pooled cosine to HF f32 %.5f", worst)
	})
	t.Run("minilm-tiny", func(t *testing.T) {
		g := golden.Open(t, "minilm-tiny")
		m := load(t, "minilm-tiny", q)
		E := m.cfg.Hidden
		worst, n := 1.0, 0
		for i := 0; g.Has(fmt.Sprintf("sent%d.input_ids", i)); i++ {
			p := fmt.Sprintf("sent%d", i)
			b := goldenBatch(t, g, p, 1)
			h, err := m.Forward(b)
			require.NoError(t, err)
			c := cosine(g.F32(t, p+".embedding"), SentenceEmbeddings(h, b, E, m.Pooling()))
			require.GreaterOrEqual(t, c, 0.99, p)
			worst, n = min(worst, c), n+1
		}
		require.Positive(t, n)
		t.Logf("minilm-tiny int8: worst sentence-embedding cosine to HF f32 %.5f over %d sentences", worst, n)
	})
	t.Run("bert-tiny-qa", func(t *testing.T) {
		g := golden.Open(t, "bert-tiny-qa")
		m := load(t, "bert-tiny-qa", q)
		n := 0
		for i := 0; g.Has(fmt.Sprintf("qa%d.input_ids", i)); i++ {
			p := fmt.Sprintf("qa%d", i)
			b := goldenBatch(t, g, p, 1)
			hidden, err := m.Forward(b)
			require.NoError(t, err)
			start, end, err := m.QALogits(hidden, b)
			require.NoError(t, err)
			want := bestSpan(g.F32(t, p+".start_logits"), g.F32(t, p+".end_logits"), b.Types)
			require.NotEqual(t, -1, want[0])
			require.Equal(t, want, bestSpan(start, end, b.Types), p)
			n++
		}
		require.Positive(t, n)
		t.Logf("bert-tiny-qa int8: %d/%d best spans equal to HF f32's", n, n)
	})
	t.Run("bert-tiny-cls", func(t *testing.T) {
		g := golden.Open(t, "bert-tiny-cls")
		m := load(t, "bert-tiny-cls", q)
		n := 0
		for i := 0; g.Has(fmt.Sprintf("cls%d.input_ids", i)); i++ {
			p := fmt.Sprintf("cls%d", i)
			b := goldenBatch(t, g, p, 1)
			hidden, err := m.Forward(b)
			require.NoError(t, err)
			logits, err := m.ClassLogits(hidden, b)
			require.NoError(t, err)
			require.Equal(t, stats.Argmax(g.F32(t, p+".logits")), stats.Argmax(logits), p)
			n++
		}
		require.Positive(t, n)
		t.Logf("bert-tiny-cls int8: %d/%d class argmaxes equal to HF f32's", n, n)
	})
}
