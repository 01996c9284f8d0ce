package llama

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/stat"

	"github.com/lumen-ml/lumen/models/decode"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
	"github.com/lumen-ml/lumen/tensor"
)

// TestHFMatchesTransformers checks a random Llama in Hugging Face layout
// (tools/llama/make_hf_tiny.py: grouped-query heads, untied head, F32 and a BF16
// copy) against transformers 4.46.3: the logits at every position, and 12 greedy
// tokens with the KV cache.
func TestHFMatchesTransformers(t *testing.T) {
	dir := "testdata/hf-tiny"
	bf16 := t.TempDir() // the BF16 copy alone, as a directory of its own
	for _, f := range []string{"config.json", "model-bf16.safetensors"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(bf16, f), b, 0o644))
	}
	for _, v := range []struct {
		dir  string
		act  ops.QAct
		tol  float64 // max |Δ| of a logit
		name string
	}{
		{"", ops.QActF32, 1e-4, "f32"},
		// The F32 model's logits: BF16's rounding of the weights moves them by up
		// to 0.16, 0.01 of their spread.
		{bf16, ops.QActF32, 0.25, "bf16"},
	} {
		d := dir
		if v.dir != "" {
			d = v.dir
		}
		m, err := Load(d, nn.WithQuantActivations(v.act))
		require.NoError(t, err, v.name)
		defer m.Close()
		worst, _ := checkHF(t, m, "testdata/hf_tiny_golden.json", v.tol)
		if v.dir == "" {
			require.Less(t, worst, 1e-4)
		}
		_, err = m.Encode("hello")
		assert.ErrorIs(t, err, ErrInput, "no tokenizer: ids only")
	}
}

// A random model written by WriteRandom loads, in every dtype, and generates the
// same greedy tokens alone and through the batcher; a config that does not match
// its checkpoint, or that Lumen cannot run, is refused, naming the field.
func TestWriteRandom(t *testing.T) {
	c, err := SizeConfig("tiny")
	require.NoError(t, err)
	var first []int
	for _, dt := range []tensor.DType{tensor.F32, tensor.BF16, tensor.F16} {
		dir := t.TempDir()
		require.NoError(t, WriteRandom(dir, c, dt, 3))
		m, err := Load(dir)
		require.NoError(t, err, "%v", dt)
		gen, err := decode.Collect(m.Generate(context.Background(), []int{1, 5, 9}, GenerateOptions{MaxNewTokens: 8}))
		require.NoError(t, err)
		require.Len(t, gen, 8)
		if first == nil {
			first = gen
		}
		b := NewBatcher(m, decode.BatchOptions{})
		again, err := decode.Collect(b.Generate(context.Background(), []int{1, 5, 9}, GenerateOptions{MaxNewTokens: 8}))
		b.Close()
		require.NoError(t, err)
		require.Equal(t, gen, again)
		require.NoError(t, m.Close())
	}
	_, err = SizeConfig("huge")
	require.Error(t, err)

	dir := t.TempDir()
	require.NoError(t, WriteRandom(dir, c, tensor.F32, 3))
	edit := func(key string, value any) string {
		raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(raw, &m))
		m[key] = value
		raw, _ = json.Marshal(m)
		bad := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(bad, "config.json"), raw, 0o644))
		st, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(bad, "model.safetensors"), st, 0o644))
		return bad
	}
	for key, value := range map[string]any{
		"model_type": "mistral", "hidden_act": "gelu", "attention_bias": true, "rope_scaling": map[string]any{"type": "yarn", "factor": 2},
		"vocab_size": 321, "tie_word_embeddings": true, "num_key_value_heads": 3, "hidden_size": 48, "head_dim": 8, "intermediate_size": 95,
	} {
		_, err := Load(edit(key, value))
		require.ErrorIs(t, err, ErrFormat, "%s = %v", key, value)
		t.Logf("%s = %v: %v", key, value, err)
	}
	for _, sc := range []map[string]any{
		{"rope_type": "linear", "factor": 0.5},
		{"rope_type": "llama3", "factor": 8, "low_freq_factor": 4, "high_freq_factor": 1, "original_max_position_embeddings": 32},
		{"rope_type": "llama3", "factor": 8},
	} {
		_, err := Load(edit("rope_scaling", sc))
		require.ErrorIs(t, err, ErrFormat, "%v", sc)
	}
	_, err = Load(t.TempDir())
	require.Error(t, err, "no config.json")
}

