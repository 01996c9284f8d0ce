package server

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/lumen-ml/lumen/models/bert"
)

// batcher merges concurrent embedding requests for one model into micro-batches: the
// first request waits up to wait for others, until max texts (or, with a token
// budget, tokens texts' worth) are collected.
type batcher struct {
	m        Embedder
	max      int
	tokens   int // the token budget of a forward pass; 0: none
	wait     time.Duration
	in       chan *batchReq
	stop     chan struct{}
	finished sync.WaitGroup
}

type batchReq struct {
	ctx  context.Context
	encs []bert.Encoding
	out  chan batchRes
}

type batchRes struct {
	emb [][]float32
	err error
}

func newBatcher(m Embedder, max, tokens int, wait time.Duration) *batcher {
	b := &batcher{m: m, max: max, tokens: tokens, wait: wait, in: make(chan *batchReq), stop: make(chan struct{})}
	b.finished.Add(1)
	go b.loop()
	return b
}

func (b *batcher) close() {
	close(b.stop)
	b.finished.Wait()
}

// embed submits encoded texts and waits for their embeddings (or ctx's end).
func (b *batcher) embed(ctx context.Context, encs []bert.Encoding) ([][]float32, error) {
	req := &batchReq{ctx: ctx, encs: encs, out: make(chan batchRes, 1)}
	select {
	case b.in <- req:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-b.stop:
		return nil, context.Canceled
	}
	select {
	case res := <-req.out:
		return res.emb, res.err
	case <-ctx.Done():
		return nil, ctx.Err() // the batch still completes; its result is dropped
	}
}

func (b *batcher) loop() {
	defer b.finished.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var batch []*batchReq
		select {
		case r := <-b.in:
			batch = append(batch, r)
		case <-b.stop:
			return
		}
		n, tokens := len(batch[0].encs), countTokens(batch[0].encs)
		timer.Reset(b.wait)
	collect:
		for n < b.max && (b.tokens == 0 || tokens < b.tokens) {
			select {
			case r := <-b.in:
				batch = append(batch, r)
				n, tokens = n+len(r.encs), tokens+countTokens(r.encs)
			case <-timer.C:
				break collect
			}
		}
		timer.Stop()
		b.run(batch)
	}
}

// run embeds the live requests of a batch at once and hands each its rows.
func (b *batcher) run(batch []*batchReq) {
	var encs []bert.Encoding
	live := batch[:0]
	for _, r := range batch {
		if r.ctx.Err() != nil { // the client left while waiting: skip its work
			r.out <- batchRes{err: r.ctx.Err()}
			continue
		}
		live = append(live, r)
		encs = append(encs, r.encs...)
	}
	if len(live) == 0 {
		return
	}
	emb, err := b.embedAll(context.Background(), encs) // the batch outlives any one request
	for _, r := range live {
		if err != nil {
			r.out <- batchRes{err: err}
			continue
		}
		r.out <- batchRes{emb: emb[:len(r.encs)]}
		emb = emb[len(r.encs):]
	}
}

func countTokens(encs []bert.Encoding) int {
	n := 0
	for _, e := range encs {
		n += len(e.IDs)
	}
	return n
}

// embedAll embeds encs: in one pass without a token budget; with one, sorted by
// length and cut into passes of at most b.tokens padded tokens (a longer text
// alone), each text's embedding back in its place.
func (b *batcher) embedAll(ctx context.Context, encs []bert.Encoding) ([][]float32, error) {
	if b.tokens <= 0 {
		return b.m.Embed(ctx, encs)
	}
	order := make([]int, len(encs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int { return cmp.Compare(len(encs[x].IDs), len(encs[y].IDs)) })
	out := make([][]float32, len(encs))
	for lo := 0; lo < len(order); {
		hi := lo + 1 // ascending lengths: the pass pads to its last text's
		for hi < len(order) && (hi-lo+1)*len(encs[order[hi]].IDs) <= b.tokens {
			hi++
		}
		pass := make([]bert.Encoding, hi-lo)
		for i, j := range order[lo:hi] {
			pass[i] = encs[j]
		}
		emb, err := b.m.Embed(ctx, pass)
		if err != nil {
			return nil, err
		}
		for i, j := range order[lo:hi] {
			out[j] = emb[i]
		}
		lo = hi
	}
	return out, nil
}
