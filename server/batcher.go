package server

import (
	"context"
	"sync"
	"time"

	"github.com/lumen-ml/lumen/models/bert"
)

// batcher merges concurrent embedding requests for one model into micro-batches: the
// first request waits up to wait for others, until max texts are collected.
type batcher struct {
	m        Embedder
	max      int
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

func newBatcher(m Embedder, max int, wait time.Duration) *batcher {
	b := &batcher{m: m, max: max, wait: wait, in: make(chan *batchReq), stop: make(chan struct{})}
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
		n := len(batch[0].encs)
		timer.Reset(b.wait)
	collect:
		for n < b.max {
			select {
			case r := <-b.in:
				batch = append(batch, r)
				n += len(r.encs)
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
	emb, err := b.m.Embed(context.Background(), encs) // the batch outlives any one request
	for _, r := range live {
		if err != nil {
			r.out <- batchRes{err: err}
			continue
		}
		r.out <- batchRes{emb: emb[:len(r.encs)]}
		emb = emb[len(r.encs):]
	}
}
