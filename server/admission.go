package server

import (
	"context"
	"sync"
)

// admission bounds the requests in the server: at most workers compute at once and
// at most queue more wait; beyond that, requests are turned away at once. Once
// closed (the server drains), it admits nobody and turns away those still waiting.
type admission struct {
	slots     chan struct{} // everyone admitted: workers + queue
	work      chan struct{} // those computing
	closed    chan struct{}
	closeOnce sync.Once
}

func newAdmission(workers, queue int) *admission {
	return &admission{slots: make(chan struct{}, workers+queue), work: make(chan struct{}, workers), closed: make(chan struct{})}
}

// close stops admitting; requests waiting for a worker are turned away at once.
func (a *admission) close() { a.closeOnce.Do(func() { close(a.closed) }) }

// isClosed reports whether close has run.
func (a *admission) isClosed() bool {
	select {
	case <-a.closed:
		return true
	default:
		return false
	}
}

// enter admits a request and, with worker, waits for a worker. It returns false when
// the queue is full or the admission closed (at once), or when ctx ends or the
// admission closes while waiting.
func (a *admission) enter(ctx context.Context, worker bool) (release func(), ok bool) {
	select {
	case <-a.closed:
		return nil, false
	default:
	}
	select {
	case a.slots <- struct{}{}:
	default:
		return nil, false
	}
	if !worker {
		return func() { <-a.slots }, true
	}
	select {
	case a.work <- struct{}{}:
		return func() { <-a.work; <-a.slots }, true
	case <-ctx.Done():
	case <-a.closed:
	}
	<-a.slots
	return nil, false
}

// worker waits for a worker for a request admitted without one. It returns false
// when ctx ends or the admission closes first.
func (a *admission) worker(ctx context.Context) (release func(), ok bool) {
	select {
	case a.work <- struct{}{}:
		return func() { <-a.work }, true
	case <-ctx.Done():
	case <-a.closed:
	}
	return nil, false
}

// waiting is the number of admitted requests without a worker (including those
// waiting for an embedding batch).
func (a *admission) waiting() int { return max(0, len(a.slots)-len(a.work)) }

// running is the number of requests holding a worker.
func (a *admission) running() int { return len(a.work) }
