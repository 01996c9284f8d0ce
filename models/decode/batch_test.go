package decode

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/ops"
)

var errFake = errors.New("fake: invalid input")

// fakeNet is a decoder small enough to follow by hand, which still exercises the
// whole core: every layer attends (Pass.Attend) over the sequence's cached tokens
// with equal scores, so its output is the mean of the tokens so far, and the next
// token is a function of their sum and the position. A row given the wrong cache,
// position or segment gets another token.
type fakeNet struct {
	layers, vocab, context int
}

func (f fakeNet) Layout() (int, int)    { return f.layers, 1 }
func (f fakeNet) VocabSize() int        { return f.vocab }
func (f fakeNet) ContextLength() int    { return f.context }
func (f fakeNet) EOS() int              { return 0 }
func (f fakeNet) InputError() error     { return errFake }
func (f fakeNet) Threads() int          { return 1 }
func (f fakeNet) NewRunner() Runner     { return &fakeRunner{net: f} }
func (f fakeNet) next(sum, pos int) int { return (7*sum + 3*pos + 1) % f.vocab }

type fakeRunner struct {
	net        fakeNet
	q, kv, out []float32
	rows       []int
}

func (r *fakeRunner) Run(p *Pass, ids []int, logits []float32) {
	if len(ids) != p.Rows || len(p.Pos) != p.Rows {
		panic("fake: rows")
	}
	r.q, r.kv, r.out = make([]float32, 2*p.Rows), make([]float32, p.Rows), make([]float32, 2*p.Rows)
	for i, id := range ids {
		r.kv[i] = float32(id) // q is 0: every key scores the same
	}
	for l := range r.net.layers {
		p.Attend(nil, l, Heads{Heads: 2, KVHeads: 1, HeadDim: 1}, Rows{r.out, 2}, Rows{r.q, 2}, Rows{r.kv, 1}, Rows{r.kv, 1})
	}
	p.Advance()
	V := r.net.vocab
	s := 0
	for _, seg := range p.Segs {
		if !seg.Sample {
			continue
		}
		row := seg.Row + seg.N - 1
		// head 0 read value 0 (the ids), head 1 the same key/value head (GQA).
		mean := float64(r.out[2*row])
		sum := int(math.Round(mean * float64(p.Pos[row]+1)))
		clear(logits[s*V : (s+1)*V])
		logits[s*V+r.net.next(sum, p.Pos[row])] = 10
		s++
	}
}

// The fake's greedy continuation, computed without the core.
func (f fakeNet) want(prompt []int, n int) []int {
	sum := 0
	for _, id := range prompt {
		sum += id
	}
	var out []int
	for pos := len(prompt) - 1; len(out) < n; pos++ {
		tok := f.next(sum, pos)
		out = append(out, tok)
		sum += tok
	}
	return out
}

func TestStateAndGenerate(t *testing.T) {
	f := fakeNet{layers: 3, vocab: 50, context: 600}
	prompt := make([]int, 300) // two prefill chunks
	for i := range prompt {
		prompt[i] = i % 50
	}
	got, err := Collect(Generate(context.Background(), f, prompt, Options{MaxNewTokens: 9}))
	require.NoError(t, err)
	require.Equal(t, f.want(prompt, 9), got)

	for _, bad := range [][]int{nil, {-1}, {50}} {
		_, err := Collect(Generate(context.Background(), f, bad, Options{MaxNewTokens: 1}))
		require.ErrorIs(t, err, errFake, "%v", bad)
	}
	_, err = Collect(Generate(context.Background(), f, []int{1}, Options{MaxNewTokens: 600}))
	require.ErrorIs(t, err, errFake, "past the context")
	s, err := NewState(f, 4)
	require.NoError(t, err)
	_, err = s.Step(context.Background(), []int{1, 2, 3, 4, 5})
	require.ErrorIs(t, err, errFake)
	require.Zero(t, s.Len(), "refused before anything ran")
	_, err = NewState(f, 601)
	require.ErrorIs(t, err, errFake)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = s.Step(ctx, []int{1})
	require.ErrorIs(t, err, context.Canceled)
}

type batchCase struct {
	prompt []int
	opt    Options
	delay  time.Duration
}

