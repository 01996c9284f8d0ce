package gpt2

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/assets"
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

func collectFrom(t *testing.T, seq func(yield func(int, error) bool)) ([]int, error) {
	t.Helper()
	var out []int
	for tok, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, tok)
	}
	return out, nil
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
					want[i], err = collectFrom(t, m.Generate(context.Background(), c.prompt, c.opt))
					require.NoError(t, err)
				}
				b := NewBatcher(m, BatchOptions{MaxBatch: 5, PrefillChunk: 6})
				defer b.Close()
				got := make([][]int, len(cases))
				errs := make([]error, len(cases))
				var wg sync.WaitGroup
				for i, c := range cases {
					wg.Add(1)
					go func() {
						defer wg.Done()
						time.Sleep(c.delay)
						got[i], errs[i] = collectFrom(t, b.Generate(context.Background(), c.prompt, c.opt))
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
	b := NewBatcher(m, BatchOptions{})
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
	waitFor(t, func() bool { return b.Stats().Running == 0 }, "a stopped sequence leaves the batch")
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// stepGate is a BatchObserver that holds the scheduler after each step until the
// channel is closed: what runs and what waits stays put while a test looks.
type stepGate chan struct{}

func (stepGate) Admitted(time.Duration)            {}
func (g stepGate) Stepped(int, int, time.Duration) { <-g }

func (g stepGate) open() {
	select {
	case <-g:
	default:
		close(g)
	}
}

// Readers that stop or whose context ends free their slots; later requests run.
func TestBatcherCancellation(t *testing.T) {
	m := tinyModel(t, tensor.F32, 1)
	b := NewBatcher(m, BatchOptions{MaxBatch: 2})
	defer b.Close()
	long := GenerateOptions{MaxNewTokens: 200}
	prompt := []int{1, 2, 3}
	n := 0
	for _, err := range b.Generate(context.Background(), prompt, long) {
		require.NoError(t, err)
		if n++; n == 3 {
			break
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n = 0
	var last error
	for _, err := range b.Generate(ctx, prompt, long) {
		if err != nil {
			last = err
			break
		}
		if n++; n == 2 {
			cancel()
		}
	}
	require.ErrorIs(t, last, context.Canceled)
	waitFor(t, func() bool { st := b.Stats(); return st.Running == 0 && st.KVBytes == 0 }, "both slots are free")
	got, err := collectFrom(t, b.Generate(context.Background(), prompt, GenerateOptions{MaxNewTokens: 4}))
	require.NoError(t, err)
	require.Len(t, got, 4)
}

// A full queue answers ErrBusy at once; a request larger than the whole KV budget is
// the caller's error; a request that fits waits for the budget.
func TestBatcherLimits(t *testing.T) {
	m := tinyModel(t, tensor.F32, 1)
	perToken := int64(8 * m.cfg.NLayer * m.cfg.NEmbd)
	b := NewBatcher(m, BatchOptions{MaxBatch: 4, MaxWaiting: 1, KVCacheBytes: 100 * perToken})
	defer b.Close()
	hold := make(stepGate)
	b.Observe(hold)
	defer hold.open() // before b.Close, should the test stop early

	_, err := collectFrom(t, b.Generate(context.Background(), []int{1, 2}, GenerateOptions{MaxNewTokens: 99}))
	require.ErrorIs(t, err, ErrInput)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := make(chan error, 1)
	go func() { // holds 60 positions of the 100 until cancelled
		_, err := collectFrom(t, b.Generate(ctx, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, GenerateOptions{MaxNewTokens: 50}))
		first <- err
	}()
	waitFor(t, func() bool { return b.Stats().Running == 1 }, "the first request runs")
	second := make(chan error, 1)
	go func() { // 60 more: waits for the budget
		_, err := collectFrom(t, b.Generate(context.Background(), []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, GenerateOptions{MaxNewTokens: 50}))
		second <- err
	}()
	waitFor(t, func() bool { return b.Stats().Waiting == 1 }, "the second request waits")
	_, err = collectFrom(t, b.Generate(context.Background(), []int{1}, GenerateOptions{MaxNewTokens: 1}))
	require.ErrorIs(t, err, ErrBusy)
	cancel()
	require.ErrorIs(t, <-first, context.Canceled)
	hold.open() // the scheduler drops the first and admits the second
	require.NoError(t, <-second)
}

func TestBatcherBadRequests(t *testing.T) {
	m := tinyModel(t, tensor.F32, 1)
	b := NewBatcher(m, BatchOptions{})
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
		_, err := collectFrom(t, b.Generate(context.Background(), c.prompt, c.opt))
		require.ErrorIs(t, err, ErrInput, "%v %+v", c.prompt, c.opt)
	}
}

// Close ends running and waiting requests with ErrClosed and refuses new ones.
func TestBatcherClose(t *testing.T) {
	m := tinyModel(t, tensor.F32, 1)
	b := NewBatcher(m, BatchOptions{MaxBatch: 1})
	b.Observe(stepGate(b.stop)) // nothing finishes before Close
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := collectFrom(t, b.Generate(context.Background(), []int{1, 2}, GenerateOptions{MaxNewTokens: 250}))
			errs <- err
		}()
	}
	waitFor(t, func() bool { st := b.Stats(); return st.Running == 1 && st.Waiting == 1 }, "one runs, one waits")
	b.Close()
	for range 2 {
		require.True(t, errors.Is(<-errs, ErrClosed))
	}
	_, err := collectFrom(t, b.Generate(context.Background(), []int{1}, GenerateOptions{MaxNewTokens: 1}))
	require.ErrorIs(t, err, ErrClosed)
}
