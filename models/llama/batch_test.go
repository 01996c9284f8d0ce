package llama

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/models/decode"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
	"github.com/lumen-ml/lumen/tokenizer"
)

// A sequence's tokens are the same through the batcher — among others, arriving at
// different times, with chunked prefill — as from Generate alone, with either kind
// of activations and on one or two threads.
func TestBatcherMatchesGenerate(t *testing.T) {
	for _, act := range []ops.QAct{ops.QActQ8, ops.QActF32} {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("%v/%dthreads", act, threads), func(t *testing.T) {
				pool := ops.NewPool(threads)
				defer pool.Close()
				m, err := LoadGGUF("testdata/tiny.gguf", nn.WithQuantActivations(act), nn.WithPool(pool))
				require.NoError(t, err)
				defer m.Close()
				r := rand.New(rand.NewPCG(uint64(threads), uint64(act)))
				type request struct {
					prompt []int
					opt    GenerateOptions
					delay  time.Duration
				}
				var reqs []request
				for i := range 20 {
					prompt := make([]int, []int{1, 2, 5, 11, 30, 70}[r.IntN(6)])
					for j := range prompt {
						prompt[j] = r.IntN(m.cfg.VocabSize)
					}
					opt := GenerateOptions{MaxNewTokens: 1 + r.IntN(16), Seed: r.Uint64(), StopAtEOS: i%4 == 0}
					if i%2 == 1 {
						opt.Temperature, opt.TopK = 0.9, 40
					}
					reqs = append(reqs, request{prompt, opt, time.Duration(r.IntN(20)) * time.Millisecond})
				}
				b := NewBatcher(m, decode.BatchOptions{MaxBatch: 6, PrefillChunk: 24})
				defer b.Close()
				got, errs := make([][]int, len(reqs)), make([]error, len(reqs))
				var wg sync.WaitGroup
				for i, q := range reqs {
					wg.Go(func() {
						time.Sleep(q.delay)
						got[i], errs[i] = decode.Collect(b.Generate(context.Background(), q.prompt, q.opt))
					})
				}
				wg.Wait()
				for i, q := range reqs {
					require.NoError(t, errs[i])
					want, err := decode.Collect(m.Generate(context.Background(), q.prompt, q.opt))
					require.NoError(t, err)
					require.Equal(t, want, got[i], "request %d: %d prompt tokens, %+v", i, len(q.prompt), q.opt)
				}
				st := b.Stats()
				require.Zero(t, st.KVBytes)
				require.Greater(t, st.SequenceSteps, st.Steps, "sequences shared steps")
			})
		}
	}
}

// Sixteen chat clients at once on the real model, through the batcher: each gets
// the text it gets alone.
func TestSmolLM2Batcher(t *testing.T) {
	m := smolLM2(t)
	b := NewBatcher(m, decode.BatchOptions{})
	defer b.Close()
	questions := []string{"What is the capital of France?", "Name a prime number.", "Say hello.", "What colour is the sky?"}
	opt := GenerateOptions{MaxNewTokens: 12, StopAtEOS: true}
	text := func(gen func(ctx context.Context, prompt []int, opt GenerateOptions, stop []string) func(func(Chunk, error) bool), prompt []int) string {
		s := ""
		for c, err := range gen(context.Background(), prompt, opt, nil) {
			require.NoError(t, err)
			s += c.Text
		}
		return s
	}
	prompts := make([][]int, 16)
	want := make([]string, len(questions))
	for i := range prompts {
		ids, err := b.EncodeChat([]tokenizer.Message{{Role: "user", Content: questions[i%len(questions)]}})
		require.NoError(t, err)
		prompts[i] = ids
		if i < len(questions) {
			want[i] = text(func(ctx context.Context, p []int, o GenerateOptions, st []string) func(func(Chunk, error) bool) {
				return m.GenerateText(ctx, p, o, st)
			}, ids)
		}
	}
	got := make([]string, len(prompts))
	var wg sync.WaitGroup
	for i, p := range prompts {
		wg.Go(func() {
			got[i] = text(func(ctx context.Context, p []int, o GenerateOptions, st []string) func(func(Chunk, error) bool) {
				return b.GenerateText(ctx, p, o, st)
			}, p)
		})
	}
	wg.Wait()
	for i := range got {
		require.Equal(t, want[i%len(questions)], got[i], "client %d", i)
	}
	st := b.Stats()
	t.Logf("%d steps, mean batch %.1f, %d tokens; %q", st.Steps, float64(st.SequenceSteps)/float64(st.Steps), st.Tokens, want[0])
	require.Greater(t, float64(st.SequenceSteps)/float64(st.Steps), 4.0, "the clients shared steps")
}
