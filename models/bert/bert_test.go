package bert

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/internal/golden"
	"github.com/lumen-ml/lumen/internal/shared"
	"github.com/lumen-ml/lumen/internal/testmodels"
	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
	"github.com/lumen-ml/lumen/tensor"
)

// batch reads prefix.input_ids / token_type_ids / attention_mask (mask all ones when absent).
func goldenBatch(t testing.TB, g golden.File, prefix string, rows int) Batch {
	ids := g.Ints(t, prefix+".input_ids")
	b := Batch{B: rows, T: len(ids) / rows, IDs: ids}
	if g.Has(prefix + ".token_type_ids") {
		b.Types = g.Ints(t, prefix+".token_type_ids")
	} else {
		b.Types = make([]int, len(ids))
	}
	if g.Has(prefix + ".attention_mask") {
		b.Mask = g.Ints(t, prefix+".attention_mask")
	} else {
		b.Mask = make([]int, len(ids))
		for i := range b.Mask {
			b.Mask[i] = 1
		}
	}
	return b
}

func close(t testing.TB, want, got []float32, tol float64, what string) {
	t.Helper()
	require.Equal(t, len(want), len(got), what)
	worst, at := 0.0, 0
	for i := range want {
		if d := math.Abs(float64(want[i]) - float64(got[i])); d > worst || d != d {
			worst, at = d, i
		}
	}
	require.LessOrEqual(t, worst, tol, "%s: max |diff| %.3g at %d", what, worst, at)
}

func load(t testing.TB, fixture string, opts ...Option) *Model {
	m, err := Load(shared.Path(t, "fixtures", fixture), opts...)
	require.NoError(t, err)
	t.Cleanup(m.Close)
	return m
}

func TestBertTiny(t *testing.T) {
	t.Run("cpu", func(t *testing.T) { checkBertTiny(t, load(t, "bert-tiny")) })
	t.Run("device", func(t *testing.T) {
		// Every matrix product through the device dispatch path (ops.ReferenceDevice).
		m := load(t, "bert-tiny", nn.WithDevice(ops.ReferenceDevice(nil)))
		checkBertTiny(t, m)
		for _, pb := range m.matrices() {
			require.True(t, pb.OnDevice())
			require.Zero(t, pb.DeviceFallbacks())
		}
	})
}

func checkBertTiny(t *testing.T, m *Model) {
	g := golden.Open(t, "bert-tiny")
	E := m.cfg.Hidden
	var prefixes []string
	for _, kind := range []string{"single", "pair"} {
		for i := 0; g.Has(fmt.Sprintf("%s%d.input_ids", kind, i)); i++ {
			prefixes = append(prefixes, fmt.Sprintf("%s%d", kind, i))
		}
	}
	require.Len(t, prefixes, 5)
	prefixes = append(prefixes, "batch")
	for _, p := range prefixes {
		rows := 1
		if p == "batch" {
			rows = 5
		}
		b := goldenBatch(t, g, p, rows)
		hidden, err := m.Forward(b)
		require.NoError(t, err)
		if p == "batch" { // compare where the mask is 1
			want := g.F32(t, p+".last_hidden_state")
			for i, v := range b.Mask {
				if v == 1 {
					close(t, want[i*E:(i+1)*E], hidden[i*E:(i+1)*E], 1e-4, p+" hidden")
				}
			}
		} else {
			close(t, g.F32(t, p+".last_hidden_state"), hidden, 1e-4, p+" hidden")
			close(t, g.F32(t, p+".mean_pooled"), SentenceEmbeddings(hidden, b, E, Pooling{}), 1e-4, p+" mean")
		}
		pooled, err := m.PooledOutput(hidden, b)
		require.NoError(t, err)
		close(t, g.F32(t, p+".pooler_output"), pooled, 1e-4, p+" pooler")
		close(t, g.F32(t, p+".mean_pooled_normalized"), SentenceEmbeddings(hidden, b, E, Pooling{Normalize: true}), 1e-4, p+" normalized")
		if g.Has(p + ".nsp_logits") {
			nsp, err := m.NSPLogits(pooled, b)
			require.NoError(t, err)
			close(t, g.F32(t, p+".nsp_logits"), nsp, 1e-4, p+" nsp")
		}
	}
	for i := 0; g.Has(fmt.Sprintf("mlm%d.input_ids", i)); i++ {
		p := fmt.Sprintf("mlm%d", i)
		b := goldenBatch(t, g, p, 1)
		hidden, err := m.Forward(b)
		require.NoError(t, err)
		logits, err := m.MLMLogits(hidden, g.Ints(t, p+".mask_positions"))
		require.NoError(t, err)
		close(t, g.F32(t, p+".logits_at_mask"), logits, 1e-4, p+" mlm")
	}
}

