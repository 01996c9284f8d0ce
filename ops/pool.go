package ops

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Task is a unit of parallel work: Do runs item i on worker w (0 ≤ w < Threads); no
// two items run on the same worker at once.
// Items are handed out through an atomic counter, so a worker's items are not
// contiguous and Do must not assume an order.
type Task interface {
	Do(w, i int)
}

// Pool is a persistent set of worker threads that the parallel kernels share. With
// Threads > 1, that many helper goroutines, each locked to its own OS thread and (by
// default) pinned to its own CPU, do all of a job's work while the caller waits; with
// one thread the caller does the work itself. A parallel call spawns nothing and
// allocates nothing.
//
// The caller does not work alongside the helpers because its thread is not pinned: on
// virtual machines that pack a process's runnable threads onto one vCPU, it would
// share a CPU with a helper and a two-thread GEMM would run at one-thread speed
// (measured: 1.4× with the caller working, 1.9× without).
//
// A Pool runs one job at a time: concurrent callers are served in turn, each with all
// threads. It is safe for concurrent use. Close stops the helpers.
type Pool struct {
	threads int
	mu      sync.Mutex // held for a whole job
	task    Task
	n       int64
	next    atomic.Int64
	wake    []chan struct{}
	done    sync.WaitGroup
	closed  bool

	// Per-worker scratch, used only while mu is held.
	scratch []workerScratch
	gemm    gemmJob
	gemv    gemvJob
	packB   packBJob
	conv    convJob
}

// PoolOption configures NewPool.
type PoolOption func(*poolConfig)

type poolConfig struct{ pin bool }

// WithPinning pins each helper thread to its own CPU (Linux only; elsewhere a no-op).
// It is on by default: some virtual machines pack the runnable threads of a process
// onto one vCPU, which halves a two-thread GEMM. Turn it off when the process shares
// its CPUs with other pinned work, or runs several pools.
func WithPinning(on bool) PoolOption { return func(c *poolConfig) { c.pin = on } }

// NewPool starts a pool of threads workers (threads ≤ 0 means GOMAXPROCS).
func NewPool(threads int, opts ...PoolOption) *Pool {
	cfg := poolConfig{pin: true}
	for _, o := range opts {
		o(&cfg)
	}
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	p := &Pool{threads: threads, scratch: make([]workerScratch, threads)}
	cpus := allowedCPUs()
	for w := 0; w < threads && threads > 1; w++ {
		ch := make(chan struct{}, 1)
		p.wake = append(p.wake, ch)
		cpu := -1
		if cfg.pin && len(cpus) > 1 {
			cpu = cpus[w%len(cpus)]
		}
		go p.worker(w, ch, cpu)
	}
	return p
}

// Threads returns the number of worker threads.
func (p *Pool) Threads() int {
	if p == nil {
		return 1
	}
	return p.threads
}

// Close stops the helper goroutines. A closed pool still works, on the calling
// goroutine alone.
func (p *Pool) Close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		for _, ch := range p.wake {
			close(ch)
		}
	}
}

func (p *Pool) worker(w int, wake chan struct{}, cpu int) {
	if cpu >= 0 {
		runtime.LockOSThread()
		pinToCPU(cpu)
	}
	for range wake {
		p.drain(w)
		p.done.Done()
	}
}

func (p *Pool) drain(w int) {
	for {
		i := p.next.Add(1) - 1
		if i >= p.n {
			return
		}
		p.task.Do(w, int(i))
	}
}

// run executes t.Do for items 0..n-1 on up to Threads workers. The caller holds p.mu.
func (p *Pool) run(n int, t Task) {
	helpers := min(p.threads, n)
	if p.closed || helpers <= 1 {
		for i := 0; i < n; i++ {
			t.Do(0, i)
		}
		return
	}
	p.task, p.n = t, int64(n)
	p.next.Store(0)
	p.done.Add(helpers)
	for _, ch := range p.wake[:helpers] {
		ch <- struct{}{}
	}
	p.done.Wait()
	p.task = nil
}

// Run executes t.Do(w, i) for i in 0..n-1 across the pool's workers and returns when
// all are done. A nil Pool runs everything on the caller.
func (p *Pool) Run(n int, t Task) {
	if p == nil {
		for i := 0; i < n; i++ {
			t.Do(0, i)
		}
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.run(n, t)
}
