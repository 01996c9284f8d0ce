package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/assets"
	"github.com/lumen-ml/lumen/internal/shared"
	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/models/gpt2"
	"github.com/lumen-ml/lumen/models/nn"
)

func TestGenerateGreedyMatchesGolden(t *testing.T) {
	model, tokDir := shared.Path(t, "fixtures", "gpt2-tiny"), shared.Path(t, "tokenizers", "gpt2")
	g, err := safetensors.Open(filepath.Join(model, "golden.safetensors"))
	require.NoError(t, err)
	defer g.Close()
	x, err := g.Tensor("f32.prompt0.generated_ids")
	require.NoError(t, err)
	ids64, _ := x.Int64s()
	ids := make([]int, len(ids64))
	for i, v := range ids64 {
		ids[i] = int(v)
	}
	tok, err := gpt2.LoadTokenizer(tokDir)
	require.NoError(t, err)
	want, err := tok.Decode(ids)
	require.NoError(t, err)

	prompt := "Hello, my dog is a little"
	code, out, errOut := runCLI("generate", "--model", model, "--tokenizer", tokDir, "--prompt", prompt, "--max-tokens", "24", "--temperature", "0")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, prompt+want+"\n", out)
	require.Regexp(t, `24 tokens in \S+: [0-9.]+ tokens/s`, errOut)

	// A stop string ends the text just before it.
	stop := want[5:9]
	code, out, _ = runCLI("generate", "--model", model, "--tokenizer", tokDir, "--prompt", prompt, "--max-tokens", "24", "--temperature", "0", "--stop", stop)
	require.Equal(t, 0, code)
	require.Equal(t, prompt+want[:strings.Index(want, stop)]+"\n", out)

	// Sampling with a fixed seed is reproducible.
	args := []string{"generate", "--model", model, "--tokenizer", tokDir, "--prompt", prompt, "--max-tokens", "12", "--seed", "9"}
	_, a, _ := runCLI(args...)
	_, b, _ := runCLI(args...)
	require.Equal(t, a, b)

	// --quantize int8 generates what the int8 model generates (and not the F32 text).
	m, err := gpt2.Load(model, nn.WithTokenizerDir(tokDir), nn.WithQuantization(nn.Int8))
	require.NoError(t, err)
	defer m.Close()
	promptIDs, err := m.Encode(prompt)
	require.NoError(t, err)
	var int8IDs []int
	for id, err := range m.Generate(context.Background(), promptIDs, gpt2.GenerateOptions{MaxNewTokens: 24, StopAtEOS: true}) {
		require.NoError(t, err)
		int8IDs = append(int8IDs, id)
	}
	int8Text, err := tok.Decode(int8IDs)
	require.NoError(t, err)
	require.NotEqual(t, want, int8Text)
	code, out, errOut = runCLI("generate", "--model", model, "--tokenizer", tokDir, "--prompt", prompt, "--max-tokens", "24", "--temperature", "0", "--quantize", "int8")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, prompt+int8Text+"\n", out)
}

func TestGenerateErrors(t *testing.T) {
	model, tokDir := shared.Path(t, "fixtures", "gpt2-tiny"), shared.Path(t, "tokenizers", "gpt2")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", model, "--prompt", "hi"}, "no tokenizer"},
		{[]string{"--model", model, "--tokenizer", tokDir, "--prompt", ""}, "--prompt is empty"},
		{[]string{"--model", model, "--tokenizer", tokDir, "--prompt", strings.Repeat("word ", 300)}, "exceeds the context of 256 positions"},
		{[]string{"--model", model, "--tokenizer", tokDir, "--prompt", "hi", "--top-p", "2"}, "top-p"},
		{[]string{"--model", t.TempDir(), "--prompt", "hi"}, "config.json"},
	} {
		code, _, errOut := runCLI(append([]string{"generate"}, c.args...)...)
		require.Equal(t, 1, code, c.args)
		require.True(t, strings.HasPrefix(errOut, "error: ") || strings.Contains(errOut, "error: "), errOut)
		require.Contains(t, errOut, c.want)
	}
}

func TestGenRandomTiny(t *testing.T) {
	out := filepath.Join(t.TempDir(), "tiny")
	for _, dtype := range []string{"f32", "bf16"} {
		code, _, errOut := runCLI("gen-random", "--arch", "gpt2", "--size", "tiny", "--dtype", dtype, "--out", out)
		require.Equal(t, 0, code, errOut)
		require.Contains(t, errOut, "the shipped tokenizer")
		code, listing, _ := runCLI("inspect", out)
		require.Equal(t, 0, code)
		require.Contains(t, listing, "h.1.mlp.c_proj.weight")
		require.Contains(t, listing, strings.ToUpper(dtype))
		code, text, errOut := runCLI("generate", "--model", out, "--prompt", "Hello", "--max-tokens", "5", "--seed", "1")
		require.Equal(t, 0, code, errOut)
		require.True(t, strings.HasPrefix(text, "Hello"))
	}
	// --tokenizer DIR copies that directory's files; --tokenizer none writes none.
	tokDir := t.TempDir()
	require.NoError(t, os.CopyFS(tokDir, assets.GPT2Tokenizer()))
	bare := filepath.Join(t.TempDir(), "bare")
	code, _, errOut := runCLI("gen-random", "--arch", "gpt2", "--size", "tiny", "--out", bare, "--tokenizer", "none")
	require.Equal(t, 0, code, errOut)
	require.NoFileExists(t, filepath.Join(bare, "vocab.json"))
	code, _, errOut = runCLI("generate", "--model", bare, "--prompt", "Hello", "--max-tokens", "2")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "tokenizer")
	code, _, errOut = runCLI("gen-random", "--arch", "gpt2", "--size", "tiny", "--out", bare, "--tokenizer", tokDir)
	require.Equal(t, 0, code, errOut)
	require.FileExists(t, filepath.Join(bare, "merges.txt"))
	code, _, errOut = runCLI("generate", "--model", bare, "--prompt", "Hello", "--max-tokens", "2")
	require.Equal(t, 0, code, errOut)

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--arch", "bert", "--out", out}, "--size"},
		{[]string{"--arch", "t5", "--size", "tiny", "--out", out}, "--arch"},
		{[]string{"--size", "7B", "--out", out}, "--size"},
		{[]string{"--dtype", "f64", "--out", out}, "--dtype"},
		{[]string{"--size", "tiny"}, "--out is required"},
		{[]string{"--size", "tiny", "--out", out, "--tokenizer", t.TempDir()}, "no tokenizer files"},
	} {
		code, _, errOut := runCLI(append([]string{"gen-random"}, c.args...)...)
		require.Equal(t, 1, code, c.args)
		require.Contains(t, errOut, c.want, c.args)
	}
}