// Qwen2 (biases on q, k and v; tied embeddings) is a configuration of the same
// network: against transformers' Qwen2ForCausalLM.
func TestHFQwen2(t *testing.T) {
	m, err := Load("testdata/hf-tiny-qwen2")
	require.NoError(t, err)
	defer m.Close()
	require.True(t, m.Config().QKVBias)
	require.Equal(t, "qwen2", m.Config().Arch)
	worst, _ := checkHF(t, m, "testdata/hf_tiny_qwen2_golden.json", 1e-4)
	t.Logf("qwen2: max |Δ| %.2g from transformers", worst)
}

// The same weights under RoPE scaling (linear, Llama 3's), against transformers.
func TestHFRopeScaling(t *testing.T) {
	weights, err := os.ReadFile("testdata/hf-tiny/model.safetensors")
	require.NoError(t, err)
	for _, kind := range []string{"linear", "llama3"} {
		dir := t.TempDir()
		cfg, err := os.ReadFile("testdata/hf-tiny-" + kind + "/config.json")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "model.safetensors"), weights, 0o644))
		m, err := Load(dir)
		require.NoError(t, err)
		require.Equal(t, kind, m.Config().RopeScaling.Type)
		plain, err := Load("testdata/hf-tiny")
		require.NoError(t, err)
		worst, moved := checkHF(t, m, "testdata/hf_tiny_"+kind+"_golden.json", 1e-4)
		t.Logf("%s: max |Δ| %.2g from transformers; the scaling moves the last logits by up to %.2g", kind, worst, moved(plain))
		require.Greater(t, moved(plain), 0.01, "the scaling changes the logits")
		m.Close()
		plain.Close()
	}
}

// checkHF compares m with a golden file of make_hf_tiny.py: the logits at every
// position within tol (Pearson 0.999) and, when tol is tight, the greedy tokens.
// It returns the largest difference, and a function measuring how far another
// model's last logits of the longest case are from the golden's.
func checkHF(t *testing.T, m *Model, golden string, tol float64) (float64, func(*Model) float64) {
	data, err := os.ReadFile(golden)
	require.NoError(t, err)
	var g struct {
		Cases []struct {
			IDs    []int     `json:"ids"`
			Logits []float64 `json:"logits"`
			Greedy []int     `json:"greedy"`
		} `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(data, &g))
	V := m.Config().VocabSize
	var all float64
	for _, c := range g.Cases {
		s, err := m.NewState(len(c.IDs))
		require.NoError(t, err)
		var worst float64
		got, want := make([]float64, 0, len(c.Logits)), c.Logits
		for i, id := range c.IDs { // one position at a time: every position's logits
			logits, err := s.Step(context.Background(), []int{id})
			require.NoError(t, err)
			for j, x := range logits {
				got = append(got, float64(x))
				worst = max(worst, math.Abs(float64(x)-want[i*V+j]))
			}
		}
		all = max(all, worst)
		r := stat.Correlation(got, want, nil)
		gen, err := decode.Collect(m.Generate(context.Background(), c.IDs, GenerateOptions{MaxNewTokens: len(c.Greedy)}))
		require.NoError(t, err)
		t.Logf("%s, %d tokens: max |Δ| %.2g, pearson %.7f, greedy %v", golden, len(c.IDs), worst, r, gen)
		assert.Less(t, worst, tol, "%s, %d tokens", golden, len(c.IDs))
		assert.Greater(t, r, 0.999)
		if tol <= 1e-4 {
			assert.Equal(t, c.Greedy, gen, "%d tokens", len(c.IDs))
		}
	}
	last := g.Cases[len(g.Cases)-1]
	return all, func(other *Model) float64 {
		s, err := other.NewState(len(last.IDs))
		require.NoError(t, err)
		logits, err := s.Step(context.Background(), last.IDs)
		require.NoError(t, err)
		var d float64
		for j, x := range logits {
			d = max(d, math.Abs(float64(x)-last.Logits[(len(last.IDs)-1)*V+j]))
		}
		return d
	}
}
