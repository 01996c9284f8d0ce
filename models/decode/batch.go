package decode

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Continuous batching (iteration-level scheduling, as vLLM and TGI do it): one
// goroutine owns the model's decode step. At every step it runs one forward pass over
// the next token of every running sequence together — M rows, so each weight matrix is
// read once per step for all of them — plus up to PrefillChunk prompt tokens of
// sequences still reading their prompts, then samples each sequence with its own
// options. A request joins at the next step boundary and leaves as soon as it is done,
// stopped or abandoned.
//
// Every operation of a step treats each row on its own and sums in a fixed order
// (ops' GEMV and GEMM agree bit for bit; attention sees exactly a query's keys), so a
// sequence gets the same tokens through a Batcher, alone or among others, as from
// Generate on its own State. The model's part is its Network: the Batcher knows
// nothing of any architecture.

// ErrBusy is returned when a Batcher's queue of waiting requests is full.
var ErrBusy = errors.New("decode: the batcher's queue is full")

// ErrClosed is returned for requests a closed Batcher did not finish.
var ErrClosed = errors.New("decode: the batcher is closed")

// BatchOptions configures a Batcher; zero fields take the defaults.
type BatchOptions struct {
	// MaxBatch is the most sequences decoded together: 16 per thread of the model's
	// pool, between 16 and 256 (16 on one core, 32 on two, 256 from 16 cores). Decode
	// is bound by memory bandwidth until M nears the machine's FLOP/byte ratio, so a
	// step of a few sequences costs little more than one of a single sequence; beyond
	// that, a larger batch trades inter-token latency for throughput.
	MaxBatch int
	// KVCacheBytes bounds the keys and values of all running sequences together
	// (default 1 GiB: about 14 GPT-2 124M sequences of 1,024 positions, 450 of 32;
	// 94 SmolLM2-135M sequences of 2,048).
	// A sequence reserves its prompt plus max_tokens positions when it starts; the
	// next request waits until that much is free.
	KVCacheBytes int64
	// PrefillChunk is the most prompt tokens one step runs (default 256): a longer
	// prompt is read over several steps while the others keep decoding.
	PrefillChunk int
	// MaxWaiting is the most requests waiting for a slot (default 1024); beyond it
	// Generate fails with ErrBusy.
	MaxWaiting int
}

func (o BatchOptions) withDefaults(threads int) BatchOptions {
	if o.MaxBatch <= 0 {
		o.MaxBatch = min(max(16*threads, 16), 256)
	}
	if o.KVCacheBytes <= 0 {
		o.KVCacheBytes = 1 << 30
	}
	if o.PrefillChunk <= 0 {
		o.PrefillChunk = 256
	}
	if o.MaxWaiting <= 0 {
		o.MaxWaiting = 1024
	}
	return o
}

// BatchObserver receives a Batcher's measurements. It is called from the scheduler's
// goroutine and must return quickly.
type BatchObserver interface {
	// Admitted reports that a request got its slot after waiting for it.
	Admitted(wait time.Duration)
	// Stepped reports a step over sequences (those decoding plus those reading their
	// prompts) that ran prefill prompt tokens in all.
	Stepped(sequences, prefill int, took time.Duration)
}

// BatchStats is a snapshot of a Batcher's load and its totals since it started.
type BatchStats struct {
	Running, Waiting int   // sequences in the batch, and requests waiting for a slot
	KVBytes          int64 // reserved by the running sequences
	Steps            int64 // forward passes
	SequenceSteps    int64 // Σ sequences per step (÷ Steps: the mean batch size)
	Tokens           int64 // generated
}

// Batcher serves generation requests with continuous batching over one Network. It
// is safe for concurrent use; Close stops it.
type Batcher struct {
	net           Network
	opt           BatchOptions
	layers, width int   // the KV cache's layout
	kvPerToken    int64 // bytes of keys and values per position, all layers

	mu      sync.Mutex
	waiting []*sequence // FIFO
	closed  bool
	wake    chan struct{} // capacity 1: a request arrived
	stop    chan struct{}
	done    chan struct{} // the scheduler has exited
	obs     atomic.Pointer[BatchObserver]
	stats   struct{ running, waiting, kv, steps, seqSteps, tokens atomic.Int64 }

	// The scheduler's own.
	run      Runner
	running  []*sequence
	reserved int64
	pass     Pass        // this step's rows
	parts    []*sequence // the sequence of each of pass's segments
	prefill  int         // prompt tokens in this step
	ids      []int       // [pass.Rows] the rows' tokens
	logits   []float32   // [samples, vocab]
}

// sequence is one request. out is buffered for every event it can get, so the
// scheduler never waits for a slow reader.
type sequence struct {
	ctx      context.Context
	prompt   []int
	opt      Options
	out      chan tokenEvent
	gone     atomic.Bool // the reader stopped reading
	enqueued time.Time
	bytes    int64 // KV cache reserved

	// The scheduler's own.
	cache *KVCache // nil once released
	next  int      // the token to feed when decoding
	made  int      // tokens generated
	pick  *Sampler
}

