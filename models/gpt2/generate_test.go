package gpt2

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/assets"
	"github.com/lumen-ml/lumen/internal/shared"
	"github.com/lumen-ml/lumen/models/nn"
)

func collect(t *testing.T, m *Model, prompt []int, opt GenerateOptions) []int {
	t.Helper()
	var out []int
	for tok, err := range m.Generate(context.Background(), prompt, opt) {
		require.NoError(t, err)
		out = append(out, tok)
	}
	return out
}

func TestSampling(t *testing.T) {
	m := loadVariant(t, variant{"model.safetensors", "f32", false, false})
	prompt := []int{15496, 11, 616, 3290, 318, 257, 1310}
	greedy := collect(t, m, prompt, GenerateOptions{MaxNewTokens: 12})
	// Top-k 1 is greedy whatever the temperature.
	require.Equal(t, greedy, collect(t, m, prompt, GenerateOptions{MaxNewTokens: 12, Temperature: 1.5, TopK: 1, Seed: 3}))
	// A temperature far below float32's smallest normal (1/T overflows) samples as
	// greedy, rather than picking the last candidate from NaN probabilities.
	require.Equal(t, greedy, collect(t, m, prompt, GenerateOptions{MaxNewTokens: 12, Temperature: 1e-40, Seed: 5}))
	require.Equal(t, greedy, collect(t, m, prompt, GenerateOptions{MaxNewTokens: 12, Temperature: 1e-30, TopK: 40, Seed: 6}))
	// A tiny top-p keeps only the most likely token: greedy again.
	require.Equal(t, greedy, collect(t, m, prompt, GenerateOptions{MaxNewTokens: 12, Temperature: 1, TopP: 1e-6, Seed: 4}))
	// Same seed, same tokens; different seeds diverge.
	opt := GenerateOptions{MaxNewTokens: 12, Temperature: 1.2, TopK: 50, TopP: 0.95, Seed: 42}
	a, b := collect(t, m, prompt, opt), collect(t, m, prompt, opt)
	require.Equal(t, a, b)
	opt.Seed = 43
	require.NotEqual(t, a, collect(t, m, prompt, opt))
	// Top-k restricts the choice: every sampled token is among the 5 best at its step.
	opt = GenerateOptions{MaxNewTokens: 8, Temperature: 2, TopK: 5, Seed: 7}
	toks := collect(t, m, prompt, opt)
	ctx := append([]int(nil), prompt...)
	V := m.cfg.VocabSize
	for _, tok := range toks {
		s, err := m.NewState(1, len(ctx))
		require.NoError(t, err)
		h, err := s.Forward(ctx, nil, len(ctx))
		require.NoError(t, err)
		logits := make([]float32, V)
		require.NoError(t, s.Logits(logits, h[(len(ctx)-1)*m.cfg.NEmbd:], 1))
		better := 0
		for _, v := range logits {
			if v > logits[tok] {
				better++
			}
		}
		require.Less(t, better, 5, "token %d is not in the top 5", tok)
		ctx = append(ctx, tok)
	}
}

func TestStopAtEOS(t *testing.T) {
	m := loadVariant(t, variant{"model.safetensors", "f32", false, false})
	// Prompt 0's greedy continuation under bf16 weights does not matter here: run
	// f32 greedy for 24 steps and check that StopAtEOS ends exactly at the first EOS.
	prompt := []int{464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13}
	full := collect(t, m, prompt, GenerateOptions{MaxNewTokens: 40})
	stopped := collect(t, m, prompt, GenerateOptions{MaxNewTokens: 40, StopAtEOS: true})
	end := len(full)
	for i, tok := range full {
		if tok == m.eos() {
			end = i + 1
			break
		}
	}
	require.Equal(t, full[:end], stopped)
}

func TestBadRequests(t *testing.T) {
	m := loadVariant(t, variant{"model.safetensors", "f32", false, false})
	ctx := context.Background()
	for name, c := range map[string]struct {
		prompt []int
		opt    GenerateOptions
	}{
		"empty prompt":    {nil, GenerateOptions{MaxNewTokens: 1}},
		"id out of range": {[]int{50257}, GenerateOptions{MaxNewTokens: 1}},
		"negative id":     {[]int{-1}, GenerateOptions{MaxNewTokens: 1}},
		"too long":        {make([]int, 250), GenerateOptions{MaxNewTokens: 10}},
		"no tokens asked": {[]int{1}, GenerateOptions{}},
		"bad temperature": {[]int{1}, GenerateOptions{MaxNewTokens: 1, Temperature: -1}},
		"bad top-p":       {[]int{1}, GenerateOptions{MaxNewTokens: 1, TopP: 1.5}},
	} {
		var gotErr error
		for _, err := range m.Generate(ctx, c.prompt, c.opt) {
			gotErr = err
		}
		require.ErrorIs(t, gotErr, ErrInput, name)
	}
	_, err := m.NewState(1, 257)
	require.ErrorIs(t, err, ErrInput)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = m.GenerateBatch(cancelled, [][]int{{1, 2}}, GenerateOptions{MaxNewTokens: 5})
	require.ErrorIs(t, err, context.Canceled)
}

