package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/internal/shared"
	"github.com/lumen-ml/lumen/tokenizer"
)

func TestTokenizeCommand(t *testing.T) {
	dir := shared.Path(t, "tokenizers", "bert-base-uncased")
	code, out, errOut := runCLI("tokenize", "--model", dir, "Hello, world!", "Ça va?")
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2)
	var got struct {
		IDs     []int    `json:"ids"`
		Tokens  []string `json:"tokens"`
		Offsets [][2]int `json:"offsets"`
	}
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &got))
	require.Equal(t, []int{101, 7592, 1010, 2088, 999, 102}, got.IDs)
	require.Equal(t, []string{"[CLS]", "hello", ",", "world", "!", "[SEP]"}, got.Tokens)
	require.Equal(t, [][2]int{{0, 0}, {0, 5}, {5, 6}, {7, 12}, {12, 13}, {0, 0}}, got.Offsets)
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &got))
	require.Equal(t, [2]int{0, 2}, got.Offsets[1], "character offsets: Ç is one character") // "ca"

	code, out, errOut = runCLI("tokenize", "--model", dir, "--no-special", "--pair", "b", "a")
	require.Equal(t, 0, code, errOut)
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Equal(t, []string{"a", "b"}, got.Tokens)

	code, out, errOut = runCLI("detokenize", "--model", dir, "--skip-special", "101", "7592", "1010", "2088", "999", "102")
	require.Equal(t, 0, code, errOut)
	require.JSONEq(t, `{"text":"hello, world!"}`, out)

	code, _, errOut = runCLI("detokenize", "--model", dir, "99999999")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "unknown token id")
	code, _, errOut = runCLI("detokenize", "--model", dir, "x")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `"x" is not an integer`)
	code, _, errOut = runCLI("tokenize", "--model", filepath.Join(t.TempDir(), "none"), "x")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "no such directory")
}

// TestTokenizeChat renders a chat with SmolLM2's template from a
// tokenizer_config.json and checks it against transformers' rendering.
func TestTokenizeChat(t *testing.T) {
	var g struct {
		Templates []struct {
			Name, Template string
			Cases          []struct {
				Conversation        string
				AddGenerationPrompt bool `json:"add_generation_prompt"`
				Text                string
			}
		}
	}
	b, err := os.ReadFile("../../tokenizer/testdata/chat/goldens.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &g))
	tpl, want := "", ""
	for _, c := range g.Templates[0].Cases {
		if c.Conversation == "system-user" && c.AddGenerationPrompt {
			tpl, want = g.Templates[0].Template, c.Text
		}
	}
	require.Equal(t, "smollm2-135m-instruct", g.Templates[0].Name)
	dir := t.TempDir()
	tj, err := os.ReadFile("../../tokenizer/testdata/bpe-smollm/tokenizer.json")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tokenizer.json"), tj, 0o644))
	cfg, _ := json.Marshal(map[string]any{"chat_template": tpl, "bos_token": "<|im_start|>", "eos_token": "<|im_end|>"})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), cfg, 0o644))

	code, out, errOut := runCLI("tokenize", "--model", dir, "--chat", "--system", "You are terse.", "What is 2+2?")
	require.Equal(t, 0, code, errOut)
	var got struct {
		Prompt string   `json:"prompt"`
		IDs    []int    `json:"ids"`
		Tokens []string `json:"tokens"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Equal(t, want, got.Prompt)
	require.Contains(t, out, `"<|im_start|>"`, "tokens are printed without HTML escaping")
	tk, err := tokenizer.Load(dir)
	require.NoError(t, err)
	im, _ := tk.TokenToID("<|im_start|>")
	require.Equal(t, im, got.IDs[0], "the template's special tokens are matched as added tokens")

	code, _, errOut = runCLI("tokenize", "--model", shared.Path(t, "tokenizers", "bert-base-uncased"), "--chat", "hi")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "chat template")
}
