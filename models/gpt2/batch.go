package gpt2

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"

	"github.com/lumen-ml/lumen/models/decode"
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
// Model.Generate.

// ErrBusy is returned when a Batcher's queue of waiting requests is full.
var ErrBusy = errors.New("gpt2: the batcher's queue is full")

// ErrClosed is returned for requests a closed Batcher did not finish.
var ErrClosed = errors.New("gpt2: the batcher is closed")

// BatchOptions configures a Batcher; zero fields take the defaults.
type BatchOptions struct {
	// MaxBatch is the most sequences decoded together: 16 per thread of the model's
	// pool, between 16 and 256 (16 on one core, 32 on two, 256 from 16 cores). Decode
	// is bound by memory bandwidth until M nears the machine's FLOP/byte ratio, so a
	// step of a few sequences costs little more than one of a single sequence; beyond
	// that, a larger batch trades inter-token latency for throughput.
	MaxBatch int
	// KVCacheBytes bounds the keys and values of all running sequences together
	// (default 1 GiB: about 14 GPT-2 124M sequences of 1,024 positions, 450 of 32).
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

// Batcher serves generation requests with continuous batching over one Model. It is
// safe for concurrent use; Close stops it.
type Batcher struct {
	m          *Model
	opt        BatchOptions
	kvPerToken int64 // bytes of keys and values per position, all layers
	eos        int

	mu      sync.Mutex
	waiting []*sequence // FIFO
	closed  bool
	wake    chan struct{} // capacity 1: a request arrived
	stop    chan struct{}
	done    chan struct{} // the scheduler has exited
	obs     atomic.Pointer[BatchObserver]
	stats   struct{ running, waiting, kv, steps, seqSteps, tokens atomic.Int64 }

	// The scheduler's own.
	ws       *ops.Workspace
	act      activations
	running  []*sequence
	reserved int64
	parts    []part    // this step's sequences and their rows
	last     []float32 // [S, n_embd] the sampled rows after ln_f
	logits   []float32 // [S, vocab]
}

// sequence is one request. out is buffered for every event it can get, so the
// scheduler never waits for a slow reader.
type sequence struct {
	ctx      context.Context
	prompt   []int
	opt      GenerateOptions
	out      chan tokenEvent
	gone     atomic.Bool // the reader stopped reading
	enqueued time.Time
	bytes    int64 // KV cache reserved

	// The scheduler's own.
	k, v [][]float32 // per layer: [capacity, n_embd]
	len  int         // positions cached
	next int         // the token to feed when decoding
	made int         // tokens generated
	pick *decode.Sampler
}

type tokenEvent struct {
	tok int
	err error
}

// part is a sequence's share of a step: n rows from row, its prompt's next tokens or
// its last token.
type part struct {
	seq    *sequence
	row, n int
	sample bool // the step ends its prompt (or decodes): sample from its last row
}

// NewBatcher starts a scheduler over m on m's pool.
func NewBatcher(m *Model, opt BatchOptions) *Batcher {
	cfg := m.cfg
	b := &Batcher{m: m, opt: opt.withDefaults(m.pool.Threads()), kvPerToken: int64(8 * cfg.NLayer * cfg.NEmbd), eos: m.eos(),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}), ws: ops.NewWorkspace(m.pool)}
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

// Encode, ContextLength and GenerateText make a Batcher serve completions wherever a
// Model does.
func (b *Batcher) Encode(text string) ([]int, error) { return b.m.Encode(text) }

// ContextLength returns the model's n_positions.
func (b *Batcher) ContextLength() int { return b.m.ContextLength() }

// GenerateText is Model.GenerateText through the batch.
func (b *Batcher) GenerateText(ctx context.Context, prompt []int, opt GenerateOptions, stop []string) iter.Seq2[Chunk, error] {
	if b.m.tok == nil {
		return b.m.GenerateText(ctx, prompt, opt, stop) // reports the missing tokenizer
	}
	return b.m.text(b.Generate(ctx, prompt, opt), stop)
}