func TestBertTinyQA(t *testing.T) {
	g := golden.Open(t, "bert-tiny-qa")
	m := load(t, "bert-tiny-qa")
	require.Nil(t, m.pooler, "the QA checkpoint has no pooler")
	n := 0
	for i := 0; g.Has(fmt.Sprintf("qa%d.input_ids", i)); i++ {
		p := fmt.Sprintf("qa%d", i)
		b := goldenBatch(t, g, p, 1)
		hidden, err := m.Forward(b)
		require.NoError(t, err)
		start, end, err := m.QALogits(hidden, b)
		require.NoError(t, err)
		close(t, g.F32(t, p+".start_logits"), start, 1e-4, p+" start")
		close(t, g.F32(t, p+".end_logits"), end, 1e-4, p+" end")
		n++
	}
	require.Positive(t, n)
	b := goldenBatch(t, g, "batch", 2)
	hidden, err := m.Forward(b)
	require.NoError(t, err)
	start, end, err := m.QALogits(hidden, b)
	require.NoError(t, err)
	ws, we := g.F32(t, "batch.start_logits"), g.F32(t, "batch.end_logits")
	for i, v := range b.Mask {
		if v == 1 {
			close(t, ws[i:i+1], start[i:i+1], 1e-4, "batch start")
			close(t, we[i:i+1], end[i:i+1], 1e-4, "batch end")
		}
	}
	_, err = m.ClassLogits(hidden, b)
	require.ErrorIs(t, err, ErrInput)
	// Inputs of the wrong length are the caller's error, not a panic in ops.
	_, _, err = m.QALogits(hidden[:len(hidden)-1], b)
	require.ErrorIs(t, err, ErrInput)
	_, _, err = m.QALogits(hidden, Batch{B: 0, T: b.T})
	require.ErrorIs(t, err, ErrInput)
	_, err = m.MLMLogits(hidden, []int{b.B * b.T})
	require.ErrorIs(t, err, ErrInput)
}

func TestBertTinyClassification(t *testing.T) {
	g := golden.Open(t, "bert-tiny-cls")
	m := load(t, "bert-tiny-cls")
	require.Equal(t, []string{"negative", "neutral", "positive"}, m.Labels())
	for i := 0; g.Has(fmt.Sprintf("cls%d.input_ids", i)); i++ {
		p := fmt.Sprintf("cls%d", i)
		b := goldenBatch(t, g, p, 1)
		hidden, err := m.Forward(b)
		require.NoError(t, err)
		logits, err := m.ClassLogits(hidden, b)
		require.NoError(t, err)
		close(t, g.F32(t, p+".logits"), logits, 1e-4, p)
	}
	b := goldenBatch(t, g, "batch", 4)
	hidden, err := m.Forward(b)
	require.NoError(t, err)
	logits, err := m.ClassLogits(hidden, b)
	require.NoError(t, err)
	close(t, g.F32(t, "batch.logits"), logits, 1e-4, "batch")
	_, err = m.ClassLogits(hidden[:len(hidden)-1], b)
	require.ErrorIs(t, err, ErrInput, "short hidden state")
	_, err = m.PooledOutput(hidden, Batch{B: b.B + 1, T: b.T})
	require.ErrorIs(t, err, ErrInput, "more sequences than the hidden state has")
}

