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

// Pool is a persistent set of worker threads, and nothing else: the operators'
// scratch memory belongs to the caller's Workspace. Any number of models and
// goroutines may share one Pool.
//
// With Threads > 1, that many helper goroutines, each locked to its own OS thread and
// (by default) pinned to its own CPU, do all of a job's work while the caller waits;
// with one thread the caller does the work itself. A parallel call spawns nothing and
// allocates nothing.
//
// The helpers serve one job at a time. A job submitted while they are busy — by
// another goroutine (a concurrent request), or from inside a running task (a nested
// parallel operator) — is not queued behind it: its caller runs every item itself,
// as worker 0. So concurrent requests compute at the same time (each at least on its
// own goroutine), and a nested parallel call can neither deadlock nor oversubscribe
// the helpers.
//
// The caller does not work alongside the helpers because its thread is not pinned: on
// virtual machines that pack a process's runnable threads onto one vCPU, it would
// share a CPU with a helper and a two-thread GEMM would run at one-thread speed
// (measured: 1.4× with the caller working, 1.9× without).
//
// A Pool is safe for concurrent use. Close stops the helpers; a closed pool still
// runs jobs, on the caller.
type Pool struct {
	threads int
	busy    sync.Mutex // held (TryLock) by the job the helpers run
	closed  atomic.Bool
	close   sync.Once

	task Task
	n    int64
	next atomic.Int64
	wake []chan struct{}
	done sync.WaitGroup
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
	p := &Pool{threads: threads}
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

// DefaultPool returns the process-wide pool of GOMAXPROCS pinned threads, started on
// first use and never closed. Models use it unless given another.
func DefaultPool() *Pool { return defaultPool() }

var defaultPool = sync.OnceValue(func() *Pool { return NewPool(0) })

// Threads returns the number of worker threads.
func (p *Pool) Threads() int {
	if p == nil {
		return 1
	}
	return p.threads
}

// Close stops the helper goroutines once the job they are running, if any, is done.
// A closed pool still works, on the calling goroutine alone.
func (p *Pool) Close() {
	if p == nil {
		return
	}
	p.close.Do(func() {
		p.closed.Store(true)
		p.busy.Lock() // wait for a running job
		defer p.busy.Unlock()
		for _, ch := range p.wake {
			close(ch)
		}
	})
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

// Run executes t.Do(w, i) for i in 0..n-1 and returns when all are done: on the
// helpers when they are free, else on the caller (see Pool). A nil Pool runs
// everything on the caller.
func (p *Pool) Run(n int, t Task) {
	if p == nil || p.threads <= 1 || n <= 1 || p.closed.Load() || !p.busy.TryLock() {
		for i := 0; i < n; i++ {
			t.Do(0, i)
		}
		return
	}
	defer p.busy.Unlock()
	if p.closed.Load() { // closed between the check and the lock
		for i := 0; i < n; i++ {
			t.Do(0, i)
		}
		return
	}
	helpers := min(p.threads, n)
	p.task, p.n = t, int64(n)
	p.next.Store(0)
	p.done.Add(helpers)
	for _, ch := range p.wake[:helpers] {
		ch <- struct{}{}
	}
	p.done.Wait()
	p.task = nil
}