// Generate is Model.Generate through the batch: the same tokens, streamed as the
// steps produce them. Stopping the iteration, or ctx ending, frees the sequence's slot
// at the next step. A full queue is ErrBusy; a request whose KV cache alone exceeds
// KVCacheBytes is an error wrapping ErrInput.
func (b *Batcher) Generate(ctx context.Context, prompt []int, opt GenerateOptions) iter.Seq2[int, error] {
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

func (b *Batcher) submit(ctx context.Context, prompt []int, opt GenerateOptions) (*sequence, error) {
	cfg := b.m.cfg
	if len(prompt) == 0 {
		return nil, fmt.Errorf("%w: the prompt is empty", ErrInput)
	}
	for _, id := range prompt {
		if id < 0 || id >= cfg.VocabSize {
			return nil, fmt.Errorf("%w: token id %d outside the vocabulary [0, %d)", ErrInput, id, cfg.VocabSize)
		}
	}
	if err := validate(opt, cfg, len(prompt)); err != nil {
		return nil, err
	}
	need := int64(len(prompt)+opt.MaxNewTokens) * b.kvPerToken
	if need > b.opt.KVCacheBytes {
		return nil, fmt.Errorf("%w: %d prompt + %d new tokens need %d bytes of KV cache; the batcher's budget is %d", ErrInput,
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
		if seq.k != nil {
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
	E := b.m.cfg.NEmbd
	for _, seq := range admitted {
		capacity := len(seq.prompt) + seq.opt.MaxNewTokens
		for range b.m.h {
			seq.k = append(seq.k, make([]float32, capacity*E))
			seq.v = append(seq.v, make([]float32, capacity*E))
		}
		seq.pick = decode.NewSampler(seq.opt, 0) // as Generate seeds a single prompt
		b.running = append(b.running, seq)
		if obs != nil {
			(*obs).Admitted(time.Since(seq.enqueued))
		}
	}
	b.stats.running.Store(int64(len(b.running)))
	b.stats.kv.Store(b.reserved)
}

// finish ends seq (after an error, when err is not nil) and frees its slot.
func (b *Batcher) finish(seq *sequence, err error) {
	b.release(seq)
	if err != nil {
		seq.out <- tokenEvent{tok: -1, err: err}
	}
	close(seq.out)
}

// release frees seq's KV caches and reservation; the next pass over b.running drops it.
func (b *Batcher) release(seq *sequence) {
	seq.k, seq.v = nil, nil
	b.reserved -= seq.bytes
}

// step runs one forward pass over the running sequences and samples those that are
// past their prompts.
func (b *Batcher) step() {
	start := time.Now()
	cfg := b.m.cfg
	E, V := cfg.NEmbd, cfg.VocabSize

	// Who runs, and on which rows: every decoding sequence one token; sequences
	// reading their prompts share PrefillChunk tokens, oldest first.
	live := b.running[:0]
	for _, seq := range b.running {
		if abandoned(seq) {
			b.finish(seq, nil)
			continue
		}
		live = append(live, seq)
	}
	clear(b.running[len(live):])
	b.running = live
	b.parts = b.parts[:0]
	rows, prefill, samples := 0, 0, 0
	for _, seq := range b.running {
		n := 1
		if left := len(seq.prompt) - seq.len; left > 0 {
			n = min(left, b.opt.PrefillChunk-prefill)
			if n == 0 {
				continue
			}
			prefill += n
		}
		p := part{seq: seq, row: rows, n: n, sample: seq.len+n >= len(seq.prompt)}
		b.parts = append(b.parts, p)
		rows += n
		if p.sample {
			samples++
		}
	}
	if rows == 0 {
		b.stats.running.Store(int64(len(b.running)))
		b.stats.kv.Store(b.reserved)
		return
	}

	// The forward pass over all rows.
	b.act.ensure(cfg, rows)
	x := b.act.x[:rows*E]
	for _, p := range b.parts {
		for t := 0; t < p.n; t++ {
			id := p.seq.next
			if pos := p.seq.len + t; pos < len(p.seq.prompt) {
				id = p.seq.prompt[pos]
			}
			b.m.embed(x[(p.row+t)*E:(p.row+t+1)*E], id, p.seq.len+t)
		}
	}
	for l := range b.m.h {
		b.m.h[l].forward(b.ws, b.m.act, &b.act, rows, l, b)
	}

	// ln_f and the LM head for the rows that sample.
	if need := samples * E; cap(b.last) < need {
		b.last = make([]float32, need)
		b.logits = make([]float32, samples*V)
	}
	last, logits := b.last[:samples*E], b.logits[:samples*V]
	s := 0
	for _, p := range b.parts {
		if p.sample {
			r := p.row + p.n - 1
			copy(last[s*E:(s+1)*E], x[r*E:(r+1)*E])
			s++
		}
	}
	b.m.lnF.Forward(last, last, samples)
	nn.Linear{Weight: b.m.wte}.Forward(b.ws, logits, last, samples)

	// Sample, and let finished sequences go: they leave the batch, and its Stats,
	// before their last token is sent, so a reader that sees its stream end sees a
	// batch without it.
	s = 0
	for _, p := range b.parts {
		seq := p.seq
		seq.len += p.n
		if !p.sample {
			continue
		}
		tok := seq.pick.Pick(logits[s*V : (s+1)*V])
		s++
		seq.made++
		seq.next = tok
		if seq.made == seq.opt.MaxNewTokens || (seq.opt.StopAtEOS && tok == b.eos) {
			b.release(seq)
		}
	}
	live = b.running[:0]
	for _, seq := range b.running {
		if seq.k != nil { // finish releases the caches
			live = append(live, seq)
		}
	}
	clear(b.running[len(live):])
	b.running = live

	b.stats.running.Store(int64(len(b.running)))
	b.stats.kv.Store(b.reserved)
	b.stats.steps.Add(1)
	b.stats.seqSteps.Add(int64(len(b.parts)))
	b.stats.tokens.Add(int64(samples))
	for _, p := range b.parts { // stream
		if p.sample {
			p.seq.out <- tokenEvent{tok: p.seq.next}
			if p.seq.k == nil {
				close(p.seq.out)
			}
		}
	}
	if obs := b.obs.Load(); obs != nil {
		(*obs).Stepped(len(b.parts), prefill, time.Since(start))
	}
	// Let the readers of this step's tokens run before the next step: with one P
	// (GOMAXPROCS=1, a server pinned to one CPU) they would otherwise wait for the
	// scheduler's preemption, and streams would arrive in bursts.
	runtime.Gosched()
}

// attend appends each sequence's new keys and values to its own cache and attends
// over it: one causal attention per sequence, its queries at its own positions.
func (b *Batcher) attend(l int, qkv, att []float32) {
	cfg := b.m.cfg
	E, H := cfg.NEmbd, cfg.NHead
	for _, p := range b.parts {
		seq := p.seq
		kc, vc := seq.k[l], seq.v[l]
		for t := 0; t < p.n; t++ {
			src := qkv[(p.row+t)*3*E:]
			dst := (seq.len + t) * E
			copy(kc[dst:dst+E], src[E:2*E])
			copy(vc[dst:dst+E], src[2*E:3*E])
		}
		ops.Attention(b.ws, ops.AttentionShape{
			Batch: 1, Heads: H, HeadDim: E / H, Queries: p.n, Keys: seq.len + p.n,
			Causal: true, Past: seq.len, Scale: float32(1 / math.Sqrt(float64(E/H))),
			QRow: 3 * E, QSeq: p.n * 3 * E, KVRow: E, KVSeq: len(kc), OutRow: E, OutSeq: p.n * E,
		}, att[p.row*E:], qkv[p.row*3*E:], kc, vc, nil)
	}
}