func TestMiniLMSentenceEmbeddings(t *testing.T) {
	g := golden.Open(t, "minilm-tiny")
	m := load(t, "minilm-tiny")
	require.Equal(t, Pooling{Modes: PoolMean, Normalize: true}, m.Pooling())
	E := m.cfg.Hidden
	b := goldenBatch(t, g, "batch", 3)
	hidden, err := m.Forward(b)
	require.NoError(t, err)
	want := g.F32(t, "batch.last_hidden_state")
	for i, v := range b.Mask {
		if v == 1 {
			close(t, want[i*E:(i+1)*E], hidden[i*E:(i+1)*E], 1e-4, "batch hidden")
		}
	}
	emb := SentenceEmbeddings(hidden, b, E, m.Pooling())
	close(t, g.F32(t, "embeddings"), emb, 1e-4, "embeddings")
	cos := make([]float32, 9)
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			var s float64
			for k := 0; k < E; k++ {
				s += float64(emb[i*E+k]) * float64(emb[j*E+k])
			}
			cos[i*3+j] = float32(s)
		}
	}
	close(t, g.F32(t, "cosine"), cos, 1e-5, "cosine")
	for i := 0; g.Has(fmt.Sprintf("sent%d.input_ids", i)); i++ {
		p := fmt.Sprintf("sent%d", i)
		sb := goldenBatch(t, g, p, 1)
		h, err := m.Forward(sb)
		require.NoError(t, err)
		close(t, g.F32(t, p+".last_hidden_state"), h, 1e-4, p)
		close(t, g.F32(t, p+".embedding"), SentenceEmbeddings(h, sb, E, m.Pooling()), 1e-4, p+" embedding")
	}
}

func TestBadBatches(t *testing.T) {
	m := load(t, "bert-tiny")
	for name, b := range map[string]Batch{
		"empty":           {},
		"short":           {B: 1, T: 3, IDs: []int{101, 102}, Types: []int{0, 0}, Mask: []int{1, 1}},
		"id out of range": {B: 1, T: 2, IDs: []int{101, 30522}, Types: []int{0, 0}, Mask: []int{1, 1}},
		"bad type":        {B: 1, T: 2, IDs: []int{101, 102}, Types: []int{0, 2}, Mask: []int{1, 1}},
		"bad mask":        {B: 1, T: 2, IDs: []int{101, 102}, Types: []int{0, 0}, Mask: []int{1, 3}},
		"too long":        {B: 1, T: 129, IDs: make([]int, 129), Types: make([]int, 129), Mask: make([]int, 129)},
	} {
		_, err := m.Forward(b)
		require.ErrorIs(t, err, ErrInput, name)
	}
	_, err := Load(filepath.Join(shared.Path(t, "fixtures"), "gpt2-tiny"))
	require.Error(t, err)
	_, err = Load(shared.Path(t, "fixtures", "bert-tiny"), nn.WithHalfWeights(true))
	require.ErrorIs(t, err, nn.ErrOption, "BERT widens half weights: WithHalfWeights is refused, not ignored")
}

// TestOldLayerNormNames rewrites bert-tiny with the LayerNorm.gamma/beta names that
// many hub checkpoints (bert-base-uncased among them) still use, without the "bert."
// prefix, plus an I64 position_ids buffer: the model must load and give the same output.
func TestOldLayerNormNames(t *testing.T) {
	dir := shared.Path(t, "fixtures", "bert-tiny")
	src, err := safetensors.Open(filepath.Join(dir, "model.safetensors"))
	require.NoError(t, err)
	defer src.Close()
	renamed := map[string]*tensor.Tensor{}
	for _, n := range src.Names() {
		x, err := src.Tensor(n)
		require.NoError(t, err)
		n = strings.TrimPrefix(n, "bert.")
		n = strings.Replace(n, "LayerNorm.weight", "LayerNorm.gamma", 1)
		n = strings.Replace(n, "LayerNorm.bias", "LayerNorm.beta", 1)
		renamed[n] = x
	}
	pos, _ := tensor.FromInt64(make([]int64, 128), 1, 128)
	renamed["embeddings.position_ids"] = pos
	out := t.TempDir()
	require.NoError(t, safetensors.WriteFile(filepath.Join(out, "model.safetensors"), renamed, nil))
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(out, "config.json"), raw, 0o644))
	m, err := Load(out)
	require.NoError(t, err)
	defer m.Close()
	g := golden.Open(t, "bert-tiny")
	b := goldenBatch(t, g, "single1", 1)
	h, err := m.Forward(b)
	require.NoError(t, err)
	close(t, g.F32(t, "single1.last_hidden_state"), h, 1e-4, "renamed")
	delete(renamed, "encoder.layer.1.output.LayerNorm.beta")
	require.NoError(t, safetensors.WriteFile(filepath.Join(out, "model.safetensors"), renamed, nil))
	_, err = Load(out)
	require.ErrorContains(t, err, `missing tensor "encoder.layer.1.output.LayerNorm.bias"`)
}

