package gpt2

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/internal/testfiles"
	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/tensor"
)

// tinyDir writes a tiny random GPT-2 and returns its directory, after applying edit
// to its config.json fields.
func tinyDir(t *testing.T, edit func(cfg map[string]any)) string {
	dir := t.TempDir()
	cfg, err := SizeConfig("tiny")
	require.NoError(t, err)
	require.NoError(t, WriteRandom(dir, cfg, tensor.F32, 1))
	testfiles.EditConfig(t, filepath.Join(dir, "config.json"), edit)
	return dir
}

// TestConfigBeyondCheckpoint: a config.json that claims far more than the weights
// hold fails with the first missing tensor, allocating nothing proportional to the
// claim (n_layer 1e9 once ran out of memory after ~40 s).
func TestConfigBeyondCheckpoint(t *testing.T) {
	for _, n := range []float64{1e9, 1e7} {
		_, err := Load(tinyDir(t, func(c map[string]any) { c["n_layer"] = n }))
		require.ErrorContains(t, err, `missing tensor "h.2.ln_1.weight"`)
	}
	_, err := Load(tinyDir(t, func(c map[string]any) { c["n_positions"] = 1 << 30 }))
	require.ErrorContains(t, err, `"wpe.weight" has shape [256 64], want [1073741824 64]`)
}

// TestHugeTensorWithOthersMissing: a checkpoint whose header claims a 3.3 GB token
// embedding (a sparse file) and nothing else fails on the missing tensors before
// reading the huge one.
func TestHugeTensorWithOthersMissing(t *testing.T) {
	dir := t.TempDir()
	cfg, err := SizeConfig("tiny")
	require.NoError(t, err)
	cfg.NEmbd, cfg.NHead = 16384, 16
	raw, _ := json.Marshal(map[string]any{"n_layer": cfg.NLayer, "n_head": cfg.NHead, "n_embd": cfg.NEmbd,
		"n_positions": cfg.NPositions, "vocab_size": cfg.VocabSize})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644))
	testfiles.HeaderOnly(t, filepath.Join(dir, "model.safetensors"), map[string][]int{"wte.weight": {cfg.VocabSize, cfg.NEmbd}})
	_, err = Load(dir)
	require.ErrorIs(t, err, safetensors.ErrNotFound)
	require.ErrorContains(t, err, `missing tensor "wpe.weight"`)
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		key  string
		val  any
		want string
	}{
		{"layer_norm_epsilon", -1e-5, "layer_norm_epsilon must be positive and finite, got -1e-05"},
		{"layer_norm_epsilon", 0, "layer_norm_epsilon must be positive"},
		{"n_head", 0, "n_layer (2), n_head (0), n_embd (64), n_positions (256) and vocab_size (50257) must be positive"},
		{"eos_token_id", 60000, "eos_token_id 60000 is outside the vocabulary [0, 50257)"},
		{"activation_function", "swish", `activation "swish" is not supported`},
	} {
		_, err := Load(tinyDir(t, func(m map[string]any) { m[c.key] = c.val }))
		require.ErrorContains(t, err, c.want, c.key)
		require.NotContains(t, err.Error(), "0xc0", "no pointers in messages")
	}
}

func TestNewStateLimits(t *testing.T) {
	m, err := Load(tinyDir(t, func(map[string]any) {}))
	require.NoError(t, err)
	for _, c := range [][2]int{{1 << 40, 256}, {0, 10}, {1, 0}, {1, 257}} {
		_, err := m.NewState(c[0], c[1])
		require.ErrorIs(t, err, ErrInput, "%v", c)
	}
	_, err = m.Encode("hi")
	require.ErrorIs(t, err, ErrInput, "no tokenizer in the directory")
}
