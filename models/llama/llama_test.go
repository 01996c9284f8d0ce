package llama

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/lumen-ml/lumen/ops"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/stat"

	"github.com/lumen-ml/lumen/internal/shared"
	"github.com/lumen-ml/lumen/models/decode"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/tokenizer"
)

// smolLM2 loads the real SmolLM2-135M-Instruct Q4_1 (shared.SmolLM2).
func smolLM2(t testing.TB, opts ...Option) *Model {
	p := shared.SmolLM2(t)
	m, err := LoadGGUF(p, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return m
}

type golden struct {
	Steps int `json:"steps"`
	Cases []struct {
		Text         string    `json:"text"`
		IDs          []int     `json:"ids"`
		Stride       int       `json:"sample_stride"`
		SampleLogits []float64 `json:"sample_logits"`
		TopIDs       []int     `json:"top_ids"`
		TopLogits    []float64 `json:"top_logits"`
		Greedy       []int     `json:"greedy"`
	} `json:"cases"`
}

func readGolden(t testing.TB) golden {
	data, err := os.ReadFile("testdata/smollm2_llamacpp.json")
	require.NoError(t, err)
	var g golden
	require.NoError(t, json.Unmarshal(data, &g))
	return g
}

// TestSmolLM2MatchesLlamaCpp compares tokenization, the logits after each prompt
// and 24 greedy tokens with llama.cpp's (tools/llama/make_goldens.py: F32 KV
// cache, no flash attention), with 8-bit activation blocks as llama.cpp multiplies
// Q4_1 weights, and with float32 ones.
//
// The tolerances are llama.cpp's own spread: on this model its logits move by up to
// 0.45 between its flash-attention and plain paths, and by 0.35 between F16 and F32
// caches (two tokens, same weights); Lumen's two activation modes differ by up to
// 0.8 (Pearson 0.9989–0.9995). After one token (no attention) the Q8 path agrees
// with llama.cpp to 0.08 (Pearson 0.99999). Greedy continuations run in lock step
// until a near tie: the test wants the first two tokens, and logs how far each runs.
func TestSmolLM2MatchesLlamaCpp(t *testing.T) {
	g := readGolden(t)
	agree := map[ops.QAct]int{}
	for _, act := range []ops.QAct{ops.QActQ8, ops.QActF32} {
		m := smolLM2(t, nn.WithQuantActivations(act))
		assert.Equal(t, Config{Arch: "llama", NLayer: 30, NEmbd: 576, NFF: 1536, NHead: 9, NHeadKV: 3, HeadDim: 64, RopeDim: 64,
			RopeTheta: 100000, RMSEps: 1e-5, ContextLength: 8192, VocabSize: 49152}, m.Config())
		for _, c := range g.Cases {
			ids, err := m.Encode(c.Text)
			require.NoError(t, err)
			require.Equal(t, c.IDs, ids, "tokens of %q", c.Text)
			s, err := m.NewState(len(ids) + g.Steps)
			require.NoError(t, err)
			logits, err := s.Step(context.Background(), ids)
			require.NoError(t, err)
			got := make([]float64, len(c.SampleLogits))
			for i := range got {
				got[i] = float64(logits[i*c.Stride])
			}
			r := stat.Correlation(got, c.SampleLogits, nil)
			var worst float64
			for i, id := range c.TopIDs {
				worst = max(worst, math.Abs(float64(logits[id])-c.TopLogits[i]))
			}
			t.Logf("%v %q: pearson %.6f over %d sampled logits, top-20 max |Δ| %.3f", act, c.Text[:min(24, len(c.Text))], r, len(got), worst)
			assert.Greater(t, r, 0.998, "%v %q", act, c.Text)
			assert.Less(t, worst, 1.0, "%v %q", act, c.Text)
			assert.Equal(t, c.TopIDs[0], slices.Index(logits, slices.Max(logits)), "%v %q: the most likely next token", act, c.Text)
			var gen []int
			for tok, err := range m.Generate(context.Background(), ids, GenerateOptions{MaxNewTokens: g.Steps}) {
				require.NoError(t, err)
				gen = append(gen, tok)
			}
			same := 0
			for same < len(gen) && gen[same] == c.Greedy[same] {
				same++
			}
			if same < len(gen) {
				// Where they part: the margin, in Lumen's logits, between its token
				// and llama.cpp's, after the common prefix.
				st, err := m.NewState(len(ids) + same + 1)
				require.NoError(t, err)
				l, err := st.Step(context.Background(), append(slices.Clone(ids), gen[:same]...))
				require.NoError(t, err)
				t.Logf("%v: greedy agrees for %d of %d tokens; then %d over llama.cpp's %d by %.3f", act, same, len(gen),
					gen[same], c.Greedy[same], l[gen[same]]-l[c.Greedy[same]])
			} else {
				t.Logf("%v: greedy agrees for %d of %d tokens", act, same, len(gen))
			}
			assert.GreaterOrEqual(t, same, 2, "%v: greedy continuation of %q", act, c.Text)
			agree[act] += same
		}
		t.Logf("%v: %d of %d greedy tokens in lock step with llama.cpp", act, agree[act], len(g.Cases)*g.Steps)
	}
	// 94 here (AVX-512 dispatch), 78 at AVX2, 84 with the Go kernels: where a near tie
	// falls depends on summation orders. A real bug runs with llama.cpp for a few.
	assert.GreaterOrEqual(t, agree[ops.QActQ8], len(g.Cases)*g.Steps/3, "the Q8 path runs with llama.cpp for a good part of the tokens")
}

func TestSmolLM2Chat(t *testing.T) {
	m := smolLM2(t)
	ids, err := m.EncodeChat([]tokenizer.Message{{Role: "user", Content: "What is 12 times 7?"}})
	require.NoError(t, err)
	text, err := m.Tokenizer().Decode(ids, false)
	require.NoError(t, err)
	assert.Equal(t, "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"+
		"<|im_start|>user\nWhat is 12 times 7?<|im_end|>\n<|im_start|>assistant\n", text)
	var out string
	var toks int
	for c, err := range m.GenerateText(context.Background(), ids, GenerateOptions{MaxNewTokens: 40, StopAtEOS: true}, nil) {
		require.NoError(t, err)
		out += c.Text
		if c.Token >= 0 {
			toks++
		}
	}
	t.Logf("%d tokens: %q", toks, out)
	// llama.cpp answers the same prompt (the golden's fourth) "12 times 7 is 72.":
	// the 135M model does not know, and the digit after "is" is a near tie.
	assert.Equal(t, readGolden(t).Cases[3].IDs, ids, "the rendered chat is the golden's prompt")
	assert.Contains(t, out, "12 times 7 is ")
	assert.Less(t, toks, 40, "ends at <|im_end|>")
}

func TestBadRequests(t *testing.T) {
	m := smolLM2(t)
	ctx := context.Background()
	_, err := m.NewState(0)
	assert.ErrorIs(t, err, ErrInput)
	_, err = m.NewState(m.ContextLength() + 1)
	assert.ErrorIs(t, err, nn.ErrInput)
	s, err := m.NewState(4)
	require.NoError(t, err)
	for _, ids := range [][]int{nil, {-1}, {49152}, {1, 2, 3, 4, 5}} {
		_, err := s.Step(ctx, ids)
		assert.ErrorIs(t, err, ErrInput, "%v", ids)
		assert.Equal(t, 0, s.Len(), "a refused step caches nothing")
	}
	_, err = s.Step(ctx, []int{1, 2, 3})
	require.NoError(t, err)
	_, err = s.Step(ctx, []int{4, 5})
	assert.ErrorIs(t, err, ErrInput, "past the state's length")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	s.Reset()
	_, err = s.Step(cancelled, []int{1})
	assert.ErrorIs(t, err, context.Canceled)
	for _, opt := range []GenerateOptions{{}, {MaxNewTokens: 8193}, {MaxNewTokens: 1, TopP: 2}} {
		for _, err := range m.Generate(ctx, []int{1}, opt) {
			assert.ErrorIs(t, err, ErrInput, "%+v", opt)
		}
	}
	_, err = m.EncodeChat([]tokenizer.Message{{Role: "user", Content: "hi"}})
	assert.NoError(t, err)
}

func TestNotLlama(t *testing.T) {
	// loader/gguf's fixture says llama but has none of its metadata.
	_, err := LoadGGUF("../../loader/gguf/testdata/fixture.gguf")
	assert.ErrorIs(t, err, ErrFormat)
	_, err = LoadGGUF("testdata/missing.gguf")
	assert.Error(t, err)
	_, err = LoadGGUF("testdata/tiny.gguf", nn.WithTokenizerDir("elsewhere"))
	assert.ErrorIs(t, err, nn.ErrOption, "a GGUF file brings its own vocabulary")
	_, err = LoadGGUF("testdata/tiny.gguf", nn.WithHalfWeights(true))
	assert.ErrorIs(t, err, nn.ErrOption)
}

// TestConcurrentGenerate runs four greedy generations at once on one Model (run
// with -race): each gets the tokens it gets alone.
func TestConcurrentGenerate(t *testing.T) {
	m := smolLM2(t)
	prompts := [][]int{{504, 3575, 282, 4649, 314}, {1, 9690, 198}, {28, 29, 30}, {6403, 1980, 253}}
	run := func(p []int) []int {
		var out []int
		for tok, err := range m.Generate(context.Background(), p, GenerateOptions{MaxNewTokens: 6}) {
			require.NoError(t, err)
			out = append(out, tok)
		}
		return out
	}
	want := make([][]int, len(prompts))
	for i, p := range prompts {
		want[i] = run(p)
	}
	got := make([][]int, len(prompts))
	var wg sync.WaitGroup
	for i, p := range prompts {
		wg.Go(func() { got[i] = run(p) })
	}
	wg.Wait()
	require.Equal(t, want, got)
}

// TestTinyMatchesLlamaCpp checks a tiny random Llama (tools/llama/make_tiny.py: 2
// layers, grouped-query heads, Q4_1 and Q8_0 weights, a byte-level vocabulary with
// merges and special tokens) against llama.cpp on every machine: token ids, all
// the logits after each prompt, and 16 greedy tokens.
func TestTinyMatchesLlamaCpp(t *testing.T) {
	data, err := os.ReadFile("testdata/tiny_llamacpp.json")
	require.NoError(t, err)
	var g struct {
		Cases []struct {
			Text   string    `json:"text"`
			IDs    []int     `json:"ids"`
			Logits []float64 `json:"logits"`
			Greedy []int     `json:"greedy"`
		} `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(data, &g))
	for _, act := range []ops.QAct{ops.QActQ8, ops.QActF32} {
		m, err := LoadGGUF("testdata/tiny.gguf", nn.WithQuantActivations(act))
		require.NoError(t, err)
		defer m.Close()
		for _, c := range g.Cases {
			ids, err := m.Encode(c.Text)
			require.NoError(t, err)
			require.Equal(t, c.IDs, ids, "tokens of %q", c.Text)
			s, err := m.NewState(len(ids))
			require.NoError(t, err)
			logits, err := s.Step(context.Background(), ids)
			require.NoError(t, err)
			got := make([]float64, len(logits))
			var worst float64
			for i, v := range logits {
				got[i] = float64(v)
				worst = max(worst, math.Abs(got[i]-c.Logits[i]))
			}
			r := stat.Correlation(got, c.Logits, nil)
			var gen []int
			for tok, err := range m.Generate(context.Background(), ids, GenerateOptions{MaxNewTokens: len(c.Greedy)}) {
				require.NoError(t, err)
				gen = append(gen, tok)
			}
			t.Logf("%v %q: pearson %.8f, max |Δ| %.2g, greedy %v", act, c.Text, r, worst, slices.Equal(gen, c.Greedy))
			if act == ops.QActQ8 {
				// llama.cpp's own arithmetic: Q8 activation blocks, int32 sums.
				assert.Less(t, worst, 1e-3, "%q", c.Text)
				assert.Equal(t, c.Greedy, gen, "%q", c.Text)
			} else {
				// Float32 activations are more exact than llama.cpp's.
				assert.Greater(t, r, 0.999, "%q", c.Text)
				assert.Less(t, worst, 0.5, "%q", c.Text)
			}
		}
	}
}

// TestSmolLM2MatchesTransformers compares the logits after each prompt and 24
// greedy tokens with transformers' GGUF loader on the same file, dequantised to
// float32 (tools/llama/make_hf_goldens.py): the reference without 8-bit
// activations, so Lumen's float32 activations are held to Pearson 0.9999 and the
// Q8 path (llama.cpp's arithmetic) to 0.998.
func TestSmolLM2MatchesTransformers(t *testing.T) {
	data, err := os.ReadFile("testdata/smollm2_transformers.json")
	require.NoError(t, err)
	var g struct {
		Steps int `json:"steps"`
		Cases []struct {
			IDs          []int     `json:"ids"`
			Stride       int       `json:"sample_stride"`
			SampleLogits []float64 `json:"sample_logits"`
			TopIDs       []int     `json:"top_ids"`
			Greedy       []int     `json:"greedy"`
		} `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(data, &g))
	for _, act := range []ops.QAct{ops.QActF32, ops.QActQ8} {
		m := smolLM2(t, nn.WithQuantActivations(act))
		agree, whole := 0, 0
		for _, c := range g.Cases {
			s, err := m.NewState(len(c.IDs))
			require.NoError(t, err)
			logits, err := s.Step(context.Background(), c.IDs)
			require.NoError(t, err)
			got := make([]float64, len(c.SampleLogits))
			for i := range got {
				got[i] = float64(logits[i*c.Stride])
			}
			r := stat.Correlation(got, c.SampleLogits, nil)
			gen, err := decode.Collect(m.Generate(context.Background(), c.IDs, GenerateOptions{MaxNewTokens: g.Steps}))
			require.NoError(t, err)
			same := 0
			for same < len(gen) && gen[same] == c.Greedy[same] {
				same++
			}
			agree += same
			if same == len(gen) {
				whole++
			}
			t.Logf("%v, %d-token prompt: pearson %.6f, greedy agrees for %d of %d", act, len(c.IDs), r, same, len(gen))
			assert.Equal(t, c.TopIDs[0], slices.Index(logits, slices.Max(logits)), "%v: the most likely next token", act)
			if act == ops.QActF32 {
				assert.Greater(t, r, 0.9999, "%v", act)
			} else {
				assert.Greater(t, r, 0.998, "%v", act)
			}
		}
		t.Logf("%v: %d of %d greedy tokens with transformers; all %d on %d of %d prompts", act, agree, len(g.Cases)*g.Steps, g.Steps, whole, len(g.Cases))
		assert.GreaterOrEqual(t, agree, len(g.Cases)*g.Steps/3)
	}
}