// In steady state Forward allocates the hidden state it returns and nothing else of
// its size: its scratch is reused from call to call.
func TestForwardReusesScratch(t *testing.T) {
	m := load(t, "bert-tiny", nn.WithPool(nil))
	b := Batch{B: 2, T: 16, IDs: make([]int, 32), Types: make([]int, 32), Mask: make([]int, 32)}
	for i := range b.Mask {
		b.IDs[i], b.Mask[i] = 100+i, 1
	}
	// No collection while measuring (a GC empties sync.Pools; the reuse under test
	// is the steady state between collections), and one P from before the warm-up
	// call (sync.Pool keeps an item per P: a goroutine moved to another P by a
	// loaded machine would miss the one it put).
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	_, err := m.Forward(b)
	require.NoError(t, err)
	E := m.cfg.Hidden
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 20
	for range n {
		_, err := m.Forward(b)
		require.NoError(t, err)
	}
	runtime.ReadMemStats(&after)
	perCall := float64(after.TotalAlloc-before.TotalAlloc) / n
	t.Logf("%.0f bytes a call; the hidden state is %d", perCall, 4*32*E)
	if !raceEnabled { // (the race job runs Forward concurrently elsewhere; here it would measure sync.Pool's drops)
		require.Less(t, perCall, 1.5*float64(4*32*E), "about the returned hidden state alone")
	}
}

// SentenceEmbeddings in every pooling mode, and three concatenated, against
// sentence-transformers 3.2.1's Pooling module on a right-padded batch
// (tools/bert/make_pooling_goldens.py).
func TestPoolingModesMatchSentenceTransformers(t *testing.T) {
	raw, err := os.ReadFile("testdata/minilm_pooling_st.json")
	require.NoError(t, err)
	var g struct {
		IDs, Mask []int
		Rows      int
		Modes     map[string][]float64
	}
	require.NoError(t, json.Unmarshal(raw, &g))
	m := load(t, "minilm-tiny")
	b := Batch{B: g.Rows, T: len(g.IDs) / g.Rows, IDs: g.IDs, Types: make([]int, len(g.IDs)), Mask: g.Mask}
	hidden, err := m.Forward(b)
	require.NoError(t, err)
	E := m.cfg.Hidden
	require.Len(t, g.Modes, 7)
	for name, want := range g.Modes {
		var modes PoolMode
		for _, n := range strings.Split(name, ",") {
			mode, err := ParsePoolMode(n)
			require.NoError(t, err)
			modes |= mode
		}
		got := SentenceEmbeddings(hidden, b, E, Pooling{Modes: modes})
		require.Len(t, got, len(want), name)
		require.Equal(t, modes.Count()*E*b.B, len(got))
		for i := range want {
			require.InDelta(t, want[i], got[i], 1e-4, "%s [%d]", name, i)
		}
	}
	_, err = ParsePoolMode("median")
	require.ErrorIs(t, err, ErrInput)
}

// A sentence-transformers directory's Pooling config: every mode that is on, and
// a refusal for what Lumen does not do.
func TestLoadPoolingModes(t *testing.T) {
	dir := t.TempDir()
	write := func(cfg string) {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "1_Pooling"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "modules.json"), []byte(`[{"path":"","type":"sentence_transformers.models.Transformer"},{"path":"1_Pooling","type":"sentence_transformers.models.Pooling"}]`), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "1_Pooling", "config.json"), []byte(cfg), 0o644))
	}
	write(`{"word_embedding_dimension":8,"pooling_mode_cls_token":true,"pooling_mode_max_tokens":true,"pooling_mode_mean_tokens":false,"pooling_mode_lasttoken":true}`)
	p, err := loadPooling(dir, 8)
	require.NoError(t, err)
	require.Equal(t, Pooling{Modes: PoolCLS | PoolMax | PoolLastToken}, p)
	require.Equal(t, 3, p.Modes.Count())
	write(`{"pooling_mode_mean_tokens":true,"include_prompt":false}`)
	_, err = loadPooling(dir, 8)
	require.ErrorContains(t, err, "include_prompt")
	write(`{"pooling_mode_mean_tokens":false}`)
	_, err = loadPooling(dir, 8)
	require.ErrorContains(t, err, "no pooling mode")
}

