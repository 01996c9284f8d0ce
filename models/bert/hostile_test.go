package bert

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/internal/testfiles"
)

// tinyDir writes a tiny random BERT and returns its directory, after applying edit
// to its config.json fields.
func tinyDir(t *testing.T, edit func(cfg map[string]any)) string {
	dir := t.TempDir()
	cfg, err := SizeConfig("tiny")
	require.NoError(t, err)
	require.NoError(t, WriteRandom(dir, cfg, 1))
	testfiles.EditConfig(t, filepath.Join(dir, "config.json"), edit)
	return dir
}

// TestConfigBeyondCheckpoint: num_hidden_layers 1e9 (once 4.7 GB and growing) fails
// with the first missing layer.
func TestConfigBeyondCheckpoint(t *testing.T) {
	_, err := Load(tinyDir(t, func(c map[string]any) { c["num_hidden_layers"] = 1e9 }))
	require.ErrorContains(t, err, `missing tensor "encoder.layer.2.attention.self.query.weight"`)
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		key  string
		val  any
		want string
	}{
		{"layer_norm_eps", -1, "layer_norm_eps must be positive and finite, got -1"},
		{"num_attention_heads", 0, "num_attention_heads (0)"},
		{"type_vocab_size", 0, "type_vocab_size (0)"},
		{"hidden_act", "swish", `activation "swish" is not supported`},
	} {
		_, err := Load(tinyDir(t, func(m map[string]any) { m[c.key] = c.val }))
		require.ErrorContains(t, err, c.want, c.key)
	}
}
