package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/internal/shared"
)

func TestGenerateGGUF(t *testing.T) {
	p := shared.SmolLM2(t)
	code, out, errOut := runCLI("generate", "--model", p, "--prompt", "The capital of France is", "--temperature", "0", "--max-tokens", "3", "--threads", "1")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "The capital of France is Paris.\n\n", out, "llama.cpp's greedy continuation (models/llama's goldens)")
	require.Contains(t, errOut, "tokens/s")
	code, out, errOut = runCLI("generate", "--model", p, "--chat", "--prompt", "What is 12 times 7?", "--temperature", "0", "--max-tokens", "40", "--threads", "1")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "12 times 7 is ")
	require.NotContains(t, out, "<|im_end|>", "special tokens are not written")
	code, _, errOut = runCLI("generate", "--model", p, "--prompt", "x", "--activations", "f16")
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut, "want q8 or f32")
	// A GGUF file that is not a whole model is refused, naming what it lacks.
	code, _, errOut = runCLI("generate", "--model", filepath.Join("..", "..", "loader", "gguf", "testdata", "fixture.gguf"), "--prompt", "x")
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut, "missing llama.block_count")
}