// A Dense module (96 → 32, tanh) between pooling and Normalize, read from its
// folder as sentence-transformers saves it, against sentence-transformers 3.2.1.
func TestDenseModuleMatchesSentenceTransformers(t *testing.T) {
	raw, err := os.ReadFile("testdata/minilm_pooling_st.json")
	require.NoError(t, err)
	var g struct {
		IDs, Mask []int
		Rows      int
		Dense     []float64 `json:"dense_normalized"`
	}
	require.NoError(t, json.Unmarshal(raw, &g))
	src := shared.Path(t, "fixtures", "minilm-tiny")
	dir := t.TempDir()
	copyFile := func(from, to string) {
		b, err := os.ReadFile(from)
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(to), 0o755))
		require.NoError(t, os.WriteFile(to, b, 0o644))
	}
	for _, f := range []string{"config.json", "model.safetensors", "1_Pooling/config.json"} {
		copyFile(filepath.Join(src, f), filepath.Join(dir, f))
	}
	for _, f := range []string{"config.json", "model.safetensors"} {
		copyFile(filepath.Join("testdata", "2_Dense", f), filepath.Join(dir, "2_Dense", f))
	}
	modules := `[{"path":"","type":"sentence_transformers.models.Transformer"},{"path":"1_Pooling","type":"sentence_transformers.models.Pooling"},` +
		`{"path":"2_Dense","type":"sentence_transformers.models.Dense"},{"path":"3_Normalize","type":"sentence_transformers.models.Normalize"}]`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "modules.json"), []byte(modules), 0o644))
	m, err := Load(dir)
	require.NoError(t, err)
	require.Len(t, m.Pooling().Dense, 1)
	b := Batch{B: g.Rows, T: len(g.IDs) / g.Rows, IDs: g.IDs, Types: make([]int, len(g.IDs)), Mask: g.Mask}
	hidden, err := m.Forward(b)
	require.NoError(t, err)
	got := SentenceEmbeddings(hidden, b, m.cfg.Hidden, m.Pooling())
	require.Len(t, got, len(g.Dense))
	for i := range got {
		require.InDelta(t, g.Dense[i], got[i], 1e-4, "[%d]", i)
	}
	// Normalize before Dense, or a Dense that does not fit, is refused.
	bad := `[{"path":"1_Pooling","type":"sentence_transformers.models.Pooling"},{"path":"3_Normalize","type":"sentence_transformers.models.Normalize"},{"path":"2_Dense","type":"sentence_transformers.models.Dense"}]`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "modules.json"), []byte(bad), 0o644))
	_, err = Load(dir)
	require.ErrorContains(t, err, "after Normalize")
	_, err = loadDense(filepath.Join(dir, "2_Dense"), 64)
	require.ErrorContains(t, err, "in_features 96")
}

// Rerank against sentence-transformers 3.2.1's CrossEncoder.predict on the
// bert-tiny-cls encoder with a one-logit head (tools/bert/make_rerank_goldens.py),
// a document past the model's 128 positions included: the scores within 1e-5.
func TestRerankMatchesCrossEncoder(t *testing.T) {
	g := testmodels.Rerank(t)
	m, err := Load(testmodels.CrossEncoder(t))
	require.NoError(t, err)
	scores, err := m.Rerank(context.Background(), g.Query, g.Documents, 0)
	require.NoError(t, err)
	require.Len(t, scores, len(g.Scores))
	for i := range scores {
		require.InDelta(t, g.Scores[i], scores[i], 1e-5, "document %d", i)
	}
	_, err = m.Rerank(context.Background(), "", g.Documents, 0)
	require.ErrorIs(t, err, ErrInput)
	cls := load(t, "bert-tiny-cls", nn.WithTokenizerDir(shared.Path(t, "tokenizers", "bert-base-uncased")))
	_, err = cls.Rerank(context.Background(), g.Query, g.Documents, 0)
	require.ErrorIs(t, err, ErrInput, "three labels: not a cross-encoder")
}