// TestConcurrentGeneration shares one model between goroutines (run under -race).
func TestConcurrentGeneration(t *testing.T) {
	m := loadVariant(t, variant{"model-bf16.safetensors", "bf16", true, false})
	prompts := [][]int{{15496, 11, 616}, {464, 2068, 7586}, {36235, 39141}, {40, 1101, 257}}
	want := make([][]int, len(prompts))
	for i, p := range prompts {
		want[i] = collect(t, m, p, GenerateOptions{MaxNewTokens: 10})
	}
	var wg sync.WaitGroup
	for i, p := range prompts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rep := 0; rep < 3; rep++ {
				require.Equal(t, want[i], collect(t, m, p, GenerateOptions{MaxNewTokens: 10}))
			}
		}()
	}
	wg.Wait()
}

func TestGenerateTextStops(t *testing.T) {
	dir := shared.Path(t, "fixtures", "gpt2-tiny")
	m, err := Load(dir, nn.WithPool(nil), nn.WithTokenizerDir(shared.Path(t, "tokenizers", "gpt2")))
	require.NoError(t, err)
	defer m.Close()
	prompt, err := m.Encode("Hello, my dog is a little")
	require.NoError(t, err)
	opt := GenerateOptions{MaxNewTokens: 24}
	full, tokens := "", 0
	for c, err := range m.GenerateText(context.Background(), prompt, opt, nil) {
		require.NoError(t, err)
		require.True(t, utf8.ValidString(c.Text))
		full += c.Text
		if c.Token >= 0 {
			tokens++
		}
	}
	require.Equal(t, 24, tokens)
	want, err := m.Tokenizer().Decode(collect(t, m, prompt, opt))
	require.NoError(t, err)
	require.Equal(t, want, full)
	for _, stop := range []string{full[3:7], full[len(full)-2:], "never appears"} {
		got := ""
		for c, err := range m.GenerateText(context.Background(), prompt, opt, []string{stop}) {
			require.NoError(t, err)
			got += c.Text
		}
		if i := strings.Index(full, stop); i >= 0 {
			require.Equal(t, full[:i], got, "stop %q", stop)
		} else {
			require.Equal(t, full, got)
		}
	}
	_, err = Load(dir, nn.WithTokenizerDir(t.TempDir()))
	require.Error(t, err, "an explicit tokenizer directory must hold a tokenizer")
}

func TestDecodeStepAllocatesNothing(t *testing.T) {
	m := loadVariant(t, variant{"model-bf16.safetensors", "bf16", true, false})
	s, err := m.NewState(1, 200)
	require.NoError(t, err)
	_, err = s.Forward([]int{15496, 11, 616}, nil, 3)
	require.NoError(t, err)
	logits := make([]float32, m.cfg.VocabSize)
	next := []int{3290}
	step := func() {
		h, err := s.Forward(next, nil, 1)
		if err == nil {
			err = s.Logits(logits, h, 1)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	step()
	require.Zero(t, testing.AllocsPerRun(50, step))
}

func TestTokenizerJSON(t *testing.T) {
	src := assets.GPT2Tokenizer()
	vocab, err := fs.ReadFile(src, "vocab.json")
	require.NoError(t, err)
	merges, err := fs.ReadFile(src, "merges.txt")
	require.NoError(t, err)
	var list []string
	for _, l := range strings.Split(string(merges), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			list = append(list, l)
		}
	}
	ml, _ := json.Marshal(list)
	dir := t.TempDir()
	tj := `{"added_tokens":[{"id":50256,"content":"<|endoftext|>","special":true}],
		"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true},
		"decoder":{"type":"ByteLevel"},
		"model":{"type":"BPE","vocab":` + string(vocab) + `,"merges":` + string(ml) + `}}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(tj), 0o644))
	a, err := LoadTokenizer(dir)
	require.NoError(t, err)
	b, err := LoadTokenizerFS(src)
	require.NoError(t, err)
	text := "Tokenizer files come in two layouts; both must agree. 日本語 🚀"
	require.Equal(t, b.Encode(text), a.Encode(text))
	_, err = LoadTokenizer(t.TempDir())
	require.Error(t, err)
}