// A sequence's tokens are the same through the batcher — among others, arriving
// at different times, with chunked prefill and a queue — as from Generate alone.
func TestBatcherMatchesGenerate(t *testing.T) {
	f := fakeNet{layers: 2, vocab: 97, context: 512}
	r := rand.New(rand.NewPCG(3, 9))
	var cases []batchCase
	for i := range 40 {
		prompt := make([]int, []int{1, 2, 3, 7, 13, 29, 41, 300}[r.IntN(8)])
		for j := range prompt {
			prompt[j] = r.IntN(f.vocab)
		}
		opt := Options{MaxNewTokens: 1 + r.IntN(20), Seed: r.Uint64(), StopAtEOS: i%3 == 0}
		if i%2 == 1 {
			opt.Temperature = 0.8
		}
		cases = append(cases, batchCase{prompt, opt, time.Duration(r.IntN(20)) * time.Millisecond})
	}
	b := NewBatcher(f, BatchOptions{MaxBatch: 5, PrefillChunk: 6})
	defer b.Close()
	got, errs := make([][]int, len(cases)), make([]error, len(cases))
	var wg sync.WaitGroup
	for i, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(c.delay)
			got[i], errs[i] = Collect(b.Generate(context.Background(), c.prompt, c.opt))
		}()
	}
	wg.Wait()
	for i, c := range cases {
		require.NoError(t, errs[i])
		want, err := Collect(Generate(context.Background(), f, c.prompt, c.opt))
		require.NoError(t, err)
		require.Equal(t, want, got[i], "case %d: prompt of %d tokens, %+v", i, len(c.prompt), c.opt)
		if c.opt.Temperature == 0 && !c.opt.StopAtEOS {
			require.Equal(t, f.want(c.prompt, c.opt.MaxNewTokens), got[i], "case %d", i)
		}
	}
	st := b.Stats()
	require.Zero(t, st.Running)
	require.Zero(t, st.KVBytes, "every reservation is returned")
	require.Greater(t, st.SequenceSteps, st.Steps, "sequences shared steps")
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
	b := NewBatcher(fakeNet{layers: 1, vocab: 10, context: 1000}, BatchOptions{MaxBatch: 2})
	defer b.Close()
	long := Options{MaxNewTokens: 200}
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
	got, err := Collect(b.Generate(context.Background(), prompt, Options{MaxNewTokens: 4}))
	require.NoError(t, err)
	require.Len(t, got, 4)
}

// A full queue answers ErrBusy at once; a request larger than the whole KV budget is
// the caller's error; a request that fits waits for the budget.
func TestBatcherLimits(t *testing.T) {
	f := fakeNet{layers: 3, vocab: 10, context: 1000}
	perToken := CacheBytes(3, 1, 1)
	b := NewBatcher(f, BatchOptions{MaxBatch: 4, MaxWaiting: 1, KVCacheBytes: 100 * perToken})
	defer b.Close()
	hold := make(stepGate)
	b.Observe(hold)
	defer hold.open() // before b.Close, should the test stop early

	_, err := Collect(b.Generate(context.Background(), []int{1, 2}, Options{MaxNewTokens: 99}))
	require.ErrorIs(t, err, errFake)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := make(chan error, 1)
	go func() { // holds 60 positions of the 100 until cancelled
		_, err := Collect(b.Generate(ctx, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 1}, Options{MaxNewTokens: 50}))
		first <- err
	}()
	waitFor(t, func() bool { return b.Stats().Running == 1 }, "the first request runs")
	second := make(chan error, 1)
	go func() { // 60 more: waits for the budget
		_, err := Collect(b.Generate(context.Background(), []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 1}, Options{MaxNewTokens: 50}))
		second <- err
	}()
	waitFor(t, func() bool { return b.Stats().Waiting == 1 }, "the second request waits")
	_, err = Collect(b.Generate(context.Background(), []int{1}, Options{MaxNewTokens: 1}))
	require.ErrorIs(t, err, ErrBusy)
	cancel()
	require.ErrorIs(t, <-first, context.Canceled)
	hold.open() // the scheduler drops the first and admits the second
	require.NoError(t, <-second)
}

func TestBatcherBadRequests(t *testing.T) {
	f := fakeNet{layers: 1, vocab: 10, context: 100}
	b := NewBatcher(f, BatchOptions{})
	defer b.Close()
	for _, c := range []struct {
		prompt []int
		opt    Options
	}{
		{nil, Options{MaxNewTokens: 1}},
		{[]int{-1}, Options{MaxNewTokens: 1}},
		{[]int{10}, Options{MaxNewTokens: 1}},
		{[]int{1}, Options{}},
		{[]int{1}, Options{MaxNewTokens: 100}},
		{[]int{1}, Options{MaxNewTokens: 1, TopP: 2}},
	} {
		_, err := Collect(b.Generate(context.Background(), c.prompt, c.opt))
		require.ErrorIs(t, err, errFake, "%v %+v", c.prompt, c.opt)
	}
}

// Close ends running and waiting requests with ErrClosed and refuses new ones.
func TestBatcherClose(t *testing.T) {
	b := NewBatcher(fakeNet{layers: 1, vocab: 10, context: 1000}, BatchOptions{MaxBatch: 1})
	b.Observe(stepGate(b.stop)) // nothing finishes before Close
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := Collect(b.Generate(context.Background(), []int{1, 2}, Options{MaxNewTokens: 250}))
			errs <- err
		}()
	}
	waitFor(t, func() bool { st := b.Stats(); return st.Running == 1 && st.Waiting == 1 }, "one runs, one waits")
	b.Close()
	for range 2 {
		require.True(t, errors.Is(<-errs, ErrClosed))
	}
	_, err := Collect(b.Generate(context.Background(), []int{1}, Options{MaxNewTokens: 1}))
	require.ErrorIs(t, err, ErrClosed)
}

// Attend checks its caches: a programmer's error, not a caller's.
func TestAttendPanicsOnFullCache(t *testing.T) {
	c := NewKVCache(1, 2, 1)
	var p Pass
	p.Add(c, 2, true)
	buf := make([]float32, 4)
	require.Panics(t, func() {
		p.Attend(ops.NewWorkspace(nil), 0, Heads{1, 1, 2}, Rows{buf, 2}, Rows{buf, 2}, Rows{buf, 2}, Rows{buf, 2})
	})
}
