package gpt2

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/assets"
	"github.com/lumen-ml/lumen/models/decode"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
	"github.com/lumen-ml/lumen/tensor"
)

// tinyModel loads a tiny random GPT-2 (stored as dt) with the shipped tokenizer, on a
// pool of threads.
func tinyModel(t *testing.T, dt tensor.DType, threads int) *Model {
	t.Helper()
	dir := t.TempDir()
	cfg, err := SizeConfig("tiny")
	require.NoError(t, err)
	inner := 600 // c_fc's K beyond one KC slice: GEMV and GEMM sum slices alike
	cfg.NInner = &inner
	require.NoError(t, WriteRandom(dir, cfg, dt, 7))
	tok, err := LoadTokenizerFS(assets.GPT2Tokenizer())
	require.NoError(t, err)
	pool := ops.NewPool(threads)
	t.Cleanup(pool.Close)
	m, err := Load(dir, WithTokenizer(tok), nn.WithPool(pool), nn.WithHalfWeights(dt != tensor.F32))
	require.NoError(t, err)
	return m
}

type batchCase struct {
	prompt []int
	opt    GenerateOptions
	delay  time.Duration
}

func batchCases(r *rand.Rand, n, vocab int) []batchCase {
	var cases []batchCase
	for i := 0; i < n; i++ {
		prompt := make([]int, []int{1, 2, 3, 4, 7, 13, 29, 41}[r.IntN(8)])
		for j := range prompt {
			prompt[j] = r.IntN(vocab)
		}
		opt := GenerateOptions{MaxNewTokens: 1 + r.IntN(12), Seed: r.Uint64()}
		switch i % 4 {
		case 1:
			opt.Temperature = 0.9
		case 2:
			opt.Temperature, opt.TopK = 1.3, 20
		case 3:
			opt.Temperature, opt.TopP, opt.StopAtEOS = 0.7, 0.9, true
		}
		cases = append(cases, batchCase{prompt, opt, time.Duration(r.IntN(30)) * time.Millisecond})
	}
	return cases
}

// A sequence's tokens are the same through the batcher — among others, arriving at
// different times, with chunked prefill and a queue — as from Generate alone.
func TestBatcherMatchesGenerate(t *testing.T) {
	for _, dt := range []tensor.DType{tensor.F32, tensor.BF16} {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("%v/%dthreads", dt, threads), func(t *testing.T) {
				m := tinyModel(t, dt, threads)
				r := rand.New(rand.NewPCG(uint64(threads), 9))
				cases := batchCases(r, 24, m.cfg.VocabSize)
				want := make([][]int, len(cases))
				for i, c := range cases {
					var err error
					want[i], err = decode.Collect(m.Generate(context.Background(), c.prompt, c.opt))
					require.NoError(t, err)
				}
				b := NewBatcher(m, decode.BatchOptions{MaxBatch: 5, PrefillChunk: 6})
				defer b.Close()
				got := make([][]int, len(cases))
				errs := make([]error, len(cases))
				var wg sync.WaitGroup
				for i, c := range cases {
					wg.Add(1)
					go func() {
						defer wg.Done()
						time.Sleep(c.delay)
						got[i], errs[i] = decode.Collect(b.Generate(context.Background(), c.prompt, c.opt))
					}()
				}
				wg.Wait()
				for i := range cases {
					require.NoError(t, errs[i])
					require.Equal(t, want[i], got[i], "case %d: prompt of %d tokens, %+v", i, len(cases[i].prompt), cases[i].opt)
				}
				st := b.Stats()
				require.Zero(t, st.Running)
				require.Zero(t, st.KVBytes, "every reservation is returned")
				require.Greater(t, st.SequenceSteps, st.Steps, "sequences shared steps")
			})
		}
	}
}

func TestBatcherTextAndStops(t *testing.T) {
	m := tinyModel(t, tensor.F32, 2)
	b := NewBatcher(m, decode.BatchOptions{})
	defer b.Close()
	prompt, err := b.Encode("Hello, my dog")
	require.NoError(t, err)
	opt := GenerateOptions{MaxNewTokens: 20}
	var plain string
	for c, err := range m.GenerateText(context.Background(), prompt, opt, nil) {
		require.NoError(t, err)
		plain += c.Text
	}
	require.NotEmpty(t, plain)
	stop := []string{plain[len(plain)/2 : len(plain)/2+1]}
	text := func(gen func(context.Context, []int, GenerateOptions, []string) func(func(Chunk, error) bool)) string {
		var s string
		for c, err := range gen(context.Background(), prompt, opt, stop) {
			require.NoError(t, err)
			s += c.Text
		}
		return s
	}
	want := text(func(ctx context.Context, p []int, o GenerateOptions, st []string) func(func(Chunk, error) bool) {
		return m.GenerateText(ctx, p, o, st)
	})
	got := text(func(ctx context.Context, p []int, o GenerateOptions, st []string) func(func(Chunk, error) bool) {
		return b.GenerateText(ctx, p, o, st)
	})
	require.Equal(t, want, got)
	require.Less(t, len(got), len(plain))
	for deadline := time.Now().Add(10 * time.Second); b.Stats().Running != 0; time.Sleep(time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "a stopped sequence leaves the batch")
	}
}

func TestBatcherBadRequests(t *testing.T) {
	m := tinyModel(t, tensor.F32, 1)
	b := NewBatcher(m, decode.BatchOptions{})
	defer b.Close()
	for _, c := range []struct {
		prompt []int
		opt    GenerateOptions
	}{
		{nil, GenerateOptions{MaxNewTokens: 1}},
		{[]int{-1}, GenerateOptions{MaxNewTokens: 1}},
		{[]int{m.cfg.VocabSize}, GenerateOptions{MaxNewTokens: 1}},
		{[]int{1}, GenerateOptions{}},
		{[]int{1}, GenerateOptions{MaxNewTokens: m.cfg.NPositions}},
		{[]int{1}, GenerateOptions{MaxNewTokens: 1, TopP: 2}},
	} {
		_, err := decode.Collect(b.Generate(context.Background(), c.prompt, c.opt))
		require.ErrorIs(t, err, ErrInput, "%v %+v", c.prompt, c.opt)
	}
}
