package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/internal/shared"
	"github.com/lumen-ml/lumen/models/decode"
	"github.com/lumen-ml/lumen/models/llama"
	"github.com/lumen-ml/lumen/models/nn"
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

func TestChatLoop(t *testing.T) {
	m, err := llama.LoadGGUF(shared.SmolLM2(t))
	require.NoError(t, err)
	defer m.Close()
	plain := func(ctx context.Context) (context.Context, context.CancelFunc) { return context.WithCancel(ctx) }
	var out strings.Builder
	in := "What is 12 times 7?\n\n/reset\nSay hello in French.\n/exit\nnot read\n"
	require.NoError(t, chatLoop(context.Background(), strings.NewReader(in), &out, m, "", decode.Options{MaxNewTokens: 24, StopAtEOS: true}, plain))
	got := out.String()
	t.Log(got)
	require.Contains(t, got, "> 12 times 7 is ")
	require.Contains(t, got, "(conversation forgotten)")
	require.Contains(t, got, "Bonjour")
	require.NotContains(t, got, "not read")
	require.Equal(t, 5, strings.Count(got, "> "), "a prompt per line up to /exit")

	// Ctrl-C during a reply (here: before its first token) stops that reply only.
	stopped := func(ctx context.Context) (context.Context, context.CancelFunc) {
		c, cancel := context.WithCancel(ctx)
		cancel()
		return c, cancel
	}
	out.Reset()
	require.NoError(t, chatLoop(context.Background(), strings.NewReader("Hi\nHi again\n"), &out, m, "You are terse.", decode.Options{MaxNewTokens: 8}, stopped))
	require.Equal(t, 2, strings.Count(out.String(), "[stopped]"), out.String())
}

// gen-random --arch llama writes a Hugging Face Llama directory that serve loads
// (continuous batching by default) and generate refuses to run on text, having no
// vocabulary.
func TestGenRandomLlama(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "llama")
	code, _, errOut := runCLI("gen-random", "--arch", "llama", "--size", "tiny", "--dtype", "bf16", "--out", dir)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "llama tiny (2 layers × 64, 4/2 heads), BF16, no tokenizer")
	code, _, errOut = runCLI("generate", "--model", dir, "--prompt", "x")
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut, "no tokenizer")
	code, _, errOut = runCLI("generate", "--model", dir, "--prompt", "x", "--quantize", "int8")
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut, "--quantize and --compute are for GPT-2 and BERT")
	code, _, errOut = runCLI("generate", "--model", dir, "--prompt", "x", "--compute", "bf16")
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut, "--quantize and --compute are for GPT-2 and BERT")
	var log strings.Builder
	models, closeAll, err := loadModels(&log, map[string]string{"r": dir}, nil, 1, nil, &decode.BatchOptions{})
	defer closeAll()
	require.NoError(t, err)
	require.IsType(t, batchedLlama{}, models["r"])
	require.Contains(t, log.String(), "continuous batching")
	_, _, err = loadModels(&log, map[string]string{"r": dir}, nil, 1, nil, nil, nn.WithQuantization(nn.Int8))
	require.ErrorContains(t, err, "no --quantize, no --compute")
}
