package bert

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/internal/golden"
	"github.com/lumen-ml/lumen/internal/shared"
	"github.com/lumen-ml/lumen/models/nn"
)

func loadWithTok(t testing.TB, fixture string) *Model {
	m, err := Load(shared.Path(t, "fixtures", fixture), nn.WithTokenizerDir(shared.Path(t, "tokenizers", "bert-base-uncased")))
	require.NoError(t, err)
	t.Cleanup(m.Close)
	return m
}

func TestAnswerSpans(t *testing.T) {
	m := loadWithTok(t, "bert-tiny-qa")
	raw, err := os.ReadFile(shared.Path(t, "fixtures", "bert-tiny-qa", "golden.json"))
	require.NoError(t, err)
	var g struct {
		QA []struct {
			Question, Context string
			IDs               []int  `json:"ids"`
			Text              string `json:"best_span_text"`
			Span              [2]int `json:"best_span_char_offsets_in_context"`
		} `json:"qa"`
	}
	require.NoError(t, json.Unmarshal(raw, &g))
	require.NotEmpty(t, g.QA)
	for _, c := range g.QA {
		enc, err := m.Tokenizer().EncodePair(c.Question, c.Context, 0)
		require.NoError(t, err)
		require.Equal(t, c.IDs, enc.IDs)
		a, err := m.Answer(context.Background(), enc, c.Context, 30)
		require.NoError(t, err)
		require.Equal(t, c.Text, a.Text, c.Question)
		if c.Text == c.Context[c.Span[0]:min(c.Span[1], len(c.Context))] { // ASCII contexts: code points = bytes
			require.Equal(t, c.Span, [2]int{a.Start, a.End})
		}
	}
	enc, err := m.EncodePair("q", "c", false)
	require.NoError(t, err)
	_, err = m.Answer(context.Background(), enc, "c", 0)
	require.ErrorIs(t, err, ErrInput)
	_, err = m.EncodePair("q", strings.Repeat("word ", m.ContextLength()), false) // too long, not truncated
	require.ErrorIs(t, err, ErrInput)
	long, err := m.EncodePair("q", strings.Repeat("word ", m.ContextLength()), true)
	require.NoError(t, err)
	require.Len(t, long.IDs, m.ContextLength())
}

func TestFillMaskAndClassify(t *testing.T) {
	m := loadWithTok(t, "bert-tiny")
	raw, err := os.ReadFile(shared.Path(t, "fixtures", "bert-tiny", "golden.json"))
	require.NoError(t, err)
	var g struct {
		MLM []struct {
			Text string  `json:"text"`
			Top5 [][]int `json:"top5_ids"`
		} `json:"mlm"`
	}
	require.NoError(t, json.Unmarshal(raw, &g))
	for _, c := range g.MLM {
		fills, err := m.FillMask(context.Background(), c.Text, 5)
		require.NoError(t, err)
		require.Len(t, fills, len(c.Top5))
		for k, want := range c.Top5 {
			var got []int
			var sum float32
			for _, f := range fills[k] {
				got = append(got, f.ID)
				sum += f.Score
				require.Equal(t, strings.Count(c.Text, "[MASK]")-1, strings.Count(f.Text, "[MASK]"), "one mask replaced")
				require.Contains(t, f.Text, strings.TrimPrefix(f.Token, "##")) // token_str keeps a lone piece's ##, as transformers'
			}
			require.Equal(t, want, got, c.Text)
			require.Less(t, sum, float32(1.0001))
		}
	}
	_, err = m.FillMask(context.Background(), "no mask here", 5)
	require.ErrorIs(t, err, ErrInput)

	cls := loadWithTok(t, "bert-tiny-cls")
	encs, err := cls.Encode([]string{"I love this!", "Terrible."}, false)
	require.NoError(t, err)
	res, err := cls.Classify(context.Background(), encs)
	require.NoError(t, err)
	for _, r := range res {
		require.Len(t, r, 3)
		var sum float32
		for i, s := range r {
			sum += s.Score
			if i > 0 {
				require.GreaterOrEqual(t, r[i-1].Score, s.Score)
			}
		}
		require.InDelta(t, 1, sum, 1e-5)
	}
}

func TestEmbedAndConcurrency(t *testing.T) {
	m := loadWithTok(t, "minilm-tiny")
	texts := []string{"The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."}
	g := golden.Open(t, "minilm-tiny")
	want := g.F32(t, "embeddings")
	encs, err := m.Encode(texts, false)
	require.NoError(t, err)
	emb, err := m.Embed(context.Background(), encs)
	require.NoError(t, err)
	for i := range texts {
		close(t, want[i*96:(i+1)*96], emb[i], 1e-4, texts[i])
	}
	var wg sync.WaitGroup
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rep := 0; rep < 5; rep++ {
				e, err := m.Embed(context.Background(), encs[w%3:w%3+1])
				require.NoError(t, err)
				close(t, want[(w%3)*96:(w%3+1)*96], e[0], 1e-4, "concurrent")
			}
		}()
	}
	wg.Wait()
	_, err = m.Embed(context.Background(), nil)
	require.ErrorIs(t, err, ErrInput)
}
