package main

import (
	"io"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/models/nn"
)

// TestServeGGUFWithDefaultFlags: serve's default --quantize and --compute add no
// model options, so a GGUF model (which takes neither) loads; either set refuses it.
// (Until this test, serve passed WithQuantization(none) always and refused every
// Llama-family model.)
func TestServeGGUFWithDefaultFlags(t *testing.T) {
	gguf := filepath.Join("..", "..", "models", "llama", "testdata", "tiny.gguf")
	var q quantizeFlag
	var c computeFlag
	require.Empty(t, precisionOptions(q, c))
	models, closeAll, err := loadModels(io.Discard, map[string]string{"t": gguf}, nil, 1, nil, nil, precisionOptions(q, c)...)
	closeAll()
	require.NoError(t, err)
	require.Len(t, models, 1)
	require.NoError(t, q.Set("int8"))
	_, closeAll, err = loadModels(io.Discard, map[string]string{"t": gguf}, nil, 1, nil, nil, precisionOptions(q, c)...)
	closeAll()
	require.ErrorContains(t, err, "--quantize")
	require.NoError(t, c.Set("bf16"))
	require.Len(t, precisionOptions(q, c), 2)
	require.Error(t, c.Set("fp8"))
	require.Equal(t, nn.BF16, c.c)
}