type tokenEvent struct {
	tok int
	err error
}

// NewBatcher starts a scheduler over net, on a runner of its own.
func NewBatcher(net Network, opt BatchOptions) *Batcher {
	layers, width := net.Layout()
	b := &Batcher{net: net, opt: opt.withDefaults(net.Threads()), layers: layers, width: width, kvPerToken: CacheBytes(layers, width, 1),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}), run: net.NewRunner()}
	go b.loop()
	return b
}

// Options returns the options in effect, defaults filled in.
func (b *Batcher) Options() BatchOptions { return b.opt }

// Observe sends the scheduler's measurements to o from now on (nil: to nobody).
func (b *Batcher) Observe(o BatchObserver) {
	if o == nil {
		b.obs.Store(nil)
		return
	}
	b.obs.Store(&o)
}

// Stats returns the current load and the totals.
func (b *Batcher) Stats() BatchStats {
	return BatchStats{Running: int(b.stats.running.Load()), Waiting: int(b.stats.waiting.Load()), KVBytes: b.stats.kv.Load(),
		Steps: b.stats.steps.Load(), SequenceSteps: b.stats.seqSteps.Load(), Tokens: b.stats.tokens.Load()}
}

// Close stops the scheduler: requests still waiting or running end with ErrClosed.
func (b *Batcher) Close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.stop)
	}
	b.mu.Unlock()
	<-b.done
}

// Generate is Generate through the batch: the same tokens, streamed as the
// steps produce them. Stopping the iteration, or ctx ending, frees the sequence's slot
// at the next step. A full queue is ErrBusy; a request whose KV cache alone exceeds
// KVCacheBytes is an error wrapping ErrInput.
func (b *Batcher) Generate(ctx context.Context, prompt []int, opt Options) iter.Seq2[int, error] {
	return func(yield func(int, error) bool) {
		seq, err := b.submit(ctx, prompt, opt)
		if err != nil {
			yield(-1, err)
			return
		}
		defer seq.gone.Store(true)
		for {
			if err := ctx.Err(); err != nil { // before any token already made
				yield(-1, err)
				return
			}
			select {
			case ev, ok := <-seq.out:
				switch {
				case !ok:
					return
				case ev.err != nil:
					yield(-1, ev.err)
					return
				case !yield(ev.tok, nil):
					return
				}
			case <-ctx.Done():
				yield(-1, ctx.Err())
				return
			}
		}
	}
}

func (b *Batcher) submit(ctx context.Context, prompt []int, opt Options) (*sequence, error) {
	if err := CheckRequest(b.net, prompt, opt); err != nil {
		return nil, err
	}
	need := int64(len(prompt)+opt.MaxNewTokens) * b.kvPerToken
	if need > b.opt.KVCacheBytes {
		return nil, fmt.Errorf("%w: %d prompt + %d new tokens need %d bytes of KV cache; the batcher's budget is %d", b.net.InputError(),
			len(prompt), opt.MaxNewTokens, need, b.opt.KVCacheBytes)
	}
	seq := &sequence{ctx: ctx, prompt: prompt, opt: opt, out: make(chan tokenEvent, opt.MaxNewTokens+1), enqueued: time.Now(), bytes: need}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return nil, ErrClosed
	case len(b.waiting) >= b.opt.MaxWaiting:
		return nil, fmt.Errorf("%w (%d requests waiting)", ErrBusy, len(b.waiting))
	}
	b.waiting = append(b.waiting, seq)
	b.stats.waiting.Store(int64(len(b.waiting)))
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return seq, nil
}

func (b *Batcher) loop() {
	defer close(b.done)
	for {
		b.admit()
		if len(b.running) == 0 {
			select {
			case <-b.wake:
				continue
			case <-b.stop:
				b.shutdown()
				return
			}
		}
		select {
		case <-b.stop:
			b.shutdown()
			return
		default:
		}
		b.step()
	}
}

// shutdown ends every request with ErrClosed.
func (b *Batcher) shutdown() {
	b.mu.Lock()
	rest := append(b.waiting, b.running...)
	b.waiting, b.running = nil, nil
	b.mu.Unlock()
	b.stats.running.Store(0)
	b.stats.waiting.Store(0)
	for _, seq := range rest {
		if seq.cache != nil {
			b.release(seq)
		}
		seq.out <- tokenEvent{tok: -1, err: ErrClosed}
		close(seq.out)
	}
	b.stats.kv.Store(b.reserved)
}

// abandoned reports whether nobody waits for seq's tokens any more.
func abandoned(seq *sequence) bool { return seq.gone.Load() || seq.ctx.Err() != nil }

// admit moves waiting requests into the batch, first come first served, while a slot
// and their KV reservation are free.
func (b *Batcher) admit() {
	b.mu.Lock()
	var admitted []*sequence
	i := 0
	for ; i < len(b.waiting); i++ {
		seq := b.waiting[i]
		if abandoned(seq) {
			close(seq.out)
			continue
		}
		if len(b.running)+len(admitted) >= b.opt.MaxBatch || b.reserved+seq.bytes > b.opt.KVCacheBytes {
			break
		}
		b.reserved += seq.bytes
		admitted = append(admitted, seq)
	}
	b.waiting = append(b.waiting[:0], b.waiting[i:]...)
	b.stats.waiting.Store(int64(len(b.waiting)))
	b.mu.Unlock()
	obs := b.obs.Load()
	for _, seq := range admitted {
		seq.cache = NewKVCache(b.layers, b.width, len(seq.prompt)+seq.opt.MaxNewTokens)
		seq.pick = NewSampler(seq.opt, 0) // as Generate seeds a single prompt
		b.running = append(b.running, seq)
		if obs != nil {
			(*obs).Admitted(time.Since(seq.enqueued))
		}
	}
	b.stats.running.Store(int64(len(b.running)))
	b.stats.kv.Store(b.reserved)
}

// finish ends the stream of a sequence nobody reads and frees its slot.
func (b *Batcher) finish(seq *sequence) {
	b.release(seq)
	close(seq.out)
}

// release frees seq's KV cache and reservation; the next pass over b.running drops it.
func (b *Batcher) release(seq *sequence) {
	seq.cache = nil
	b.reserved -= seq.bytes
}

// step runs one forward pass over the running sequences and samples those that are
// past their prompts.
func (b *Batcher) step() {
	start := time.Now()
	b.drop(abandoned)
	if !b.plan() {
		b.stats.running.Store(int64(len(b.running)))
		b.stats.kv.Store(b.reserved)
		return
	}
	samples := b.pass.Samples()
	V := b.net.VocabSize()
	if need := samples * V; cap(b.logits) < need {
		b.logits = make([]float32, need)
	}
	b.run.Run(&b.pass, b.ids, b.logits[:samples*V])
	b.sample()
	b.drop(func(seq *sequence) bool { return seq.cache == nil }) // sample released them

	b.stats.running.Store(int64(len(b.running)))
	b.stats.kv.Store(b.reserved)
	b.stats.steps.Add(1)
	b.stats.seqSteps.Add(int64(len(b.parts)))
	b.stats.tokens.Add(int64(samples))
	b.send()
	if obs := b.obs.Load(); obs != nil {
		(*obs).Stepped(len(b.parts), b.prefill, time.Since(start))
	}
	// Let the readers of this step's tokens run before the next step: with one P
	// (GOMAXPROCS=1, a server pinned to one CPU) they would otherwise wait for the
	// scheduler's preemption, and streams would arrive in bursts.
	runtime.Gosched()
}

// drop removes the running sequences for which gone holds, ending those that still
// hold their caches.
func (b *Batcher) drop(gone func(*sequence) bool) {
	live := b.running[:0]
	for _, seq := range b.running {
		switch {
		case !gone(seq):
			live = append(live, seq)
		case seq.cache != nil:
			b.finish(seq)
		}
	}
	clear(b.running[len(live):])
	b.running = live
}

// plan lays out the step's rows: every decoding sequence one token; sequences
// reading their prompts share PrefillChunk tokens, oldest first. It reports whether
// there is anything to run.
func (b *Batcher) plan() bool {
	b.pass.Reset()
	b.parts, b.ids, b.prefill = b.parts[:0], b.ids[:0], 0
	for _, seq := range b.running {
		c := seq.cache
		if left := len(seq.prompt) - c.Len; left > 0 {
			n := min(left, b.opt.PrefillChunk-b.prefill)
			if n == 0 {
				continue
			}
			b.prefill += n
			b.ids = append(b.ids, seq.prompt[c.Len:c.Len+n]...)
			b.pass.Add(c, n, c.Len+n == len(seq.prompt))
		} else {
			b.ids = append(b.ids, seq.next)
			b.pass.Add(c, 1, true)
		}
		b.parts = append(b.parts, seq)
	}
	return b.pass.Rows > 0
}

// sample picks the next token of every sequence that sampled, and releases those
// that are done: they leave the batch, and its Stats, before their last token is
// sent, so a reader that sees its stream end sees a batch without it.
func (b *Batcher) sample() {
	V, eos, s := b.net.VocabSize(), b.net.EOS(), 0
	for i, seg := range b.pass.Segs {
		if !seg.Sample {
			continue
		}
		seq := b.parts[i]
		tok := seq.pick.Pick(b.logits[s*V : (s+1)*V])
		s++
		seq.made++
		seq.next = tok
		if seq.made == seq.opt.MaxNewTokens || (seq.opt.StopAtEOS && tok == eos) {
			b.release(seq)
		}
	}
}

// send streams the sampled tokens, closing the streams of sequences that are done.
func (b *Batcher) send() {
	for i, seg := range b.pass.Segs {
		if seg.Sample {
			seq := b.parts[i]
			seq.out <- tokenEvent{tok: seq.next}
			if seq.cache == nil {
				close(seq.out)
			}
		}
	}
}
